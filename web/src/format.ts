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

/**
 * A chat's name: the label the chat list gave it (see `distinctNames`), else
 * the alias the user chose, the peer's display name, or a placeholder until
 * their profile arrives.
 */
export function chatName(chat: ChatView & { label?: string }): string {
  return chat.label ?? baseName(chat);
}

function baseName(chat: ChatView): string {
  return chat.alias ?? chat.name ?? "(connecting)";
}

/**
 * Each chat's shown name, told apart when two chats would show the same one:
 * those get their chat number ("Ada #4"), which stays the same on this device.
 */
export function distinctNames(chats: Iterable<ChatView>): Map<number, string> {
  const byName = new Map<string, ChatView[]>();
  for (const chat of chats) {
    const key = fold(baseName(chat).trim());
    byName.set(key, [...(byName.get(key) ?? []), chat]);
  }
  const names = new Map<number, string>();
  for (const group of byName.values())
    for (const chat of group) names.set(chat.id, group.length > 1 ? `${baseName(chat)} #${chat.id}` : baseName(chat));
  return names;
}

/** Whether a notice warns of something (the relay misbehaving, the peer's keys changing). */
export function isWarning(notice: NoticeView): boolean {
  return (
    notice.type !== "timer_changed" &&
    notice.type !== "media_privacy_changed" &&
    notice.type !== "connected" &&
    notice.type !== "group_deleted" &&
    notice.type !== "group_log_gone"
  );
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
    case "unreadable":
      return "The relay delivered something that is not a message of this group; it was ignored.";
    case "missing_change":
      return "A change to this group did not arrive from the relay, so some messages after it cannot be read.";
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
    case "media_privacy_changed": {
      const who = notice.by_me ? "You" : contact;
      return notice.block_saving
        ? `${who} blocked saving and exporting media in this chat.`
        : `${who} allowed saving and exporting media in this chat again.`;
    }
    case "connected":
      return `You are connected with ${contact}. Messages are end-to-end encrypted.`;
    case "group_deleted":
      return notice.by_me ? "You deleted this group for everyone." : "An owner deleted this group for everyone.";
    case "group_log_gone":
      return "This group's relay no longer lets you read it: the group was deleted, or you were removed while away.";
  }
}

/** One line for the chat list. */
export function previewText(item: ItemView | null, contact: string): string {
  if (!item) return "";
  if (item.notice !== null) return noticeText(item.notice, item.sender?.name || contact);
  if (item.deleted) return item.direction === "outgoing" ? "You deleted this message" : "This message was deleted";
  const firstLine = item.text.replace(/\s+/g, " ").trim();
  if (item.direction === "outgoing") return `You: ${firstLine}`;
  // In a group, who wrote it.
  return item.sender ? `${item.sender.name}: ${firstLine}` : firstLine;
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

/** Text without case or accents, for matching. */
export function fold(value: string): string {
  return value
    .normalize("NFD")
    .replace(/\p{Diacritic}/gu, "")
    .toLocaleLowerCase();
}

/** Case- and accent-insensitive search match. */
export function matchesSearch(text: string, query: string): boolean {
  const needle = fold(query.trim());
  return needle === "" || fold(text).includes(needle);
}

/**
 * `text` cut around the matches of `query` in any case (as the core's search
 * matches: accents count):
 * alternating plain and matching parts, plain first, so a result can mark
 * what matched. No match: the text as one plain part.
 */
export function matchParts(text: string, query: string): string[] {
  const needle = query.trim().toLowerCase();
  if (needle === "") return [text];
  // Lower character by character, remembering where each folded character came from.
  let folded = "";
  const origin: number[] = [];
  let offset = 0;
  for (const char of text) {
    const piece = char.toLowerCase();
    for (let index = 0; index < piece.length; index += 1) origin.push(offset);
    folded += piece;
    offset += char.length;
  }
  origin.push(text.length);
  const parts: string[] = [];
  let plainFrom = 0;
  let from = folded.indexOf(needle);
  while (from >= 0) {
    const start = origin[from] ?? text.length;
    const end = origin[from + needle.length] ?? text.length;
    parts.push(text.slice(plainFrom, start), text.slice(start, end));
    plainFrom = end;
    from = folded.indexOf(needle, from + needle.length);
  }
  parts.push(text.slice(plainFrom));
  return parts;
}

/** Whether a chat is muted at `now` (`muted_until` in the future, or always). */
export function isMuted(mutedUntil: number | null, now: number): boolean {
  return mutedUntil !== null && mutedUntil > now;
}

/** How long a chat is muted, in words: "Muted until 14:05", "Muted always". */
export function mutedLabel(mutedUntil: number | null, now: number): string {
  if (!isMuted(mutedUntil, now) || mutedUntil === null) return "Not muted";
  if (mutedUntil >= 2 ** 53) return "Muted always";
  const date = new Date(mutedUntil);
  const day = sameDay(date, new Date(now))
    ? ""
    : `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} `;
  return `Muted until ${day}${clockTime(mutedUntil)}`;
}
