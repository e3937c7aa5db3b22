import { describe, expect, it } from "vitest";
import type { MessageItem } from "../src/backend";
import {
  clockTime,
  groupDigits,
  initials,
  listStamp,
  matchesSearch,
  noticeText,
  previewText,
  receiptLabel,
  timerBadge,
  timerLabel,
} from "../src/format";

const noon = new Date(2026, 10, 25, 12, 0).getTime();

function message(patch: Partial<MessageItem>): MessageItem {
  return {
    kind: "message",
    id: "m",
    chat: "c",
    direction: "in",
    text: "hello",
    deleted: false,
    sentAt: noon,
    editedAt: null,
    replyTo: null,
    reactions: [],
    status: null,
    expiresAt: null,
    ...patch,
  };
}

describe("format", () => {
  it("prints clock times with two digits", () => {
    expect(clockTime(new Date(2026, 0, 2, 9, 5).getTime())).toBe("09:05");
  });

  it("stamps the chat list by age", () => {
    expect(listStamp(new Date(2026, 10, 25, 8, 30).getTime(), noon)).toBe("08:30");
    expect(listStamp(new Date(2026, 10, 24, 23, 59).getTime(), noon)).toBe("Yesterday");
    expect(listStamp(new Date(2026, 10, 22, 10, 0).getTime(), noon, "en-US")).toBe("Sunday");
    expect(listStamp(new Date(2026, 9, 1, 10, 0).getTime(), noon)).toBe("2026-10-01");
  });

  it("names disappearing timers", () => {
    expect(timerLabel(null)).toBe("Off");
    expect(timerLabel(30)).toBe("30 seconds");
    expect(timerLabel(300)).toBe("5 minutes");
    expect(timerLabel(3600)).toBe("1 hour");
    expect(timerLabel(86400)).toBe("1 day");
    expect(timerLabel(28 * 86400)).toBe("4 weeks");
    expect(timerBadge(30)).toBe("30s");
    expect(timerBadge(8 * 3600)).toBe("8h");
    expect(timerBadge(7 * 86400)).toBe("1w");
    expect(timerBadge(null)).toBe("");
  });

  it("names receipts", () => {
    expect(receiptLabel("pending")).toBe("Sending");
    expect(receiptLabel("delivered")).toBe("Delivered");
    expect(receiptLabel("read")).toBe("Read");
  });

  it("groups security code digits by five", () => {
    expect(groupDigits("123456789012")).toEqual(["12345", "67890", "12"]);
  });

  it("previews the last item", () => {
    expect(previewText(null, "Ada")).toBe("");
    expect(previewText(message({ text: "two\nlines" }), "Ada")).toBe("two lines");
    expect(previewText(message({ direction: "out" }), "Ada")).toBe("You: hello");
    expect(previewText(message({ deleted: true, text: "" }), "Ada")).toBe("This message was deleted");
    expect(
      previewText({ kind: "notice", id: "n", chat: "c", at: noon, notice: { type: "key-change" } }, "Ada"),
    ).toContain("Ada's security code changed");
  });

  it("words integrity notices", () => {
    expect(noticeText({ type: "integrity", problem: "gap", count: 1 }, "Ada")).toBe(
      "1 message from Ada did not arrive: the relay may have dropped it.",
    );
    expect(noticeText({ type: "integrity", problem: "duplicate", count: 3 }, "Ada")).toContain("3 messages twice");
    expect(noticeText({ type: "timer", seconds: 300, by: "in" }, "Ada")).toBe(
      "Ada set messages to disappear after 5 minutes.",
    );
    expect(noticeText({ type: "timer", seconds: null, by: "out" }, "Ada")).toBe(
      "You turned off disappearing messages.",
    );
  });

  it("makes initials and searches without case or accents", () => {
    expect(initials("Ada Lovelace")).toBe("AL");
    expect(initials("grace")).toBe("G");
    expect(initials("  ")).toBe("?");
    expect(matchesSearch("Zoë Müller", "zoe mu")).toBe(true);
    expect(matchesSearch("Alan", "grace")).toBe(false);
    expect(matchesSearch("anything", "  ")).toBe(true);
  });
});
