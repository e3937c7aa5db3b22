// One conversation: its header, the virtualized timeline and the composer.
// History is loaded in pages, newest first; events for this chat are applied
// as they come.

import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import type { Backend, ChatSummary, ItemId, MessageItem, Settings, TimelineItem } from "../backend";
import { errorMessage } from "../errors";
import { timerBadge, timerLabel } from "../format";
import { Avatar } from "./avatar";
import { Composer, type ComposerMode } from "./composer";
import { IconBack, IconMore, IconShield, IconTimer } from "./icons";
import { MessageList, type MessageListHandle } from "./message-list";
import { MessageActions, messageRowKey, TimelineRow } from "./message-row";

export const PAGE_SIZE = 100;

/** Applies an added, updated or removed item to a timeline kept oldest first. */
export function applyItem(items: readonly TimelineItem[], item: TimelineItem): TimelineItem[] {
  const index = items.findIndex((candidate) => candidate.id === item.id);
  if (index >= 0) {
    const next = items.slice();
    next[index] = item;
    return next;
  }
  return [...items, item];
}

/** The earliest expiry among the items, or null. */
export function nextExpiry(items: readonly TimelineItem[]): number | null {
  let next: number | null = null;
  for (const item of items) {
    if (item.kind === "message" && item.expiresAt !== null && (next === null || item.expiresAt < next)) {
      next = item.expiresAt;
    }
  }
  return next;
}

/** The items without the messages expired at `now` (the same array when none is). */
export function withoutExpired(items: TimelineItem[], now: number): TimelineItem[] {
  const kept = items.filter((item) => item.kind !== "message" || item.expiresAt === null || item.expiresAt > now);
  return kept.length === items.length ? items : kept;
}

/** Browsers run longer timeouts at once; a far expiry is checked again later. */
const MAX_TIMER_MS = 24 * 60 * 60 * 1000;

const keyOf = (item: TimelineItem) => item.id;

export function Conversation({
  backend,
  chat,
  settings,
  onBack,
  onOpenSecurity,
  onOpenChatSettings,
}: {
  backend: Backend;
  chat: ChatSummary;
  settings: Settings;
  onBack: () => void;
  onOpenSecurity: () => void;
  onOpenChatSettings: () => void;
}) {
  const [items, setItems] = useState<TimelineItem[]>([]);
  const [hasMore, setHasMore] = useState(false);
  const [loaded, setLoaded] = useState(false);
  const [error, setError] = useState("");
  const [mode, setMode] = useState<ComposerMode>({ type: "new" });
  const [menu, setMenu] = useState<{ item: MessageItem; anchor: HTMLElement } | null>(null);
  const loading = useRef(false);
  const list = useRef<MessageListHandle | null>(null);
  const composer = useRef<HTMLTextAreaElement>(null);

  useEffect(() => {
    let alive = true;
    backend.history(chat.id, { limit: PAGE_SIZE }).then(
      (page) => {
        if (!alive) return;
        setItems(page.items);
        setHasMore(page.hasMore);
        setLoaded(true);
      },
      (caught: unknown) => alive && setError(errorMessage(caught)),
    );
    const unsubscribe = backend.subscribe((event) => {
      if ((event.type === "item-added" || event.type === "item-updated") && event.item.chat === chat.id) {
        setItems((previous) => applyItem(previous, event.item));
      } else if (event.type === "item-removed" && event.chat === chat.id) {
        setItems((previous) => previous.filter((item) => item.id !== event.id));
      }
    });
    composer.current?.focus();
    return () => {
      alive = false;
      unsubscribe();
    };
  }, [backend, chat.id]);

  // Hide disappearing messages at their deadline, without waiting for the
  // core's removal event.
  useEffect(() => {
    const next = nextExpiry(items);
    if (next === null) return;
    const timer = window.setTimeout(
      () => setItems((previous) => withoutExpired(previous, Date.now())),
      Math.min(MAX_TIMER_MS, Math.max(0, next - Date.now())),
    );
    return () => window.clearTimeout(timer);
  }, [items]);

  // Mark as read what is shown while the page is visible.
  const newest = items[items.length - 1];
  useEffect(() => {
    if (!newest || chat.unread === 0) return;
    const mark = () => {
      if (document.visibilityState === "visible") backend.markRead(chat.id, newest.id).catch(() => undefined);
    };
    mark();
    document.addEventListener("visibilitychange", mark);
    return () => document.removeEventListener("visibilitychange", mark);
  }, [backend, chat.id, chat.unread, newest]);

  const loadOlder = useCallback(() => {
    const first = items[0];
    if (loading.current || !hasMore || !first) return;
    loading.current = true;
    backend.history(chat.id, { before: first.id, limit: PAGE_SIZE }).then(
      (page) => {
        loading.current = false;
        setItems((previous) => [...page.items, ...previous]);
        setHasMore(page.hasMore);
      },
      (caught: unknown) => {
        loading.current = false;
        setError(errorMessage(caught));
      },
    );
  }, [backend, chat.id, items, hasMore]);

  async function send(text: string) {
    setError("");
    try {
      if (mode.type === "edit") {
        await backend.edit(chat.id, mode.item.id, text);
        setItems((previous) =>
          previous.map((item) =>
            item.id === mode.item.id && item.kind === "message" ? { ...item, text, editedAt: Date.now() } : item,
          ),
        );
      } else {
        const sent = await backend.sendText(chat.id, {
          text,
          ...(mode.type === "reply" ? { replyTo: mode.item.id } : {}),
        });
        setItems((previous) => applyItem(previous, sent));
        list.current?.scrollToBottom();
      }
      setMode({ type: "new" });
    } catch (caught) {
      setError(errorMessage(caught));
      throw caught;
    }
  }

  const act = useCallback(
    async (action: string, item: MessageItem, emoji?: string) => {
      setMenu(null);
      try {
        switch (action) {
          case "reply":
            setMode({ type: "reply", item });
            composer.current?.focus();
            break;
          case "edit":
            setMode({ type: "edit", item });
            composer.current?.focus();
            break;
          case "delete":
            if (window.confirm("Delete this message for everyone?")) await backend.deleteForEveryone(chat.id, item.id);
            break;
          case "react": {
            const mine = item.reactions.find((reaction) => reaction.from === "out");
            await backend.react(chat.id, item.id, mine?.emoji === emoji ? null : (emoji ?? null));
            break;
          }
          case "copy":
            await navigator.clipboard.writeText(item.text);
            break;
        }
      } catch (caught) {
        setError(errorMessage(caught));
      }
    },
    [backend, chat.id],
  );

  const openMenu = useCallback((item: MessageItem, anchor: HTMLElement) => setMenu({ item, anchor }), []);

  const onRowKeyDown = useCallback(
    (item: TimelineItem, row: HTMLElement, event: KeyboardEvent) => messageRowKey(item, row, event, openMenu, act),
    [openMenu, act],
  );

  // Jumping to a quoted message pages older history in until it is loaded.
  const pendingJump = useRef<ItemId | null>(null);
  const [jumpRequest, setJumpRequest] = useState(0);
  const jumpTo = useCallback((id: ItemId) => {
    pendingJump.current = id;
    setJumpRequest((count) => count + 1);
  }, []);
  useEffect(() => {
    const id = pendingJump.current;
    if (id === null) return;
    if (items.some((item) => item.id === id)) {
      pendingJump.current = null;
      list.current?.scrollToKey(id);
    } else if (hasMore) {
      loadOlder();
    } else {
      pendingJump.current = null;
    }
  }, [items, hasMore, jumpRequest, loadOlder]);

  // Every prop but `previous` is stable, so memoized rows skip re-rendering
  // when a page of history is prepended or a message arrives.
  const renderRow = useCallback(
    (item: TimelineItem, index: number) => (
      <TimelineRow
        item={item}
        previous={items[index - 1]}
        contact={chat.displayName}
        onMenu={openMenu}
        onAction={act}
        onJump={jumpTo}
        onOpenSecurity={onOpenSecurity}
      />
    ),
    [items, chat.displayName, openMenu, act, jumpTo, onOpenSecurity],
  );

  const lastOwn = [...items]
    .reverse()
    .find((item): item is MessageItem => item.kind === "message" && item.direction === "out" && !item.deleted);

  return (
    <section class="conversation" aria-labelledby="conversation-title">
      <header class="conversation-header">
        <button class="icon-button back" type="button" aria-label="Back to chats" onClick={onBack}>
          <IconBack />
        </button>
        <Avatar name={chat.displayName} />
        <div class="conversation-title">
          <h2 id="conversation-title" class="private" dir="auto">
            {chat.displayName}
            {chat.verified && <IconShield label="Verified" />}
          </h2>
          <p class="subtitle" aria-live="polite">
            {chat.typing
              ? "typing…"
              : chat.timerSeconds !== null
                ? `Messages disappear after ${timerLabel(chat.timerSeconds)}`
                : ""}
          </p>
        </div>
        {chat.timerSeconds !== null && (
          <button
            class="timer-chip"
            type="button"
            onClick={onOpenChatSettings}
            aria-label={`Disappearing messages: ${timerLabel(chat.timerSeconds)}`}
          >
            <IconTimer />
            {timerBadge(chat.timerSeconds)}
          </button>
        )}
        <button
          class="icon-button"
          type="button"
          aria-label="Security code"
          title="Security code"
          onClick={onOpenSecurity}
        >
          <IconShield />
        </button>
        <button
          class="icon-button"
          type="button"
          aria-label="Chat settings"
          title="Chat settings"
          onClick={onOpenChatSettings}
        >
          <IconMore />
        </button>
      </header>
      {!loaded && !error ? (
        <p class="muted loading" role="status">
          Loading messages…
        </p>
      ) : (
        <MessageList
          items={items}
          keyOf={keyOf}
          renderRow={renderRow}
          hasMore={hasMore}
          onLoadOlder={loadOlder}
          handle={list}
          label={`Messages with ${chat.displayName}`}
          onRowKeyDown={onRowKeyDown}
        />
      )}
      {error && (
        <p class="error banner" role="alert">
          {error}
        </p>
      )}
      <Composer
        inputRef={composer}
        mode={mode}
        contact={chat.displayName}
        onCancel={() => setMode({ type: "new" })}
        onSend={send}
        onEditLast={() => lastOwn && setMode({ type: "edit", item: lastOwn })}
        onTyping={(typing) => settings.typingIndicator && backend.setTyping(chat.id, typing).catch(() => undefined)}
      />
      {menu && <MessageActions item={menu.item} anchor={menu.anchor} onAction={act} onClose={() => setMenu(null)} />}
    </section>
  );
}
