// The chat list: search, then one row per chat with its last message, stamp,
// unread count, pin, block, mute and timer marks, and its menu (the button
// beside it, a right click, or the context-menu key). Arrow keys move between
// rows. Archived chats are listed apart, behind "Archived".

import type { RefObject } from "preact";
import { useMemo, useState } from "preact/hooks";
import type { Backend, ChatId, MessageNumber } from "../backend";
import type { ShownChat } from "../chat-state";
import { chatName, listStamp, matchesSearch, previewText, timerBadge, timerLabel } from "../format";
import { ChatAvatar } from "./group-pictures";
import { ChatMenu, type ChatAction } from "./chat-menu";
import { SearchResults, useMessageSearch } from "./message-search";
import {
  IconArchive,
  IconBack,
  IconMore,
  IconMuted,
  IconPin,
  IconSearch,
  IconShield,
  IconTimer,
  ReceiptTick,
} from "./icons";

export function filterChats(chats: readonly ShownChat[], query: string): ShownChat[] {
  return chats.filter(
    (chat) => matchesSearch(chatName(chat), query) || matchesSearch(previewText(chat.last_item, chatName(chat)), query),
  );
}

export function ChatList({
  chats,
  selected,
  onSelect,
  onChatAction,
  onOpenMessage,
  searchRef,
  backend,
  joinRequests,
}: {
  chats: readonly ShownChat[];
  selected: ChatId | null;
  onSelect: (chat: ChatId) => void;
  onChatAction: (chat: ChatId, action: ChatAction) => void;
  /** Opens a chat at a message found by the search. */
  onOpenMessage: (chat: ChatId, number: MessageNumber) => void;
  searchRef: RefObject<HTMLInputElement | null>;
  backend: Backend;
  /** Requests to join through this device's group links waiting for a decision, by group. */
  joinRequests: ReadonlyMap<ChatId, number>;
}) {
  const [query, setQuery] = useState("");
  const found = useMessageSearch(backend, query);
  const names = useMemo(() => new Map(chats.map((chat) => [chat.id, chat.label])), [chats]);
  const searching = query.trim() !== "";
  /** The archived chats are listed instead of the others. */
  const [archive, setArchive] = useState(false);
  const [menu, setMenu] = useState<{ chat: ShownChat; anchor: HTMLElement; row: HTMLElement | null } | null>(null);
  const archivedCount = useMemo(() => chats.filter((chat) => chat.archived).length, [chats]);
  const shown = useMemo(
    () =>
      filterChats(
        // A search looks at every chat, archived or not.
        query.trim() !== "" ? chats : chats.filter((chat) => chat.archived === archive),
        query,
      ),
    [chats, query, archive],
  );
  const now = Date.now();
  const openMenu = (chat: ShownChat, anchor: HTMLElement) =>
    setMenu({ chat, anchor, row: anchor.closest("li")?.querySelector<HTMLElement>(".chat-row") ?? null });

  function onListKeyDown(event: KeyboardEvent) {
    if (event.key !== "ArrowDown" && event.key !== "ArrowUp") return;
    const buttons = [...(event.currentTarget as HTMLElement).querySelectorAll<HTMLElement>(".chat-row, .search-hit")];
    const index = buttons.indexOf(document.activeElement as HTMLElement);
    const next = buttons[Math.max(0, Math.min(buttons.length - 1, index + (event.key === "ArrowDown" ? 1 : -1)))];
    if (next) {
      event.preventDefault();
      next.focus();
    }
  }

  return (
    <>
      <div class="search" role="search">
        <IconSearch />
        <input
          ref={searchRef}
          type="search"
          placeholder="Search chats and messages (Ctrl+K)"
          aria-label="Search chats"
          value={query}
          onInput={(e) => setQuery(e.currentTarget.value)}
          onKeyDown={(e) => {
            if (e.key === "Escape" && query !== "") {
              e.preventDefault();
              setQuery("");
            } else if (e.key === "ArrowDown") {
              e.preventDefault();
              document.querySelector<HTMLElement>(".chat-lists .chat-row, .chat-lists .search-hit")?.focus();
            } else if (e.key === "Enter") {
              const hit = found.hits[0];
              if (shown[0]) onSelect(shown[0].id);
              else if (hit) onOpenMessage(hit.item.chat, hit.item.number);
            }
          }}
        />
      </div>
      <div class="chat-lists" onKeyDown={onListKeyDown}>
        {(archive || archivedCount > 0) && query.trim() === "" && (
          <button type="button" class="archive-toggle" aria-pressed={archive} onClick={() => setArchive(!archive)}>
            {archive ? (
              <>
                <IconBack /> Back to chats
              </>
            ) : (
              <>
                <IconArchive /> Archived ({archivedCount})
              </>
            )}
          </button>
        )}
        {searching && <h2 class="list-heading">Chats</h2>}
        {shown.length === 0 ? (
          <p class="muted list-empty">
            {chats.length === 0
              ? "No chats yet. Invite someone with the + button."
              : archive && query.trim() === ""
                ? "No archived chats."
                : "No chat matches."}
          </p>
        ) : (
          <ul class="chat-list" aria-label={archive && !searching ? "Archived chats" : "Chats"}>
            {shown.map((chat) => (
              <li key={chat.id}>
                <ChatRow
                  chat={chat}
                  now={now}
                  selected={chat.id === selected}
                  joinRequests={joinRequests.get(chat.id) ?? 0}
                  onSelect={onSelect}
                  onMenu={openMenu}
                />
                <button
                  type="button"
                  class="icon-button chat-row-menu"
                  tabIndex={-1}
                  aria-label={`Menu of the chat with ${chatName(chat)}`}
                  aria-haspopup="menu"
                  onClick={(event) => openMenu(chat, event.currentTarget)}
                >
                  <IconMore />
                </button>
              </li>
            ))}
          </ul>
        )}
        {searching && <SearchResults state={found} names={names} onOpen={onOpenMessage} />}
      </div>
      {menu && (
        <ChatMenu
          chat={chats.find((chat) => chat.id === menu.chat.id) ?? menu.chat}
          anchor={menu.anchor}
          returnFocus={menu.row}
          onAction={onChatAction}
          onClose={() => setMenu(null)}
        />
      )}
    </>
  );
}

function ChatRow({
  chat,
  now,
  selected,
  joinRequests,
  onSelect,
  onMenu,
}: {
  chat: ShownChat;
  now: number;
  selected: boolean;
  /** Requests to join the group waiting for a decision here. */
  joinRequests: number;
  onSelect: (chat: ChatId) => void;
  onMenu: (chat: ShownChat, anchor: HTMLElement) => void;
}) {
  const name = chatName(chat);
  const last = chat.last_item;
  const at = last ? (last.notice === null ? last.sent_at : last.at) : null;
  const preview = chat.typing ? "typing…" : previewText(last, name);
  const outgoing =
    !chat.typing && last?.notice === null && last.direction === "outgoing" && !last.deleted ? last.status : null;
  return (
    <button
      type="button"
      class={`chat-row${selected ? " selected" : ""}`}
      aria-current={selected ? "true" : undefined}
      onClick={() => onSelect(chat.id)}
      onKeyDown={(event) => {
        // The context-menu key or Shift+F10 opens the chat's menu.
        if (event.key === "ContextMenu" || (event.key === "F10" && event.shiftKey)) {
          event.preventDefault();
          onMenu(chat, event.currentTarget);
        }
      }}
      onContextMenu={(event) => {
        event.preventDefault();
        onMenu(chat, event.currentTarget);
      }}
    >
      <ChatAvatar chat={chat} name={name} />
      <span class="chat-row-main">
        <span class="chat-row-top">
          <span dir="auto" class="chat-name private">
            {name}
          </span>
          {chat.verified && <IconShield label="Verified" />}
          {chat.pinned && <IconPin label="Pinned" />}
          {chat.members !== null && chat.members !== undefined && <span class="tag">Group</span>}
          {joinRequests > 0 && <span class="tag join-requests">{`${joinRequests} to join`}</span>}
          {chat.blocked && <span class="tag">Blocked</span>}
          {chat.archived && <span class="tag">Archived</span>}
          {at !== null && <span class={`stamp${chat.unread ? " unread" : ""}`}>{listStamp(at, now)}</span>}
        </span>
        <span class="chat-row-bottom">
          {outgoing && <ReceiptTick status={outgoing} />}
          <span dir="auto" class={`preview private${chat.typing ? " typing" : ""}`}>
            {preview}
          </span>
          {chat.timer_secs !== null && (
            <span class="timer-mark" title={`Disappearing messages: ${timerLabel(chat.timer_secs)}`}>
              <IconTimer label={`Disappearing messages: ${timerLabel(chat.timer_secs)}`} />
              <span aria-hidden="true">{timerBadge(chat.timer_secs)}</span>
            </span>
          )}
          {chat.muted && <IconMuted />}
          {chat.unread > 0 && (
            <span class={`unread-count${chat.muted ? " muted" : ""}`}>
              <span aria-hidden="true">{chat.unread > 999 ? "999+" : chat.unread}</span>
              <span class="visually-hidden">{`${chat.unread} unread`}</span>
            </span>
          )}
        </span>
      </span>
    </button>
  );
}
