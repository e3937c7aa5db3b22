// Web addresses in a message, made into links that are safe to follow: only
// http and https, the whole address shown as it was written (no title, no
// preview: nothing is fetched), opened in a new tab without `window.opener`
// or a Referer.

/** A run of text, or an address in it. */
export type TextPart = { text: string; href: null } | { text: string; href: string };

/** Addresses: http(s):// then anything but spaces and a few delimiters. */
const ADDRESS = /\bhttps?:\/\/[^\s<>"'`]+/gi;
/** Punctuation that ends a sentence, not an address. */
const TRAILING = /[.,;:!?)\]}»”’]+$/;

/** `text` with its web addresses apart; an address that does not parse stays text. */
export function linkParts(text: string): TextPart[] {
  const parts: TextPart[] = [];
  let from = 0;
  for (const match of text.matchAll(ADDRESS)) {
    let address = match[0];
    const trailing = address.match(TRAILING)?.[0] ?? "";
    // A closing bracket belongs to the address when it opened one ("…/Foo_(bar)").
    const keep = trailing.startsWith(")") && address.includes("(") ? 1 : 0;
    address = address.slice(0, address.length - trailing.length + keep);
    const href = safeHref(address);
    if (href === null) continue;
    const start = match.index;
    if (start > from) parts.push({ text: text.slice(from, start), href: null });
    parts.push({ text: address, href });
    from = start + address.length;
  }
  if (from < text.length || parts.length === 0) parts.push({ text: text.slice(from), href: null });
  return parts;
}

/** The address to open, or null for anything but http(s) with a host. */
export function safeHref(address: string): string | null {
  try {
    const url = new URL(address);
    if ((url.protocol !== "https:" && url.protocol !== "http:") || url.hostname === "") return null;
    return url.href;
  } catch {
    return null;
  }
}
