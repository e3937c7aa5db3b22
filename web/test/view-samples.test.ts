// The core's views and events as the bridge hands them over (`view-samples.ts`,
// written by a test in crates/sotto-wasm): `npm run typecheck` checks every
// sample against the UI's types, and these tests check that none is missing
// and that the UI's state follows them.

import { describe, expect, it } from "vitest";
import type { BridgeEvent, ChatId, ChatView, CoreEvent, NoticeView } from "../src/backend";
import { withEvent, withEvents } from "../src/chat-state";
import { noticeText } from "../src/format";
import { samples } from "./view-samples";

// Records over the types' own unions: adding a kind to the types without a
// sample (or a sample of a kind the types lack) fails here or in the type check.
const EVENT_TYPES: Record<(CoreEvent | BridgeEvent)["type"], true> = {
  invitation_ready: true,
  address_ready: true,
  request_received: true,
  address_flooded: true,
  join_failed: true,
  joined_existing: true,
  contact_connected: true,
  connection_failed: true,
  chat_changed: true,
  chat_removed: true,
  history_cleared: true,
  item_added: true,
  item_changed: true,
  items_removed: true,
  typing: true,
  file_progress: true,
  group_joined: true,
  group_commit_ready: true,
  group_invitation: true,
  group_join_requested: true,
  group_join_refused: true,
  relay_fault: true,
  connection: true,
  storage_failed: true,
  moved: true,
  held: true,
  group_profile_changed: true,
};
const NOTICE_TYPES: Record<NoticeView["type"], true> = {
  skipped: true,
  out_of_order: true,
  duplicate: true,
  broken_chain: true,
  replayed: true,
  unreadable: true,
  missing_change: true,
  timer_changed: true,
  media_privacy_changed: true,
  connected: true,
  keys_changed: true,
  group_deleted: true,
  group_log_gone: true,
};

describe("the bridge's samples", () => {
  it("hold every event and every notice", () => {
    expect(new Set(samples.map((event) => event.type))).toEqual(new Set(Object.keys(EVENT_TYPES)));
    const notices = samples.flatMap((event) =>
      event.type === "item_added" && event.item.notice !== null ? [event.item.notice] : [],
    );
    expect(new Set(notices.map((notice) => notice.type))).toEqual(new Set(Object.keys(NOTICE_TYPES)));
    for (const notice of notices) expect(noticeText(notice, "Bob")).not.toBe("");
  });

  it("keep the chat list up to date from the events alone", () => {
    let chats: ReadonlyMap<ChatId, ChatView> = new Map();
    for (const event of samples) chats = withEvent(chats, event);
    // chat_changed brought chat 3; chat_removed took chat 4 (from
    // connection_failed); the notices came after the message.
    expect([...chats.keys()]).toEqual([3]);
    const chat = chats.get(3)!;
    expect(chat.name).toBe("Bob");
    expect(chat.unread).toBe(0);
    expect(chat.last_item?.notice?.type).toBe("keys_changed");
  });

  it("give the same chat list applied as one batch as one by one, and the same map when nothing changed", () => {
    let one: ReadonlyMap<ChatId, ChatView> = new Map();
    for (const event of samples) one = withEvent(one, event);
    expect(withEvents(new Map(), samples)).toEqual(one);
    const unchanged = samples.filter((event) => event.type === "typing" || event.type === "relay_fault");
    expect(unchanged.length).toBeGreaterThan(0);
    expect(withEvents(one, unchanged)).toBe(one);
  });

  it("take the preview, the unread count and changes from item events", () => {
    const changed = samples.find((event) => event.type === "chat_changed");
    const added = samples.find((event) => event.type === "item_added" && event.item.notice === null);
    if (changed?.type !== "chat_changed" || added?.type !== "item_added") throw new Error("samples missing");
    const message = added.item;
    if (message.notice !== null) throw new Error("the first item sample is a message");
    const empty: ChatView = { ...changed.chat, unread: 0, last_item: null, last_activity: 0 };
    let chats: ReadonlyMap<ChatId, ChatView> = new Map([[empty.id, empty]]);
    chats = withEvent(chats, added);
    expect(chats.get(empty.id)?.unread).toBe(added.unread);
    expect(chats.get(empty.id)?.last_item).toEqual(added.item);
    expect(chats.get(empty.id)?.last_activity).toBe(added.item.at);
    chats = withEvent(chats, { type: "item_changed", item: { ...message, deleted: true, text: "" } });
    expect(chats.get(empty.id)?.last_item?.deleted).toBe(true);
    chats = withEvent(chats, { type: "items_removed", chat: empty.id, numbers: [added.item.number] });
    expect(chats.get(empty.id)?.last_item).toBeNull();
  });
});
