// Text that other people choose (names, bios, messages, quotes, reactions), made
// safe to show: bidirectional marks, embeddings, overrides and isolates are
// dropped, as the `sotto` command drops them (crates/sotto-cli/src/terminal_text.rs),
// so a name cannot reorder the text around it or disguise itself (an override
// can make "gpj.exe" read "exe.jpg"). The elements that show such text also
// isolate it (`dir="auto"` and `unicode-bidi: isolate`, see styles.css), so a
// right-to-left name stays inside its own box. The bridge cleans every view the
// core hands out before the UI sees it.

import type { BridgeEvent, ChatView, CoreEvent, FileItem, FileView, ItemView, RequestView } from "./backend";

/** U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069. */
const BIDI_CONTROLS = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/g;

/** `text` without bidirectional controls. */
export function withoutBidiControls(text: string): string {
  return text.replace(BIDI_CONTROLS, "");
}

const clean = <T extends string | null>(text: T): T => (text === null ? text : (withoutBidiControls(text) as T));

/** The line that stands for a file where only text shows (the chat list, a notification, a quote). */
function fileText(file: FileView): string {
  return `📎 ${withoutBidiControls(file.name)} (${fileSize(file.size)})`;
}

/** A file's size as people read it. */
export function fileSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const kib = bytes / 1024;
  return kib < 1024 ? `${Math.round(kib)} KB` : `${(kib / 1024).toFixed(1)} MB`;
}

/** An item with its text, quote, reactions and file name cleaned; a file item's text names the file. */
export function cleanItem(item: ItemView | FileItem): ItemView {
  if (item.notice !== null) return item;
  return {
    ...item,
    file: item.file ? { ...item.file, name: withoutBidiControls(item.file.name) } : null,
    text: item.text === null && item.file ? fileText(item.file) : clean(item.text),
    quoted: item.quoted ? { ...item.quoted, text: withoutBidiControls(item.quoted.text) } : null,
    reactions: item.reactions.map((reaction) => ({ ...reaction, emoji: withoutBidiControls(reaction.emoji) })),
    sender: item.sender ? { ...item.sender, name: withoutBidiControls(item.sender.name) } : item.sender,
    receipts: item.receipts
      ? {
          ...item.receipts,
          by: item.receipts.by.map((member) => ({ ...member, name: withoutBidiControls(member.name) })),
        }
      : item.receipts,
  } as ItemView;
}

/** A chat with its peer's name and bio and its last item cleaned. */
export function cleanChat(chat: ChatView): ChatView {
  return {
    ...chat,
    name: clean(chat.name),
    bio: clean(chat.bio),
    alias: clean(chat.alias),
    last_item: chat.last_item ? cleanItem(chat.last_item) : null,
  };
}

/** A contact request with its name and bio cleaned. */
export function cleanRequest(request: RequestView): RequestView {
  return { ...request, name: withoutBidiControls(request.name), bio: clean(request.bio) };
}

/** A name a member or a contact gave a group, or a member's own, cleaned. */
export function cleanNamed<T extends { name: string }>(named: T): T {
  return { ...named, name: withoutBidiControls(named.name) };
}

/** An event with every view it carries cleaned. */
export function cleanEvent(event: CoreEvent | BridgeEvent): CoreEvent | BridgeEvent {
  switch (event.type) {
    case "request_received":
      return { ...event, request: cleanRequest(event.request) };
    case "contact_connected":
    case "connection_failed":
    case "chat_changed":
      return { ...event, chat: cleanChat(event.chat) };
    case "item_added":
    case "item_changed":
      return { ...event, item: cleanItem(event.item) };
    case "group_invitation":
    case "group_joined":
    case "group_join_refused":
      return cleanNamed(event);
    case "group_join_requested":
      return { ...event, request: cleanNamed(event.request) };
    default:
      return event;
  }
}
