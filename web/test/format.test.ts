import { describe, expect, it } from "vitest";
import type { ChatView, MessageItem } from "../src/backend";
import {
  chatName,
  clockTime,
  distinctNames,
  groupDigits,
  initials,
  isMuted,
  listStamp,
  matchesSearch,
  matchParts,
  mutedLabel,
  noticeText,
  previewText,
  receiptLabel,
  timerBadge,
  timerLabel,
} from "../src/format";

const noon = new Date(2026, 10, 25, 12, 0).getTime();

function message(patch: Partial<MessageItem>): MessageItem {
  return {
    chat: 1,
    number: 1,
    direction: "incoming",
    seq: 1,
    sent_at: noon,
    at: noon,
    status: "delivered",
    text: "hello",
    reply_to: null,
    quoted: null,
    notice: null,
    edited: false,
    deleted: false,
    reactions: [],
    expires_at: null,
    file: null,
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
    expect(previewText(message({ direction: "outgoing" }), "Ada")).toBe("You: hello");
    expect(previewText(message({ deleted: true, text: "" }), "Ada")).toBe("This message was deleted");
    expect(
      previewText({ ...message({}), direction: "notice", text: null, notice: { type: "keys_changed" } }, "Ada"),
    ).toContain("Ada's security code changed");
  });

  it("words integrity notices", () => {
    expect(noticeText({ type: "skipped", first: 4, last: 4 }, "Ada")).toBe(
      "1 message from Ada did not arrive: the relay may have dropped it.",
    );
    expect(noticeText({ type: "skipped", first: 4, last: 6 }, "Ada")).toBe(
      "3 messages from Ada did not arrive: the relay may have dropped them.",
    );
    expect(noticeText({ type: "duplicate", seq: 3 }, "Ada")).toContain("1 message twice");
    expect(noticeText({ type: "replayed" }, "Ada")).toContain("replayed 1 message");
    expect(noticeText({ type: "out_of_order", seq: 3 }, "Ada")).toBe("1 message arrived out of order.");
    expect(noticeText({ type: "broken_chain", seq: 3 }, "Ada")).toContain("A message from Ada does not follow");
    expect(noticeText({ type: "timer_changed", seconds: 300, by_me: false }, "Ada")).toBe(
      "Ada set messages to disappear after 5 minutes.",
    );
    expect(noticeText({ type: "timer_changed", seconds: null, by_me: true }, "Ada")).toBe(
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

describe("names and matches", () => {
  const chat = (id: number, name: string | null, alias: string | null = null) =>
    ({ id, name, alias }) as unknown as ChatView;

  it("tells chats with the same shown name apart by their number", () => {
    const names = distinctNames([chat(1, "Ada"), chat(2, "ada"), chat(3, "Bob", "Ada "), chat(4, "Cy")]);
    expect(names.get(1)).toBe("Ada #1");
    expect(names.get(2)).toBe("ada #2");
    expect(names.get(3)).toBe("Ada  #3");
    expect(names.get(4)).toBe("Cy");
    expect(chatName(chat(5, "Bob", "Robert"))).toBe("Robert");
  });

  it("cuts text around matches in any case, as the core matches", () => {
    expect(matchParts("Café Müller, CAFÉ, cafe", "café")).toEqual(["", "Café", " Müller, ", "CAFÉ", ", cafe"]);
    expect(matchParts("no match here", "zz")).toEqual(["no match here"]);
    expect(matchParts("😀 ÉMOJI", "émoji")).toEqual(["😀 ", "ÉMOJI", ""]);
  });

  it("says how long a chat is muted", () => {
    const now = new Date(2026, 0, 10, 9, 0).getTime();
    expect(isMuted(null, now)).toBe(false);
    expect(mutedLabel(now + 60_000, now)).toBe("Muted until 09:01");
    expect(mutedLabel(2 ** 53, now)).toBe("Muted always");
    expect(mutedLabel(now - 1, now)).toBe("Not muted");
  });
});
