// One conversation: its header, the virtualized timeline and the composer.
// History is loaded in pages, newest first; events for this chat are applied
// as they come.

import { useCallback, useEffect, useMemo, useRef, useState } from "preact/hooks";
import type {
  Backend,
  ChatId,
  GroupMemberView,
  ItemView,
  LinkState,
  MessageItem,
  MessageNumber,
  Settings,
} from "../backend";
import type { ShownChat } from "../chat-state";
import { errorMessage } from "../errors";
import { chatName, timerBadge, timerLabel } from "../format";
import { ChatAvatar } from "./group-pictures";
import { ChatMenu, type ChatAction } from "./chat-menu";
import { ConfirmDialog } from "./confirm";
import { Composer, type ComposerMode } from "./composer";
import { EmojiPicker } from "./emoji-picker";
import { FileActionsContext, type FileActions } from "./file-card";
import { makePreview, pastedName, sendName, sendType, voiceName, type Recording } from "../files";
import { IconBack, IconMore, IconShield, IconTimer } from "./icons";
import { MessageList, type MessageListHandle } from "./message-list";
import { MessageActions, messageRowKey, TimelineRow } from "./message-row";

export const PAGE_SIZE = 100;

/** In a group, the member who wrote the message `item` quotes, when it is among `items`. */
function quotedAuthor(items: readonly ItemView[], item: ItemView): string | undefined {
  const quoted = item.quoted;
  if (!quoted || quoted.direction !== "incoming") return undefined;
  return items.find((candidate) => candidate.number === quoted.number)?.sender?.name ?? undefined;
}

/** A group's header line: its members' names (the user last, as "You"), or how many when long. */
export function groupSubtitle(members: readonly GroupMemberView[], count: number): string {
  if (members.length === 0) return `${count} members`;
  const names = [...members.filter((member) => !member.me).map((member) => member.name)];
  if (members.some((member) => member.me)) names.push("You");
  const line = names.join(", ");
  return line.length <= 60 ? line : `${members.length} members`;
}

/** Applies an added or changed item to a timeline kept oldest first (by number). */
export function applyItem(items: readonly ItemView[], item: ItemView): ItemView[] {
  const index = items.findIndex((candidate) => candidate.number === item.number);
  if (index >= 0) {
    const next = items.slice();
    next[index] = item;
    return next;
  }
  const last = items[items.length - 1];
  if (!last || last.number < item.number) return [...items, item];
  const at = items.findIndex((candidate) => candidate.number > item.number);
  return [...items.slice(0, at), item, ...items.slice(at)];
}

/** The earliest expiry among the items, or null. */
export function nextExpiry(items: readonly ItemView[]): number | null {
  let next: number | null = null;
  for (const item of items) {
    if (item.expires_at !== null && (next === null || item.expires_at < next)) {
      next = item.expires_at;
    }
  }
  return next;
}

/** The items without the messages expired at `now` (the same array when none is). */
export function withoutExpired(items: ItemView[], now: number): ItemView[] {
  const kept = items.filter((item) => item.expires_at === null || item.expires_at > now);
  return kept.length === items.length ? items : kept;
}

/**
 * The first of the chat's `unread` messages among `items` (oldest first): the
 * oldest of the last `unread` incoming messages, stopping at one already read.
 * `complete` is false when the items run out first (older history may hold it).
 */
export function firstUnread(
  items: readonly ItemView[],
  unread: number,
): { number: MessageNumber | null; complete: boolean } {
  let first: MessageNumber | null = null;
  let seen = 0;
  for (let index = items.length - 1; index >= 0 && seen < unread; index -= 1) {
    const item = items[index]!;
    if (item.notice !== null || item.direction !== "incoming") continue;
    if (item.status === "read") return { number: first, complete: true };
    first = item.number;
    seen += 1;
  }
  return { number: first, complete: seen >= unread };
}

/** Browsers run longer timeouts at once; a far expiry is checked again later. */
const MAX_TIMER_MS = 24 * 60 * 60 * 1000;

const keyOf = (item: ItemView) => String(item.number);

/** How long a message the search opened stays marked. */
const MARK_MS = 4000;

export function Conversation({
  backend,
  chat,
  settings,
  onBack,
  onOpenSecurity,
  onOpenInfo,
  onChatAction,
  found = null,
  connection = "online",
  drafts,
  joinRequests = 0,
}: {
  backend: Backend;
  chat: ShownChat;
  settings: Settings;
  onBack: () => void;
  onOpenSecurity: () => void;
  onOpenInfo: () => void;
  onChatAction: (chat: ChatId, action: ChatAction) => void;
  /** A message the search found: scrolled to (older history paged in until it is there) and marked. */
  found?: { number: MessageNumber } | null;
  /** Whether the relays are reached: offline, new messages wait in the outbox. */
  connection?: LinkState | "connecting";
  /** Text typed and not sent, by chat: kept while the profile is unlocked. */
  drafts?: Map<ChatId, string>;
  /** In a group whose link this device made: requests to join waiting for a decision. */
  joinRequests?: number;
}) {
  const [items, setItems] = useState<ItemView[]>([]);
  const [hasMore, setHasMore] = useState(false);
  const [loaded, setLoaded] = useState(false);
  const [error, setError] = useState("");
  const [mode, setMode] = useState<ComposerMode>({ type: "new" });
  const [menu, setMenu] = useState<{ item: MessageItem; anchor: HTMLElement } | null>(null);
  /** The emoji picker for a reaction to `item`, beside its row. */
  const [reacting, setReacting] = useState<{ item: MessageItem; anchor: HTMLElement } | null>(null);
  const [chatMenu, setChatMenu] = useState<HTMLElement | null>(null);
  /** A message deleted for me waits for this question's answer. */
  const [deleting, setDeleting] = useState<MessageItem | null>(null);
  const loading = useRef(false);
  const group = chat.members !== null && chat.members !== undefined;
  /** A group's members, for "@" mentions; read again when the group changes. */
  const [members, setMembers] = useState<GroupMemberView[]>([]);
  useEffect(() => {
    if (!group) return;
    let alive = true;
    backend.groupMembers(chat.id).then(
      (list) => alive && setMembers(list),
      () => undefined,
    );
    return () => {
      alive = false;
    };
  }, [backend, chat.id, group, chat.members, chat.last_activity]);
  const others = useMemo(() => members.filter((member) => !member.me), [members]);
  const list = useRef<MessageListHandle | null>(null);
  /** Unread messages when the chat opened: the view starts at the first of them. */
  const unreadAtOpen = useRef(chat.unread);
  /** Where the "new messages" divider goes, and how many it counts. */
  const [divider, setDivider] = useState<{ number: MessageNumber; count: number } | null>(null);
  const composer = useRef<HTMLTextAreaElement>(null);
  const name = chatName(chat);

  useEffect(() => {
    let alive = true;
    backend.history(chat.id, { limit: PAGE_SIZE }).then(
      (page) => {
        if (!alive) return;
        // Items that came as events while the page loaded are kept.
        setItems((early) => early.reduce(applyItem, page.items));
        setHasMore(page.hasMore);
        setLoaded(true);
      },
      (caught: unknown) => alive && setError(errorMessage(caught)),
    );
    const unsubscribe = backend.subscribe((event) => {
      if ((event.type === "item_added" || event.type === "item_changed") && event.item.chat === chat.id) {
        const item = event.item;
        setItems((previous) => applyItem(previous, item));
      } else if (event.type === "items_removed" && event.chat === chat.id) {
        const gone = event.numbers;
        setItems((previous) => previous.filter((item) => !gone.includes(item.number)));
      } else if (event.type === "history_cleared" && event.chat === chat.id) {
        setItems([]);
        setHasMore(false);
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
      if (document.visibilityState === "visible") backend.markRead(chat.id, newest.number).catch(() => undefined);
    };
    mark();
    document.addEventListener("visibilitychange", mark);
    return () => document.removeEventListener("visibilitychange", mark);
  }, [backend, chat.id, chat.unread, newest]);

  const loadOlder = useCallback(() => {
    const first = items[0];
    if (loading.current || !hasMore || !first) return;
    loading.current = true;
    backend.history(chat.id, { before: first.number, limit: PAGE_SIZE }).then(
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

  async function send(text: string, mentions: string[] = []) {
    setError("");
    try {
      // The change itself comes as an event (item_changed, item_added).
      if (mode.type === "edit") {
        await backend.edit(chat.id, mode.item.number, text);
      } else {
        await backend.sendText(chat.id, {
          text,
          ...(mode.type === "reply" ? { replyTo: mode.item.number } : {}),
          ...(mentions.length > 0 ? { mentions } : {}),
        });
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
            if (window.confirm("Delete this message for everyone?"))
              await backend.deleteForEveryone(chat.id, item.number);
            break;
          case "delete-for-me":
            setDeleting(item);
            break;
          case "react": {
            const mine = item.reactions.find((reaction) => reaction.mine);
            await backend.react(chat.id, item.number, mine?.emoji === emoji ? null : (emoji ?? null));
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
    (item: ItemView, row: HTMLElement, event: KeyboardEvent) => messageRowKey(item, row, event, openMenu, act),
    [openMenu, act],
  );

  // Jumping to a quoted message pages older history in until it is loaded.
  const pendingJump = useRef<MessageNumber | null>(null);
  const [jumpRequest, setJumpRequest] = useState(0);
  const jumpTo = useCallback((number: MessageNumber) => {
    pendingJump.current = number;
    setJumpRequest((count) => count + 1);
  }, []);
  useEffect(() => {
    const number = pendingJump.current;
    if (number === null || !loaded) return;
    if (items.some((item) => item.number === number)) {
      pendingJump.current = null;
      list.current?.scrollToKey(String(number));
    } else if (hasMore) {
      loadOlder();
    } else {
      pendingJump.current = null;
    }
  }, [items, hasMore, loaded, jumpRequest, loadOlder]);

  // A chat opened with unread messages starts at the first of them (older
  // history paged in until it is there), under a "new messages" divider.
  useEffect(() => {
    const unread = unreadAtOpen.current;
    if (unread === 0 || !loaded || found) return;
    const { number, complete } = firstUnread(items, unread);
    if (!complete && hasMore) {
      loadOlder();
      return;
    }
    unreadAtOpen.current = 0;
    if (number === null) return;
    setDivider({ number, count: unread });
    // After the row is laid out; the composer keeps the focus.
    requestAnimationFrame(() => list.current?.scrollToKey(String(number), false));
  }, [items, hasMore, loaded, loadOlder, found]);

  // The search's message: jumped to, and marked for a few seconds.
  const [marked, setMarked] = useState<MessageNumber | null>(null);
  useEffect(() => {
    if (!found) return;
    jumpTo(found.number);
    setMarked(found.number);
    const timer = window.setTimeout(() => setMarked(null), MARK_MS);
    return () => window.clearTimeout(timer);
  }, [found, jumpTo]);

  // Every prop but `previous` is stable, so memoized rows skip re-rendering
  // when a page of history is prepended or a message arrives.
  const renderRow = useCallback(
    (item: ItemView, index: number) => (
      <TimelineRow
        item={item}
        previous={items[index - 1]}
        contact={name}
        quotedAuthor={quotedAuthor(items, item)}
        onMenu={openMenu}
        onAction={act}
        onJump={jumpTo}
        onOpenSecurity={onOpenSecurity}
        marked={item.number === marked}
        newMessages={item.number === divider?.number ? divider.count : 0}
      />
    ),
    [items, name, openMenu, act, jumpTo, onOpenSecurity, marked, divider],
  );

  const waiting = items.filter((item) => item.direction === "outgoing" && item.status === "pending").length;
  const queued =
    connection === "offline"
      ? `You are offline. ${waiting > 0 ? `${waiting} message${waiting === 1 ? " waits" : "s wait"} here and` : "Messages you send wait here and"} will be sent when the connection is back.`
      : waiting > 0 && connection === "connecting"
        ? `Connecting… ${waiting} message${waiting === 1 ? " waits" : "s wait"} to be sent.`
        : "";

  const keepDraft = useCallback(
    (text: string) => {
      if (!drafts) return;
      if (text.trim() === "") drafts.delete(chat.id);
      else drafts.set(chat.id, text);
    },
    [drafts, chat.id],
  );

  const fileActions = useMemo<FileActions>(
    () => ({ backend, chat: chat.id, blockSaving: chat.block_saving, onError: setError }),
    [backend, chat.id, chat.block_saving],
  );
  /** Files dropped, pasted or picked: each sent in turn (each is encrypted into the profile first). */
  const sendFiles = useCallback(
    async (files: Blob[]) => {
      setError("");
      for (const file of files) {
        const fallback = pastedName(file.type, new Date());
        try {
          const preview = await makePreview(file);
          await backend.sendFile(chat.id, file, sendName(file, fallback), sendType(file), preview ? { preview } : {});
        } catch (caught) {
          setError(errorMessage(caught));
        }
      }
    },
    [backend, chat.id],
  );
  /** A voice message recorded in the composer: sent with its duration and waveform. */
  const sendVoice = useCallback(
    async (recorded: Awaited<ReturnType<Recording["finish"]>>) => {
      setError("");
      try {
        await backend.sendFile(chat.id, recorded.blob, voiceName(recorded.type, new Date()), recorded.type, {
          durationMs: recorded.durationMs,
          waveform: recorded.waveform,
        });
      } catch (caught) {
        setError(errorMessage(caught));
      }
    },
    [backend, chat.id],
  );
  /** Over the chat while files are dragged over it: it shows where they go. */
  const [dragging, setDragging] = useState(false);
  const dragDepth = useRef(0);
  const carriesFiles = (event: DragEvent) => [...(event.dataTransfer?.types ?? [])].includes("Files");

  const lastOwn = [...items]
    .reverse()
    .find((item): item is MessageItem => item.notice === null && item.direction === "outgoing" && !item.deleted);

  return (
    <section
      class={`conversation${dragging ? " dragging" : ""}`}
      aria-labelledby="conversation-title"
      onDragEnter={(event) => {
        if (!carriesFiles(event) || chat.blocked) return;
        event.preventDefault();
        dragDepth.current += 1;
        setDragging(true);
      }}
      onDragOver={(event) => {
        if (!carriesFiles(event) || chat.blocked) return;
        event.preventDefault();
        if (event.dataTransfer) event.dataTransfer.dropEffect = "copy";
      }}
      onDragLeave={(event) => {
        if (!carriesFiles(event)) return;
        dragDepth.current = Math.max(0, dragDepth.current - 1);
        if (dragDepth.current === 0) setDragging(false);
      }}
      onDrop={(event) => {
        if (!carriesFiles(event)) return;
        event.preventDefault();
        dragDepth.current = 0;
        setDragging(false);
        if (chat.blocked) return;
        const files = [...(event.dataTransfer?.files ?? [])];
        if (files.length > 0) void sendFiles(files);
      }}
    >
      {dragging && (
        <div class="drop-hint" aria-hidden="true">
          Drop files to send them to {name}
        </div>
      )}
      <header class="conversation-header">
        <button class="icon-button back" type="button" aria-label="Back to chats" onClick={onBack}>
          <IconBack />
        </button>
        <button
          type="button"
          class="conversation-title badge-host"
          aria-label={
            group ? `Group info${joinRequests > 0 ? `, ${joinRequests} requests to join` : ""}` : "Contact info"
          }
          onClick={onOpenInfo}
        >
          <ChatAvatar chat={chat} name={name} />
          {joinRequests > 0 && (
            <span class="dot" aria-hidden="true">
              {joinRequests}
            </span>
          )}
          <span class="conversation-title-text">
            <h2 dir="auto" id="conversation-title" class="private">
              {name}
              {chat.verified && <IconShield label="Verified" />}
            </h2>
            <span class="subtitle" aria-live="polite">
              {chat.blocked
                ? "Blocked"
                : group
                  ? groupSubtitle(members, chat.members ?? 0)
                  : chat.typing
                    ? "typing…"
                    : chat.timer_secs !== null
                      ? `Messages disappear after ${timerLabel(chat.timer_secs)}`
                      : ""}
            </span>
          </span>
        </button>
        {chat.timer_secs !== null && (
          <button
            class="timer-chip"
            type="button"
            onClick={onOpenInfo}
            aria-label={`Disappearing messages: ${timerLabel(chat.timer_secs)}`}
          >
            <IconTimer />
            {timerBadge(chat.timer_secs)}
          </button>
        )}
        {!group && (
          <button
            class="icon-button"
            type="button"
            aria-label="Security code"
            title="Security code"
            onClick={onOpenSecurity}
          >
            <IconShield />
          </button>
        )}
        <button
          class="icon-button"
          type="button"
          aria-label="Chat menu"
          aria-haspopup="menu"
          aria-expanded={chatMenu !== null}
          title="Chat menu"
          onClick={(event) => setChatMenu(chatMenu ? null : event.currentTarget)}
        >
          <IconMore />
        </button>
      </header>
      {!loaded && !error ? (
        <p class="muted loading" role="status">
          Loading messages…
        </p>
      ) : (
        <FileActionsContext.Provider value={fileActions}>
          <MessageList
            items={items}
            keyOf={keyOf}
            renderRow={renderRow}
            hasMore={hasMore}
            onLoadOlder={loadOlder}
            handle={list}
            label={`Messages with ${name}`}
            onRowKeyDown={onRowKeyDown}
          />
        </FileActionsContext.Provider>
      )}
      {error && (
        <p class="error banner" role="alert">
          {error}
        </p>
      )}
      {queued && (
        <p class="queue-bar" role="status">
          {queued}
        </p>
      )}
      {group && members.length > 0 && !members.some((member) => member.me) ? (
        <p class="blocked-bar" role="status">
          You are no longer a member of this group.
        </p>
      ) : group && chat.state === "disconnected" ? (
        <p class="blocked-bar" role="status">
          This group no longer exists: no one can write to it.
        </p>
      ) : chat.blocked ? (
        <p class="blocked-bar" role="status">
          You blocked {name}: nothing from them reaches you.{" "}
          <button type="button" class="link" onClick={() => onChatAction(chat.id, { type: "unblock" })}>
            Unblock
          </button>
        </p>
      ) : (
        <Composer
          inputRef={composer}
          mode={mode}
          contact={name}
          {...(group ? { members: others } : {})}
          onCancel={() => setMode({ type: "new" })}
          onSend={send}
          onEditLast={() => lastOwn && setMode({ type: "edit", item: lastOwn })}
          onTyping={(typing) => settings.typingIndicator && backend.setTyping(chat.id, typing).catch(() => undefined)}
          draft={drafts?.get(chat.id) ?? ""}
          onDraft={keepDraft}
          onFiles={(files: File[]) => void sendFiles(files)}
          onVoice={(recorded: Parameters<typeof sendVoice>[0]) => void sendVoice(recorded)}
          onError={setError}
        />
      )}
      {chatMenu && <ChatMenu chat={chat} anchor={chatMenu} onAction={onChatAction} onClose={() => setChatMenu(null)} />}
      {deleting && (
        <ConfirmDialog
          title="Delete this message for you?"
          action="Delete for me"
          onConfirm={() => backend.deleteForMe(chat.id, deleting.number)}
          onClose={() => setDeleting(null)}
        >
          <p>It is deleted from this device only; {name} keeps their copy.</p>
        </ConfirmDialog>
      )}
      {menu && (
        <MessageActions
          item={menu.item}
          anchor={menu.anchor}
          onAction={act}
          onMoreReactions={(item) => {
            setMenu(null);
            setReacting({ item, anchor: menu.anchor });
          }}
          onClose={() => setMenu(null)}
        />
      )}
      {reacting && (
        <EmojiPicker
          label="React with an emoji"
          anchor={reacting.anchor}
          side={reacting.item.direction === "outgoing" ? "right" : "left"}
          returnFocus={reacting.anchor.closest<HTMLElement>(".row")}
          onPick={(emoji) => {
            setReacting(null);
            void act("react", reacting.item, emoji);
          }}
          onClose={() => setReacting(null)}
        />
      )}
    </section>
  );
}
