import { describe, expect, it } from "vitest";
import type { GroupView } from "../src/backend";
import {
  GroupPictureUrls,
  MAX_GROUP_PICTURE_BYTES,
  MAX_MEMBER_PICTURE_BYTES,
  MemberPictureUrls,
  pictureBytes,
  pictureType,
} from "../src/group-pictures";

const PNG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13];
const JPEG = [0xff, 0xd8, 0xff, 0xe0, 0, 16];
const WEBP = [..."RIFF"]
  .map((c) => c.charCodeAt(0))
  .concat(
    [4, 0, 0, 0],
    [..."WEBPVP8 "].map((c) => c.charCodeAt(0)),
  );

function base64(bytes: readonly number[]): string {
  return btoa(String.fromCharCode(...bytes));
}

function group(id: number, picture: number[] | string | null): GroupView {
  return {
    id,
    name: `Group ${id}`,
    description: "",
    picture: typeof picture === "string" || picture === null ? picture : base64(picture),
    members: 2,
    active: true,
    role: "member",
  };
}

/** Object URLs counted: made, revoked, and the blob types asked for. */
function countedUrls() {
  let next = 0;
  const live = new Set<string>();
  const types: string[] = [];
  return {
    live,
    types,
    create(blob: Blob) {
      types.push(blob.type);
      const url = `blob:test/${(next += 1)}`;
      live.add(url);
      return url;
    },
    revoke(url: string) {
      expect(live.delete(url)).toBe(true);
    },
  };
}

describe("group pictures", () => {
  it("knows a picture by its first bytes, never by what it claims", () => {
    expect(pictureType(new Uint8Array(PNG))).toBe("image/png");
    expect(pictureType(new Uint8Array(JPEG))).toBe("image/jpeg");
    expect(pictureType(new Uint8Array(WEBP))).toBe("image/webp");
    expect(pictureType(new TextEncoder().encode("GIF89a…"))).toBe("image/gif");
    for (const other of ["<svg onload=alert(1)>", "<html>", "RIFF\0\0\0\0WAVE", "", "\x89PN"])
      expect(pictureType(new TextEncoder().encode(other))).toBeNull();
  });

  it("decodes base64 up to the size a group's picture may have", () => {
    expect([...pictureBytes(base64(PNG))!]).toEqual(PNG);
    expect(pictureBytes("not base64!")).toBeNull();
    const largest = new Array<number>(MAX_GROUP_PICTURE_BYTES).fill(7);
    expect(pictureBytes(base64(largest))?.length).toBe(MAX_GROUP_PICTURE_BYTES);
    expect(pictureBytes(base64([...largest, 1, 2, 3, 4]))).toBeNull();
  });

  it("makes one URL per picture of its own type and revokes it once changed, removed or gone", () => {
    const urls = countedUrls();
    const pictures = new GroupPictureUrls(urls);
    let shown = pictures.update([group(1, PNG), group(2, null), group(3, "PHN2Zz4=" /* <svg> */)], new Map());
    expect([...shown.keys()]).toEqual([1]);
    expect(urls.types).toEqual(["image/png"]);
    const first = shown.get(1)!;
    // The same list again: the same map, the same URL.
    expect(pictures.update([group(1, PNG), group(2, null)], shown)).toBe(shown);
    // A new picture gets a new URL; the old one is revoked.
    shown = pictures.update([group(1, JPEG), group(2, WEBP)], shown);
    expect(shown.get(1)).not.toBe(first);
    expect(urls.live.has(first)).toBe(false);
    expect(urls.types).toEqual(["image/png", "image/jpeg", "image/webp"]);
    // Removed, and a group gone.
    shown = pictures.update([group(1, null)], shown);
    expect(shown.size).toBe(0);
    expect(urls.live.size).toBe(0);
    pictures.update([group(4, PNG)], shown);
    expect(urls.live.size).toBe(1);
    pictures.clear();
    expect(urls.live.size).toBe(0);
  });

  it("keeps a member's picture by member id, up to the size a member's picture may have", () => {
    const urls = countedUrls();
    const pictures = new MemberPictureUrls(urls);
    const member = (id: string, bytes: readonly number[] | null) => ({
      id,
      name: id,
      picture: bytes && base64(bytes),
      role: "member" as const,
      me: false,
      blocked: false,
    });
    const largest = [...PNG, ...new Array<number>(MAX_MEMBER_PICTURE_BYTES - PNG.length).fill(7)];
    let shown = pictures.update([member("a1", largest), member("b2", [...largest, 7]), member("c3", null)], new Map());
    expect([...shown.keys()]).toEqual(["a1"]);
    expect(pictureBytes(base64([...largest, 7]), MAX_MEMBER_PICTURE_BYTES)).toBeNull();
    shown = pictures.update([member("a1", null)], shown);
    expect(shown.size).toBe(0);
    expect(urls.live.size).toBe(0);
    pictures.update([member("b2", JPEG)], shown);
    pictures.clear();
    expect(urls.live.size).toBe(0);
  });
});
