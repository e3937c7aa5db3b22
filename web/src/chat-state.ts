// The chat list's state, kept up to date from events alone: each event
// carries the views it changed (the preview is `chat.last_item`, the unread
// count comes with `item_added`), so nothing is read again from the core.

import type { BackendEvent, BridgeEvent, ChatId, ChatView } from "./backend";

/** A chat as the UI shows it: the core's view and what only the UI knows. */
export type ShownChat = ChatView & {
  /** The name shown for it, told apart from other chats' (`distinctNames`). */
  label: string;
  /** Muted (`muted_until`, or the settings' older list): no notifications, not counted in the title. */
  muted: boolean;
  /** The peer is typing (only with typing indicators on). */
  typing: boolean;
};

/** The chats after `event` (the same map when the event changes none). */
export function withEvent(
  chats: ReadonlyMap<ChatId, ChatView>,
  event: BackendEvent | BridgeEvent,
): ReadonlyMap<ChatId, ChatView> {
  return withEvents(chats, [event]);
}

/**
 * The chats after `events`, in order (the same map when they change none):
 * one copy for the lot, as a burst of events (a profile catching up) is
 * applied at once.
 */
export function withEvents(
  chats: ReadonlyMap<ChatId, ChatView>,
  events: readonly (BackendEvent | BridgeEvent)[],
): ReadonlyMap<ChatId, ChatView> {
  const next = new Map(chats);
  let changed = false;
  for (const event of events) if (apply(next, event)) changed = true;
  return changed ? next : chats;
}

/** Applies `event` to `chats`; whether it changed them (if not, they are as they were). */
function apply(chats: Map<ChatId, ChatView>, event: BackendEvent | BridgeEvent): boolean {
  const change = (id: ChatId, update: (chat: ChatView) => ChatView | null): boolean => {
    const chat = chats.get(id);
    if (!chat) return false;
    const updated = update(chat);
    if (updated === chat) return false;
    if (updated) chats.set(id, updated);
    else chats.delete(id);
    return true;
  };
  switch (event.type) {
    case "contact_connected":
    case "connection_failed":
    case "chat_changed":
      chats.set(event.chat.id, event.chat);
      return true;
    case "chat_removed":
      return change(event.chat, () => null);
    case "item_added": {
      const item = event.item;
      return change(item.chat, (chat) => ({
        ...chat,
        unread: event.unread,
        last_activity: Math.max(chat.last_activity, item.at),
        last_item: chat.last_item && chat.last_item.number > item.number ? chat.last_item : item,
      }));
    }
    case "item_changed":
      return change(event.item.chat, (chat) =>
        chat.last_item?.number === event.item.number ? { ...chat, last_item: event.item } : chat,
      );
    case "history_cleared":
      return change(event.chat, (chat) => ({ ...chat, last_item: null, unread: 0 }));
    case "items_removed":
      // The preview goes with its item; the next item or change brings the new one.
      return change(event.chat, (chat) =>
        chat.last_item && event.numbers.includes(chat.last_item.number) ? { ...chat, last_item: null } : chat,
      );
    default:
      return false;
  }
}

/** Pinned chats first, then the most recent activity first, then by name. */
export function sortChats<T extends ChatView>(chats: Iterable<T>): T[] {
  return [...chats].sort(
    (a, b) =>
      Number(b.pinned) - Number(a.pinned) ||
      b.last_activity - a.last_activity ||
      (a.name ?? "").localeCompare(b.name ?? "") ||
      a.id - b.id,
  );
}
