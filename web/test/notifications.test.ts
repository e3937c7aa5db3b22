import { describe, expect, it } from "vitest";
import { messageNotification, notificationContent } from "../src/notifications";
import { parsePrefs } from "../src/prefs";
import { qrPath } from "../src/qr";
import { sendsMessage } from "../src/ui/composer";

describe("notification previews", () => {
  it("shows name and text, name only, or nothing", () => {
    expect(notificationContent("name-and-text", "Ada", "hi")).toEqual({ title: "Ada", body: "hi" });
    expect(notificationContent("name-only", "Ada", "secret")).toEqual({ title: "Ada", body: "New message" });
    expect(notificationContent("nothing", "Ada", "secret")).toEqual({ title: "Sotto", body: "New message" });
    expect(notificationContent("name-and-text", "Ada", "x".repeat(500)).body.length).toBe(200);
  });

  it("never notifies for a muted chat", () => {
    expect(messageNotification("name-and-text", { name: "Ada", muted: true }, "hi")).toBeNull();
    expect(messageNotification("name-only", { name: "Ada", muted: false }, "hi")).toEqual({
      title: "Ada",
      body: "New message",
    });
  });
});

describe("stored preferences", () => {
  it("round-trips and keeps defaults for anything missing or malformed", () => {
    const stored = {
      muted: [3],
      notificationPreview: "nothing",
      notificationSound: true,
      lockAfterSeconds: 60,
      privacyBlur: true,
    };
    expect(parsePrefs(JSON.stringify(stored))).toEqual(stored);
    // Chat ids stored as strings before they were the core's numbers.
    expect(parsePrefs('{"muted":["3"]}').muted).toEqual([3]);
    expect(parsePrefs("")).toEqual({
      muted: [],
      notificationPreview: "name-and-text",
      notificationSound: false,
      lockAfterSeconds: 900,
      privacyBlur: false,
    });
    const hostile = parsePrefs('{"muted":[1,"2",-1,1.5,"x",null],"notificationPreview":"all","lockAfterSeconds":-5}');
    expect(hostile.muted).toEqual([1, 2]);
    expect(hostile.notificationPreview).toBe("name-and-text");
    expect(hostile.lockAfterSeconds).toBe(0);
    expect(parsePrefs("{not json").muted).toEqual([]);
  });
});

describe("compose keys", () => {
  const key = (patch: Partial<KeyboardEvent>) =>
    sendsMessage({
      key: "Enter",
      shiftKey: false,
      isComposing: false,
      altKey: false,
      ctrlKey: false,
      metaKey: false,
      ...patch,
    });
  it("sends on Enter, not on Shift+Enter or while composing", () => {
    expect(key({})).toBe(true);
    expect(key({ shiftKey: true })).toBe(false);
    expect(key({ isComposing: true })).toBe(false);
    expect(key({ key: "a" })).toBe(false);
  });
});

describe("QR codes", () => {
  it("encodes a link as squares inside the quiet zone", () => {
    const { size, path } = qrPath("https://relay.example/invite#i1.abcdef");
    expect(size).toBeGreaterThanOrEqual(21);
    expect((size - 17) % 4).toBe(0);
    // The top-left finder pattern starts at the quiet zone.
    expect(path.startsWith("M4 4h1v1h-1z")).toBe(true);
  });
});
