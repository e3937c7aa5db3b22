// A row of the timeline: a day separator when the day changes, then a message
// bubble (quote, text, reactions, time, receipt) or a notice.

import { useState } from "preact/hooks";
import { linkParts } from "../links";
import { memo } from "./memo";
import type { ItemView, MessageItem, MessageNumber } from "../backend";
import { author, clockTime, dayLabel, isWarning, noticeText, timerLabel } from "../format";
import { IconMore, IconPlus, IconTimer, IconWarning, ReceiptTick } from "./icons";
import { Menu, MenuItem } from "./menu";
import { FileCard } from "./file-card";

export const QUICK_REACTIONS = ["👍", "❤️", "😂", "😮", "😢", "🙏"] as const;

export type MessageAction = "reply" | "edit" | "delete" | "delete-for-me" | "react" | "copy";
type Action = (action: MessageAction, item: MessageItem, emoji?: string) => void;

export function newMessagesLabel(count: number): string {
  return count === 1 ? "1 new message" : `${count} new messages`;
}

function itemTime(item: ItemView): number {
  return item.notice === null ? item.sent_at : item.at;
}

function sameDay(a: number, b: number): boolean {
  const x = new Date(a);
  const y = new Date(b);
  return x.getDate() === y.getDate() && x.getMonth() === y.getMonth() && x.getFullYear() === y.getFullYear();
}

// Memoized: while scrolling, only the rows that enter the window render.
export const TimelineRow = memo(function TimelineRow({
  item,
  previous,
  contact,
  quotedAuthor,
  onMenu,
  onAction,
  onJump,
  onOpenSecurity,
  marked = false,
  newMessages = 0,
}: {
  item: ItemView;
  previous: ItemView | undefined;
  contact: string;
  /** In a group, the member who wrote the quoted message. */
  quotedAuthor?: string | undefined;
  onMenu: (item: MessageItem, anchor: HTMLElement) => void;
  onAction: Action;
  onJump: (number: MessageNumber) => void;
  onOpenSecurity: () => void;
  /** Found by the search: shown marked. */
  marked?: boolean;
  /** The first unread message when the chat opened: a divider above it counts them. */
  newMessages?: number;
}) {
  const showDay = !previous || !sameDay(itemTime(previous), itemTime(item));
  return (
    <>
      {showDay && (
        <div class="day" role="separator">
          <span>{dayLabel(itemTime(item), Date.now())}</span>
        </div>
      )}
      {newMessages > 0 && (
        <div class="unread-divider" role="separator" aria-label={newMessagesLabel(newMessages)}>
          <span>{newMessagesLabel(newMessages)}</span>
        </div>
      )}
      {item.notice !== null ? (
        <div class={`notice ${item.notice.type}${isWarning(item.notice) ? " warning" : ""}`}>
          {isWarning(item.notice) && <IconWarning />}
          {item.notice.type === "timer_changed" && <IconTimer />}
          {/* In a group, a notice about one member's messages names that member. */}
          <span class="private">{noticeText(item.notice, item.sender?.name || contact)}</span>
          {item.notice.type === "keys_changed" && (
            <button type="button" class="link" onClick={onOpenSecurity}>
              Compare the code
            </button>
          )}
        </div>
      ) : (
        <Bubble
          item={item}
          contact={contact}
          quotedAuthor={quotedAuthor}
          onMenu={onMenu}
          onAction={onAction}
          onJump={onJump}
          marked={marked}
        />
      )}
    </>
  );
});

/** A member's colour, the same for their id wherever it shows (hue from the id's digits). */
export function memberColour(id: string): string {
  let hue = 0;
  for (const char of id) hue = (hue * 31 + char.charCodeAt(0)) % 360;
  return `hsl(${hue} 55% var(--member-lightness))`;
}

/** "Read by N of M" on one of the user's group messages; each member's receipt on demand. */
function GroupReceipts({ receipts }: { receipts: NonNullable<MessageItem["receipts"]> }) {
  const [open, setOpen] = useState(false);
  const summary =
    receipts.read > 0
      ? `Read by ${receipts.read} of ${receipts.members}`
      : `Delivered to ${receipts.delivered} of ${receipts.members}`;
  return (
    <div class="group-receipts">
      <button type="button" class="link small" aria-expanded={open} tabIndex={-1} onClick={() => setOpen(!open)}>
        {summary}
      </button>
      {open && (
        <ul class="receipt-list" aria-label="Receipts by member">
          {receipts.by.length === 0 && <li class="muted">No receipt yet.</li>}
          {receipts.by.map((member) => (
            <li key={member.id}>
              <span dir="auto" class="private">
                {member.name}
              </span>
              : {member.status === "read" ? "read" : "delivered"}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** A message's text, its web addresses as links (the full address shown; see links.ts). */
function MessageText({ text }: { text: string }) {
  return (
    <>
      {linkParts(text).map((part, index) =>
        part.href === null ? (
          part.text
        ) : (
          <a
            key={index}
            href={part.href}
            target="_blank"
            rel="noopener noreferrer nofollow"
            referrerpolicy="no-referrer"
          >
            {part.text}
          </a>
        ),
      )}
    </>
  );
}

function Bubble({
  item,
  contact,
  quotedAuthor,
  onMenu,
  onAction,
  onJump,
  marked,
}: {
  item: MessageItem;
  contact: string;
  quotedAuthor: string | undefined;
  onMenu: (item: MessageItem, anchor: HTMLElement) => void;
  onAction: Action;
  onJump: (number: MessageNumber) => void;
  marked: boolean;
}) {
  const who = author(item.direction, contact);

  const reactions = new Map<string, number>();
  for (const reaction of item.reactions) reactions.set(reaction.emoji, (reactions.get(reaction.emoji) ?? 0) + 1);
  const mine = item.reactions.find((reaction) => reaction.mine)?.emoji;
  const quoted = item.quoted;
  const sender = item.direction === "incoming" ? item.sender : null;

  return (
    <div
      class={`message ${item.direction === "outgoing" ? "out" : "in"}${marked ? " marked" : ""}${item.mentions_me ? " mentions-me" : ""}`}
    >
      <div class="bubble">
        {sender ? (
          <span dir="auto" class="sender private" style={{ color: memberColour(sender.id) }}>
            {sender.name}
            <span class="visually-hidden">:</span>
          </span>
        ) : (
          <span class="visually-hidden">{`${who}:`}</span>
        )}
        {quoted && (
          <button type="button" class="quote" tabIndex={-1} onClick={() => onJump(quoted.number)}>
            <span dir="auto" class="quote-author">
              {quotedAuthor ?? author(quoted.direction, contact)}
            </span>
            <span dir="auto" class="quote-text private">
              {quoted.deleted ? "Deleted message" : quoted.text}
            </span>
          </button>
        )}
        {item.deleted ? (
          <p class="text deleted">
            {item.direction === "outgoing" ? "You deleted this message." : "This message was deleted."}
          </p>
        ) : item.file ? (
          <FileCard item={item} file={item.file} />
        ) : (
          <p
            dir="auto"
            class={`text private${item.edited ? " meta-edited" : ""}${item.expires_at !== null ? " meta-timed" : ""}`}
          >
            <MessageText text={item.text} />
          </p>
        )}
        <span class="meta">
          {item.expires_at !== null && (
            <IconTimer
              label={`Disappears ${timerLabel(Math.max(1, Math.round((item.expires_at - item.sent_at) / 1000)))} after sending`}
            />
          )}
          {item.edited && !item.deleted && <span class="edited">edited</span>}
          <time dateTime={new Date(item.sent_at).toISOString()}>{clockTime(item.sent_at)}</time>
          {item.direction === "outgoing" && <ReceiptTick status={item.status} />}
        </span>
        {item.direction === "outgoing" && item.receipts && !item.deleted && <GroupReceipts receipts={item.receipts} />}
        {!item.deleted && (
          <button
            type="button"
            class="icon-button message-menu"
            tabIndex={-1}
            aria-label="Message actions"
            aria-haspopup="menu"
            onClick={(event) => onMenu(item, event.currentTarget)}
          >
            <IconMore />
          </button>
        )}
      </div>
      {reactions.size > 0 && (
        <div class="reactions" aria-label="Reactions">
          {[...reactions].map(([emoji, count]) => (
            <button
              key={emoji}
              type="button"
              tabIndex={-1}
              class={`reaction${emoji === mine ? " mine" : ""}`}
              aria-pressed={emoji === mine}
              aria-label={`${emoji} ${count}${emoji === mine ? ", yours: remove" : ""}`}
              onClick={() => onAction("react", item, emoji)}
            >
              {emoji}
              {count > 1 && <span>{count}</span>}
            </button>
          ))}
        </div>
      )}
    </div>
  );
}

/**
 * Keys on a focused message row: Enter (or the context-menu key) opens its
 * actions, R replies, E edits one's own message.
 */
export function messageRowKey(
  item: ItemView,
  row: HTMLElement,
  event: KeyboardEvent,
  onMenu: (item: MessageItem, anchor: HTMLElement) => void,
  onAction: Action,
): void {
  if (item.notice !== null || item.deleted || event.ctrlKey || event.metaKey || event.altKey) return;
  const key = event.key.toLowerCase();
  if (key === "enter" || key === "contextmenu" || (key === "f10" && event.shiftKey)) {
    event.preventDefault();
    onMenu(item, row.querySelector<HTMLElement>(".message-menu") ?? row);
  } else if (key === "r") {
    event.preventDefault();
    onAction("reply", item);
  } else if (key === "e" && item.direction === "outgoing" && !item.file) {
    event.preventDefault();
    onAction("edit", item);
  }
}

/** The actions of one message, as a menu; arrow keys move, Esc closes. */
export function MessageActions({
  item,
  anchor,
  onAction,
  onMoreReactions,
  onClose,
}: {
  item: MessageItem;
  anchor: HTMLElement;
  onAction: Action;
  /** Opens the emoji picker to react with any emoji. */
  onMoreReactions: (item: MessageItem) => void;
  onClose: () => void;
}) {
  // Beside the button, on the side of the bubble; focus goes back to the row.
  return (
    <Menu
      label="Message actions"
      anchor={anchor}
      side={item.direction === "outgoing" ? "right" : "left"}
      returnFocus={anchor.closest<HTMLElement>(".row")}
      onClose={onClose}
    >
      <div class="menu-reactions" role="group" aria-label="React">
        {QUICK_REACTIONS.map((emoji) => (
          <button
            key={emoji}
            type="button"
            role="menuitem"
            tabIndex={-1}
            aria-label={`React with ${emoji}`}
            onClick={() => onAction("react", item, emoji)}
          >
            {emoji}
          </button>
        ))}
        <button
          type="button"
          role="menuitem"
          tabIndex={-1}
          aria-label="More reactions"
          title="More reactions"
          onClick={() => onMoreReactions(item)}
        >
          <IconPlus />
        </button>
      </div>
      <MenuItem onSelect={() => onAction("reply", item)}>Reply</MenuItem>
      {!item.file && <MenuItem onSelect={() => onAction("copy", item)}>Copy text</MenuItem>}
      {item.direction === "outgoing" && !item.file && <MenuItem onSelect={() => onAction("edit", item)}>Edit</MenuItem>}
      <MenuItem danger onSelect={() => onAction("delete-for-me", item)}>
        Delete for me
      </MenuItem>
      {item.direction === "outgoing" && (
        <MenuItem danger onSelect={() => onAction("delete", item)}>
          Delete for everyone
        </MenuItem>
      )}
    </Menu>
  );
}
