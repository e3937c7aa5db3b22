// A group's picture as its avatar. The picture travels inside the group (at
// most 8192 bytes, which the core checked) as bytes its maker chose: it is
// shown only when its first bytes make it a JPEG, PNG, WebP or GIF image, as
// an object URL of a `Blob` of exactly that type (never a `data:` URL built
// from its text, never markup), and every URL is revoked once no avatar needs
// it. Anything else shows the group's initials.

import type { ChatId, GroupView } from "./backend";

/** The largest picture a group carries (the core refuses more). */
export const MAX_GROUP_PICTURE_BYTES = 8192;

/** The image type a picture's first bytes name, or null for anything else. */
export function pictureType(bytes: Uint8Array): string | null {
  const starts = (prefix: readonly number[], at = 0) =>
    bytes.length >= at + prefix.length && prefix.every((byte, index) => bytes[at + index] === byte);
  const ascii = (text: string) => [...text].map((char) => char.charCodeAt(0));
  if (starts([0xff, 0xd8, 0xff])) return "image/jpeg";
  if (starts([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return "image/png";
  if (starts(ascii("RIFF")) && starts(ascii("WEBP"), 8)) return "image/webp";
  if (starts(ascii("GIF87a")) || starts(ascii("GIF89a"))) return "image/gif";
  return null;
}

/** The bytes of standard base64, or null when it is none or too large for a picture. */
export function pictureBytes(base64: string): Uint8Array<ArrayBuffer> | null {
  // Four characters carry three bytes: refuse before decoding.
  if (base64.length > Math.ceil(MAX_GROUP_PICTURE_BYTES / 3) * 4) return null;
  let text: string;
  try {
    text = atob(base64);
  } catch {
    return null;
  }
  return Uint8Array.from(text, (char) => char.charCodeAt(0));
}

/** How object URLs are made and revoked (the page's `URL`, or a test's). */
export interface ObjectUrls {
  create(blob: Blob): string;
  revoke(url: string): void;
}

export const pageUrls: ObjectUrls = {
  create: (blob) => URL.createObjectURL(blob),
  revoke: (url) => URL.revokeObjectURL(url),
};

/**
 * The object URLs of the groups' pictures, by chat. `update` takes the groups
 * as the core lists them: a picture that did not change keeps its URL, a new
 * one gets a new URL, and the URL of a picture changed, removed or of a group
 * gone is revoked.
 */
export class GroupPictureUrls {
  private shown = new Map<ChatId, { source: string; url: string }>();

  constructor(private readonly urls: ObjectUrls = pageUrls) {}

  /** The URLs after this list of groups; the same map object when nothing changed. */
  update(groups: readonly GroupView[], previous: ReadonlyMap<ChatId, string>): ReadonlyMap<ChatId, string> {
    let changed = false;
    const next = new Map<ChatId, { source: string; url: string }>();
    for (const group of groups) {
      if (group.picture === null) continue;
      const kept = this.shown.get(group.id);
      if (kept && kept.source === group.picture) {
        next.set(group.id, kept);
        continue;
      }
      const bytes = pictureBytes(group.picture);
      const type = bytes && pictureType(bytes);
      if (!bytes || !type) continue;
      next.set(group.id, { source: group.picture, url: this.urls.create(new Blob([bytes], { type })) });
      changed = true;
    }
    for (const [chat, old] of this.shown)
      if (next.get(chat) !== old) {
        this.urls.revoke(old.url);
        changed = true;
      }
    this.shown = next;
    if (!changed) return previous;
    return new Map([...next].map(([chat, shown]) => [chat, shown.url]));
  }

  /** Revokes every URL (the list is gone: the profile locked). */
  clear(): void {
    for (const shown of this.shown.values()) this.urls.revoke(shown.url);
    this.shown.clear();
  }
}
