// Invitation and contact-address links: `https://<relay>/invite#<payload>`;
// group links `https://<relay>/group#<payload>`.
// The payload lives only in the fragment, which browsers never send to the
// server; the UI reads it from `location` and hands the whole link to the core.

export type LinkKind = "invite" | "contact" | "group";

export interface ParsedLink {
  kind: LinkKind;
  /** The fragment without "#". */
  payload: string;
  /** The full link, as the core expects it. */
  link: string;
}

/** Bounded: a real payload is a few kilobytes (keys, including ML-KEM). */
const MAX_PAYLOAD = 16 * 1024;

/** Payload characters: base64url plus the separators the core uses. */
const PAYLOAD = /^[A-Za-z0-9_\-.~=]+$/;

/** Reads an invitation from a location (or a pasted link); null when it is none. */
export function parseInviteLocation(location: { pathname: string; hash: string; origin: string }): ParsedLink | null {
  const match = /^\/(invite|contact|group)\/?$/.exec(location.pathname);
  if (!match) return null;
  const payload = location.hash.startsWith("#") ? location.hash.slice(1) : "";
  if (payload.length === 0 || payload.length > MAX_PAYLOAD || !PAYLOAD.test(payload)) return null;
  const kind = match[1] === "contact" ? "contact" : match[1] === "group" ? "group" : "invite";
  return { kind, payload, link: `${location.origin}/${kind}#${payload}` };
}

/** Parses a link the user pasted; null when it is not an http(s) Sotto link. */
export function parseInviteLink(text: string): ParsedLink | null {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    return null;
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return null;
  if (url.search !== "") return null;
  return parseInviteLocation(url);
}
