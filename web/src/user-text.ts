// Text that other people choose (names, messages, quotes, reactions), made
// safe to show: bidirectional marks, embeddings, overrides and isolates are
// dropped, as the `sotto` command drops them (crates/sotto-cli/src/terminal_text.rs),
// so a name cannot reorder the text around it or disguise itself (an override
// can make "gpj.exe" read "exe.jpg"). The elements that show such text also
// isolate it (`dir="auto"` and `unicode-bidi: isolate`, see styles.css), so a
// right-to-left name stays inside its own box.

import type { ChatSummary, ContactRequest, TimelineItem } from "./backend";

/** U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069. */
const BIDI_CONTROLS = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/g;

/** `text` without bidirectional controls. */
export function withoutBidiControls(text: string): string {
  return text.replace(BIDI_CONTROLS, "");
}

/** An item with its text, quote and reactions cleaned. */
export function cleanItem(item: TimelineItem): TimelineItem {
  if (item.kind === "notice") return item;
  return {
    ...item,
    text: withoutBidiControls(item.text),
    replyTo: item.replyTo ? { ...item.replyTo, text: withoutBidiControls(item.replyTo.text) } : null,
    reactions: item.reactions.map((reaction) => ({ ...reaction, emoji: withoutBidiControls(reaction.emoji) })),
  };
}

/** A chat with its contact's name and last item cleaned. */
export function cleanChat(chat: ChatSummary): ChatSummary {
  return {
    ...chat,
    displayName: withoutBidiControls(chat.displayName),
    lastItem: chat.lastItem ? cleanItem(chat.lastItem) : null,
  };
}

/** A contact request with its name cleaned. */
export function cleanRequest(request: ContactRequest): ContactRequest {
  return { ...request, displayName: withoutBidiControls(request.displayName) };
}
