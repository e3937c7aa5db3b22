// A chat's menu (in the conversation header and on each chat list row), and
// the questions before what cannot be undone: clearing the history, blocking
// and deleting a chat.

import { MUTED_ALWAYS, type Backend, type ChatId } from "../backend";
import type { ShownChat } from "../chat-state";
import { chatName } from "../format";
import { ConfirmDialog } from "./confirm";
import { Menu, MenuItem } from "./menu";

/** How long a chat can be muted, from the chat menu and the contact info panel. */
export const MUTE_CHOICES: readonly { label: string; /** ms from now; null: always */ duration: number | null }[] = [
  { label: "8 hours", duration: 8 * 60 * 60 * 1000 },
  { label: "1 week", duration: 7 * 24 * 60 * 60 * 1000 },
  { label: "Always", duration: null },
];

/** `muted_until` for a mute of `duration` (null: always) starting `now`. */
export function muteUntil(duration: number | null, now: number): number {
  return duration === null ? MUTED_ALWAYS : now + duration;
}

export type ChatAction =
  | { type: "info" }
  | { type: "pin"; pinned: boolean }
  | { type: "archive"; archived: boolean }
  | { type: "mute"; duration: number | null }
  | { type: "unmute" }
  | { type: "unblock" }
  /** These three ask first. */
  | { type: "clear" }
  | { type: "block" }
  | { type: "delete" };

export type ConfirmedAction = "clear" | "block" | "delete";

export function ChatMenu({
  chat,
  anchor,
  returnFocus,
  onAction,
  onClose,
}: {
  chat: ShownChat;
  anchor: HTMLElement;
  returnFocus?: HTMLElement | null | undefined;
  onAction: (chat: ChatId, action: ChatAction) => void;
  onClose: () => void;
}) {
  const run = (action: ChatAction) => () => {
    onClose();
    onAction(chat.id, action);
  };
  const group = chat.members !== null && chat.members !== undefined;
  return (
    <Menu
      label={`Chat with ${chatName(chat)}`}
      anchor={anchor}
      side="right"
      returnFocus={returnFocus}
      onClose={onClose}
    >
      <MenuItem onSelect={run({ type: "info" })}>{group ? "Group info" : "Contact info"}</MenuItem>
      <MenuItem onSelect={run({ type: "pin", pinned: !chat.pinned })}>{chat.pinned ? "Unpin" : "Pin"}</MenuItem>
      <MenuItem onSelect={run({ type: "archive", archived: !chat.archived })}>
        {chat.archived ? "Move out of the archive" : "Archive"}
      </MenuItem>
      {chat.muted ? (
        <MenuItem onSelect={run({ type: "unmute" })}>Unmute</MenuItem>
      ) : (
        MUTE_CHOICES.map((choice) => (
          <MenuItem key={choice.label} onSelect={run({ type: "mute", duration: choice.duration })}>
            {choice.duration === null ? "Mute always" : `Mute for ${choice.label}`}
          </MenuItem>
        ))
      )}
      <MenuItem danger onSelect={run({ type: "clear" })}>
        Clear history…
      </MenuItem>
      {/* A group is left from its info panel; its members are not blocked or deleted as a chat is. */}
      {group ? null : chat.blocked ? (
        <MenuItem onSelect={run({ type: "unblock" })}>Unblock</MenuItem>
      ) : (
        <MenuItem danger onSelect={run({ type: "block" })}>
          Block…
        </MenuItem>
      )}
      {!group && (
        <MenuItem danger onSelect={run({ type: "delete" })}>
          Delete chat…
        </MenuItem>
      )}
    </Menu>
  );
}

/** The question before clearing, blocking or deleting; `onDone` after it was done. */
export function ConfirmChatAction({
  backend,
  chat,
  action,
  onDone,
  onClose,
}: {
  backend: Backend;
  chat: ShownChat;
  action: ConfirmedAction;
  onDone: () => void;
  onClose: () => void;
}) {
  const name = chatName(chat);
  const run = (call: () => Promise<void>) => async () => {
    await call();
    onDone();
  };
  switch (action) {
    case "clear":
      return (
        <ConfirmDialog
          title={`Clear the history with ${name}?`}
          action="Clear history"
          onConfirm={run(() => backend.clearHistory(chat.id))}
          onClose={onClose}
        >
          <p>Every message of this chat is deleted from this device. {name} keeps their copy.</p>
        </ConfirmDialog>
      );
    case "block":
      return (
        <ConfirmDialog
          title={`Block ${name}?`}
          action="Block"
          onConfirm={run(() => backend.block(chat.id))}
          onClose={onClose}
        >
          <p>
            Nothing more from {name} reaches you, and you can no longer write to them. They are not told. The chat and
            its history stay here.
          </p>
          <p class="muted small">Unblocking later does not reconnect: you would need a new invitation.</p>
        </ConfirmDialog>
      );
    case "delete":
      return (
        <ConfirmDialog
          title={`Delete the chat with ${name}?`}
          action="Delete chat"
          onConfirm={run(() => backend.deleteChat(chat.id))}
          onClose={onClose}
        >
          <p>
            The chat, its history and the connection with {name} are deleted from this device. {name} keeps their copy;
            to talk again you would need a new invitation.
          </p>
        </ConfirmDialog>
      );
  }
}
