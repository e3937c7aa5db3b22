import { describe, expect, it } from "vitest";
import type { ItemView } from "../src/backend";
import { firstUnread } from "../src/ui/conversation";

function message(number: number, direction: "incoming" | "outgoing", status: "delivered" | "read"): ItemView {
  return {
    chat: 1,
    number,
    direction,
    seq: number,
    sent_at: number,
    at: number,
    status,
    text: `m${number}`,
    reply_to: null,
    quoted: null,
    notice: null,
    edited: false,
    deleted: false,
    reactions: [],
    expires_at: null,
    file: null,
  } as ItemView;
}

describe("the first unread message", () => {
  const items = [
    message(1, "incoming", "read"),
    message(2, "outgoing", "read"),
    message(3, "incoming", "delivered"),
    message(4, "outgoing", "delivered"),
    message(5, "incoming", "delivered"),
  ];

  it("is the oldest of the last unread incoming messages", () => {
    expect(firstUnread(items, 2)).toEqual({ number: 3, complete: true });
    expect(firstUnread(items, 1)).toEqual({ number: 5, complete: true });
    expect(firstUnread(items, 0)).toEqual({ number: null, complete: true });
  });

  it("stops at a message already read, and says when older history may hold it", () => {
    expect(firstUnread(items, 5)).toEqual({ number: 3, complete: true });
    expect(firstUnread(items.slice(2), 3)).toEqual({ number: 3, complete: false });
  });
});
