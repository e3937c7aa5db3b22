// How times, durations, receipts, codes and previews read in the UI.

import type { ChatView, ItemView, MessageDirection, MessageStatus, NoticeView } from "./backend";

const MINUTE = 60;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;

function sameDay(a: Date, b: Date): boolean {
  return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
}

function pad(value: number): string {
  return String(value).padStart(2, "0");
}

/** The time of a message: "14:05". */
export function clockTime(at: number): string {
  const date = new Date(at);
  return `${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** The chat list's stamp: the time today, "Yesterday", a weekday this week, else the date. */
export function listStamp(at: number, now: number, locale?: string): string {
  const date = new Date(at);
  const today = new Date(now);
  if (sameDay(date, today)) return clockTime(at);
  const yesterday = new Date(now);
  yesterday.setDate(today.getDate() - 1);
  if (sameDay(date, yesterday)) return "Yesterday";
  if (now - at < 6 * DAY * 1000 && at < now) {
    return date.toLocaleDateString(locale, { weekday: "long" });
  }
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/** The day separator in a conversation. */
export function dayLabel(at: number, now: number, locale?: string): string {
  const date = new Date(at);
  const today = new Date(now);
  if (sameDay(date, today)) return "Today";
  const yesterday = new Date(now);
  yesterday.setDate(today.getDate() - 1);
  if (sameDay(date, yesterday)) return "Yesterday";
  return date.toLocaleDateString(locale, { weekday: "long", year: "numeric", month: "long", day: "numeric" });
}

/** A disappearing-message timer: "Off", "30 seconds", "5 minutes", "1 hour", "4 weeks". */
export function timerLabel(seconds: number | null): string {
  if (seconds === null || seconds <= 0) return "Off";
  const units: [number, string][] = [
    [WEEK, "week"],
    [DAY, "day"],
    [HOUR, "hour"],
    [MINUTE, "minute"],
    [1, "second"],
  ];
  for (const [size, name] of units) {
    if (seconds % size === 0) {
      const count = seconds / size;
      return `${count} ${name}${count === 1 ? "" : "s"}`;
    }
  }
  return `${seconds} seconds`;
}

/** A short timer badge for the chat header and list: "30s", "5m", "1h", "4w". */
export function timerBadge(seconds: number | null): string {
  if (seconds === null || seconds <= 0) return "";
  if (seconds % WEEK === 0) return `${seconds / WEEK}w`;
  if (seconds % DAY === 0) return `${seconds / DAY}d`;
  if (seconds % HOUR === 0) return `${seconds / HOUR}h`;
  if (seconds % MINUTE === 0) return `${seconds / MINUTE}m`;
  return `${seconds}s`;
}

/** The accessible name of a receipt tick. */
export function receiptLabel(status: MessageStatus): string {
  switch (status) {
    case "pending":
      return "Sending";
    case "sent":
      return "Sent";
    case "delivered":
      return "Delivered";
    case "read":
      return "Read";
    case "failed":
      return "Not sent";
  }
}

/** A security code in blocks of five digits, as both sides read it aloud. */
export function groupDigits(digits: string, size = 5): string[] {
  const groups: string[] = [];
  for (let index = 0; index < digits.length; index += size) groups.push(digits.slice(index, index + size));
  return groups;
}

/** A chat's name: the peer's display name, or a placeholder until their profile arrives. */
export function chatName(chat: ChatView): string {
  return chat.name ?? "(connecting)";
}

/** Whether a notice warns of something (the relay misbehaving, the peer's keys changing). */
export function isWarning(notice: NoticeView): boolean {
  return notice.type !== "timer_changed" && notice.type !== "connected";
}

/** Who an item or a quote is from, as a sentence starts: "You" or the contact. */
export function author(direction: MessageDirection, contact: string): string {
  return direction === "outgoing" ? "You" : contact;
}

/** A notice as one sentence, with the contact's name. */
export function noticeText(notice: NoticeView, contact: string): string {
  const messages = (count: number) => `${count} message${count === 1 ? "" : "s"}`;
  switch (notice.type) {
    case "skipped": {
      const count = Math.max(1, notice.last - notice.first + 1);
      return `${messages(count)} from ${contact} did not arrive: the relay may have dropped ${count === 1 ? "it" : "them"}.`;
    }
    case "replayed":
      return `The relay replayed ${messages(1)}; it was ignored.`;
    case "out_of_order":
      return `${messages(1)} arrived out of order.`;
    case "duplicate":
      return `The relay delivered ${messages(1)} twice; the copies were ignored.`;
    case "broken_chain":
      return `A message from ${contact} does not follow the one before it: the relay may have dropped or altered messages.`;
    case "keys_changed":
      return `${contact}'s security code changed. Compare it again to be sure no one is in the middle.`;
    case "timer_changed": {
      const who = notice.by_me ? "You" : contact;
      return notice.seconds === null
        ? `${who} turned off disappearing messages.`
        : `${who} set messages to disappear after ${timerLabel(notice.seconds)}.`;
    }
    case "connected":
      return `You are connected with ${contact}. Messages are end-to-end encrypted.`;
  }
}

/** One line for the chat list. */
export function previewText(item: ItemView | null, contact: string): string {
  if (!item) return "";
  if (item.notice !== null) return noticeText(item.notice, contact);
  if (item.deleted) return item.direction === "outgoing" ? "You deleted this message" : "This message was deleted";
  const firstLine = item.text.replace(/\s+/g, " ").trim();
  return item.direction === "outgoing" ? `You: ${firstLine}` : firstLine;
}

/** Initials for an avatar: "Ada Lovelace" -> "AL". */
export function initials(name: string): string {
  const words = name.trim().split(/\s+/).filter(Boolean);
  const first = words[0]?.[0] ?? "?";
  const second = words.length > 1 ? (words[words.length - 1]?.[0] ?? "") : "";
  return (first + second).toUpperCase();
}

/** A stable hue for a name's avatar. */
export function avatarHue(name: string): number {
  let hash = 0;
  for (const char of name) hash = (hash * 31 + (char.codePointAt(0) ?? 0)) >>> 0;
  return hash % 360;
}

/** Case- and accent-insensitive search match. */
export function matchesSearch(text: string, query: string): boolean {
  const fold = (value: string) =>
    value
      .normalize("NFD")
      .replace(/\p{Diacritic}/gu, "")
      .toLocaleLowerCase();
  const needle = fold(query.trim());
  return needle === "" || fold(text).includes(needle);
}
