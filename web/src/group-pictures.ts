// A group's picture as its avatar, and each member's picture in a group as
// theirs. A picture travels inside the group (a group's at most 8192 bytes, a
// member's at most 2048, which the core checked) as bytes its maker chose: it
// is shown only when its first bytes make it a JPEG, PNG, WebP or GIF image,
// as an object URL of a `Blob` of exactly that type (never a `data:` URL
// built from its text, never markup), and every URL is revoked once no
// avatar needs it. Anything else shows the initials.

import type { ChatId, GroupMemberView, GroupView } from "./backend";

/** The largest picture a group carries (the core refuses more). */
export const MAX_GROUP_PICTURE_BYTES = 8192;
/** The largest picture a member shows in a group (the core refuses more). */
export const MAX_MEMBER_PICTURE_BYTES = 2048;

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

/** The bytes of standard base64, or null when it is none or larger than `max` bytes. */
export function pictureBytes(base64: string, max = MAX_GROUP_PICTURE_BYTES): Uint8Array<ArrayBuffer> | null {
  // Four characters carry three bytes: refuse before decoding.
  if (base64.length > Math.ceil(max / 3) * 4) return null;
  let text: string;
  try {
    text = atob(base64);
  } catch {
    return null;
  }
  const bytes = Uint8Array.from(text, (char) => char.charCodeAt(0));
  return bytes.length > max ? null : bytes;
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
 * The object URLs of pictures by key. `update` takes every key with its
 * picture (base64, or null): a picture that did not change keeps its URL, a
 * new one gets a new URL, and the URL of a picture changed, removed or of a
 * key gone is revoked.
 */
export class PictureUrls<K> {
  private shown = new Map<K, { source: string; url: string }>();

  constructor(
    private readonly max: number,
    private readonly urls: ObjectUrls = pageUrls,
  ) {}

  /** The URLs after this list; the same map object when nothing changed. */
  update(pictures: Iterable<readonly [K, string | null]>, previous: ReadonlyMap<K, string>): ReadonlyMap<K, string> {
    let changed = false;
    const next = new Map<K, { source: string; url: string }>();
    for (const [key, picture] of pictures) {
      if (picture === null) continue;
      const kept = this.shown.get(key);
      if (kept && kept.source === picture) {
        next.set(key, kept);
        continue;
      }
      const bytes = pictureBytes(picture, this.max);
      const type = bytes && pictureType(bytes);
      if (!bytes || !type) continue;
      next.set(key, { source: picture, url: this.urls.create(new Blob([bytes], { type })) });
      changed = true;
    }
    for (const [key, old] of this.shown)
      if (next.get(key) !== old) {
        this.urls.revoke(old.url);
        changed = true;
      }
    this.shown = next;
    if (!changed) return previous;
    return new Map([...next].map(([key, shown]) => [key, shown.url]));
  }

  /** Revokes every URL (the list is gone). */
  clear(): void {
    for (const shown of this.shown.values()) this.urls.revoke(shown.url);
    this.shown.clear();
  }
}

/** The object URLs of the groups' pictures, by chat. */
export class GroupPictureUrls {
  private readonly pictures: PictureUrls<ChatId>;

  constructor(urls: ObjectUrls = pageUrls) {
    this.pictures = new PictureUrls(MAX_GROUP_PICTURE_BYTES, urls);
  }

  /** The URLs after this list of groups; the same map object when nothing changed. */
  update(groups: readonly GroupView[], previous: ReadonlyMap<ChatId, string>): ReadonlyMap<ChatId, string> {
    return this.pictures.update(
      groups.map((group) => [group.id, group.picture] as const),
      previous,
    );
  }

  /** Revokes every URL (the list is gone: the profile locked). */
  clear(): void {
    this.pictures.clear();
  }
}

/** The object URLs of one group's members' pictures, by member id. */
export class MemberPictureUrls {
  private readonly pictures: PictureUrls<string>;

  constructor(urls: ObjectUrls = pageUrls) {
    this.pictures = new PictureUrls(MAX_MEMBER_PICTURE_BYTES, urls);
  }

  /** The URLs after this list of members; the same map object when nothing changed. */
  update(members: readonly GroupMemberView[], previous: ReadonlyMap<string, string>): ReadonlyMap<string, string> {
    return this.pictures.update(
      members.map((member) => [member.id, member.picture] as const),
      previous,
    );
  }

  /** Revokes every URL (the list is gone: the panel closed). */
  clear(): void {
    this.pictures.clear();
  }
}
