// The unlocked app: the chat list beside the open conversation (one or the
// other on a phone), the dialogs, notifications, shortcuts and the app lock.

import { useCallback, useEffect, useMemo, useRef, useState } from "preact/hooks";
import type {
  Backend,
  BackendEvent,
  ChatId,
  ChatView,
  GroupInvitationView,
  GroupLinkJoinView,
  LinkState,
  MessageItem,
  MessageNumber,
  RequestView,
  Settings,
} from "../backend";
import { DEFAULT_SETTINGS } from "../backend";
import { sortChats, withEvents, type ShownChat } from "../chat-state";
import { chatName, distinctNames, isMuted } from "../format";
import type { ParsedLink } from "../invite-link";
import { LockTimer } from "../lock-timer";
import { errorMessage } from "../errors";
import { messageNotification, notify } from "../notifications";
import { NotificationBanner } from "./notification-banner";
import { ChatList } from "./chat-list";
import { Conversation } from "./conversation";
import { ConnectInvitation, ContactAddressDialog, InviteDialog } from "./connections";
import { IconGroup, IconLock, IconPeople, IconPlus, IconSettings } from "./icons";
import { GroupInfoDialog, GroupInvitations, NewGroupDialog } from "./groups";
import { JoinGroupDialog, WaitingJoins, type RefusedJoin } from "./group-links";
import { ContactInfoDialog, SecurityCodeDialog } from "./chat-dialogs";
import { ConfirmChatAction, muteUntil, type ChatAction, type ConfirmedAction } from "./chat-menu";
import { SettingsDialog } from "./settings";

type DialogState =
  | { name: "invite" }
  | { name: "address" }
  | { name: "new-group" }
  | { name: "settings" }
  | { name: "security"; chat: ChatId }
  | { name: "info"; chat: ChatId }
  | { name: "confirm"; chat: ChatId; action: ConfirmedAction }
  | null;

export interface MainProps {
  backend: Backend;
  onLock: () => void;
  /** Told the notification sound setting, so that the lock screen follows it. */
  onSoundSetting?: (on: boolean) => void;
  invite: ParsedLink | null;
  onInviteHandled: () => void;
}

export { sortChats };

/**
 * Whether an event could only come through a working relay link: a message
 * received, or one of the user's accepted by the relay (sent) or acknowledged
 * by the peer. The link's own events can lag behind (a handshake reported
 * before the list listened), and the status must never say "Connecting…"
 * while messages flow.
 */
export function provesOnline(event: BackendEvent): boolean {
  if (event.type !== "item_added" && event.type !== "item_changed") return false;
  const item = event.item;
  if (item.notice !== null) return false;
  if (item.direction === "incoming") return event.type === "item_added";
  return event.type === "item_changed" && item.status !== "pending" && item.status !== "failed";
}

/** The longest events wait to be applied when no frame comes (a hidden page). */
const FLUSH_MS = 250;
/** A batch of this many events is a burst: the next waits BURST_MS. */
const BURST_EVENTS = 16;
const BURST_MS = 200;

export function Main({ backend, onLock, onSoundSetting, invite, onInviteHandled }: MainProps) {
  const [views, setViews] = useState<ReadonlyMap<ChatId, ChatView>>(new Map());
  /** Chats whose peer is typing. */
  const [typing, setTyping] = useState<ReadonlySet<ChatId>>(new Set());
  const [settings, setSettings] = useState<Settings>(DEFAULT_SETTINGS);
  useEffect(() => onSoundSetting?.(settings.notificationSound), [settings.notificationSound, onSoundSetting]);
  const [requests, setRequests] = useState<RequestView[]>([]);
  /** Group invitations waiting for a decision ("who can add me to groups" is "nobody"). */
  const [groupInvitations, setGroupInvitations] = useState<GroupInvitationView[]>([]);
  const loadGroupInvitations = useCallback(() => {
    backend.groupInvitations().then(setGroupInvitations, () => undefined);
  }, [backend]);
  useEffect(loadGroupInvitations, [loadGroupInvitations]);
  /** This user's joins through group links, waiting for an admin. */
  const [linkJoins, setLinkJoins] = useState<GroupLinkJoinView[]>([]);
  const loadLinkJoins = useCallback(() => {
    backend.groupLinkJoins().then(setLinkJoins, () => undefined);
  }, [backend]);
  useEffect(loadLinkJoins, [loadLinkJoins]);
  const [refusedJoins, setRefusedJoins] = useState<RefusedJoin[]>([]);
  /** Requests to join through this device's group links waiting for a decision, by group. */
  const [joinRequests, setJoinRequests] = useState<ReadonlyMap<ChatId, number>>(new Map());
  const countJoinRequests = useCallback(
    (group: ChatId, waiting: number) =>
      setJoinRequests((previous) => {
        if ((previous.get(group) ?? 0) === waiting) return previous;
        const next = new Map(previous);
        if (waiting > 0) next.set(group, waiting);
        else next.delete(group);
        return next;
      }),
    [],
  );
  const loadJoinRequests = useCallback(
    (group: ChatId) =>
      backend.groupJoinRequests(group).then(
        (list) => countJoinRequests(group, list.filter((request) => !request.approved).length),
        () => undefined,
      ),
    [backend, countJoinRequests],
  );
  useEffect(() => {
    backend.groups().then(
      (groups) => groups.filter((group) => group.role !== "member").forEach((group) => void loadJoinRequests(group.id)),
      () => undefined,
    );
  }, [backend, loadJoinRequests]);
  const [selected, setSelected] = useState<ChatId | null>(null);
  const [dialog, setDialog] = useState<DialogState>(null);
  /** A message the search found, to open its chat at (a new object each time it is asked for). */
  const [found, setFound] = useState<{ chat: ChatId; number: MessageNumber } | null>(null);
  const [connection, setConnection] = useState<LinkState | "connecting">("connecting");
  const [announcement, setAnnouncement] = useState("");
  /** A failure outside any call (the browser's storage refused a write). */
  const [failure, setFailure] = useState("");
  const search = useRef<HTMLInputElement>(null);
  /** Text typed in a chat and not sent; gone with this component when the profile locks. */
  const drafts = useRef(new Map<ChatId, string>());
  // The chats as shown: the core's views with the UI's mute and typing marks.
  const chats = useMemo(() => {
    const shown = new Map<ChatId, ShownChat>();
    const labels = distinctNames(views.values());
    const now = Date.now();
    for (const [id, view] of views)
      shown.set(id, {
        ...view,
        label: labels.get(id) ?? chatName(view),
        muted: settings.muted.includes(id) || isMuted(view.muted_until, now),
        typing: typing.has(id),
      });
    return shown;
  }, [views, settings.muted, typing]);
  // Event handlers read the latest values without resubscribing.
  const latest = useRef({ chats, settings, selected });
  latest.current = { chats, settings, selected };

  useEffect(() => {
    let alive = true;
    // Events that arrive before the first list are applied to it once it is there.
    let early: BackendEvent[] | null = [];
    Promise.all([backend.chats(), backend.settings(), backend.requests()]).then(
      ([list, loaded, pending]) => {
        if (!alive) return;
        const missed = early ?? [];
        early = null;
        setViews(withEvents(new Map(list.map((chat) => [chat.id, chat])), missed));
        setSettings(loaded);
        setRequests(pending);
      },
      () => undefined,
    );
    // Events are applied together, once per frame (or after FLUSH_MS in a
    // hidden page, where frames stop), and during a burst (BURST_EVENTS or
    // more in one batch: a profile catching up with thousands of messages)
    // at most every BURST_MS: one render per batch, one notification per
    // chat and one announcement, not one of each per message.
    let pending: BackendEvent[] = [];
    /** The frame that applies `pending`, and the timers that lead to it. */
    let frame: number | null = null;
    let wait: number | null = null;
    let fallback: number | null = null;
    /** After a burst, no batch is applied before this time. */
    let quietUntil = 0;
    const flush = () => {
      if (frame !== null) cancelAnimationFrame(frame);
      if (wait !== null) window.clearTimeout(wait);
      if (fallback !== null) window.clearTimeout(fallback);
      frame = wait = fallback = null;
      const events = pending;
      pending = [];
      if (events.length >= BURST_EVENTS) quietUntil = performance.now() + BURST_MS;
      if (alive && events.length > 0) apply(events);
    };
    const schedule = () => {
      if (frame !== null || wait !== null) return;
      const delay = Math.max(0, quietUntil - performance.now());
      if (delay > 0)
        wait = window.setTimeout(() => {
          wait = null;
          frame = requestAnimationFrame(flush);
        }, delay);
      else frame = requestAnimationFrame(flush);
      fallback = window.setTimeout(flush, delay + FLUSH_MS);
    };
    const apply = (events: BackendEvent[]) => {
      if (early) early.push(...events);
      else setViews((previous) => withEvents(previous, events));
      /** The newest incoming message of each chat in this batch. */
      const incoming = new Map<ChatId, MessageItem>();
      for (const event of events) {
        switch (event.type) {
          case "typing":
            setTyping((previous) => {
              if (previous.has(event.chat) === event.typing) return previous;
              const next = new Set(previous);
              if (event.typing) next.add(event.chat);
              else next.delete(event.chat);
              return next;
            });
            break;
          case "request_received":
            setRequests((previous) => [
              ...previous.filter((request) => request.id !== event.request.id),
              event.request,
            ]);
            setAnnouncement(`New contact request from ${event.request.name}`);
            break;
          case "address_flooded":
            setAnnouncement(
              `Contact requests were dropped: ${event.waiting} are waiting. Decide on them, or replace your contact address.`,
            );
            break;
          case "group_invitation":
            loadGroupInvitations();
            setAnnouncement(`Invitation to the group ${event.name}`);
            break;
          case "group_joined":
            loadLinkJoins();
            setAnnouncement(`You joined the group ${event.name}`);
            break;
          case "group_join_requested":
            void loadJoinRequests(event.request.group);
            setAnnouncement(`${event.request.name} asks to join a group`);
            break;
          case "group_join_refused":
            loadLinkJoins();
            setRefusedJoins((previous) => [
              ...previous.filter((refused) => refused.join !== event.join),
              { join: event.join, name: event.name, reason: event.reason },
            ]);
            setAnnouncement(`Your request to join ${event.name} was refused: ${event.reason}`);
            break;
          case "join_failed":
            // Said in the dialog that opened the link; heard here too, should it be closed.
            setAnnouncement(event.reason);
            break;
          case "connection":
            setConnection(event.state);
            break;
          case "error":
            setFailure(event.error.message);
            break;
          case "item_added":
            if (event.item.notice === null && event.item.direction === "incoming")
              incoming.set(event.item.chat, event.item);
            if (provesOnline(event)) setConnection("online");
            break;
          case "item_changed":
            if (provesOnline(event)) setConnection("online");
            break;
          default:
            break;
        }
      }
      if (incoming.size === 0) return;
      // A message ends the peer's typing.
      setTyping((previous) => {
        if (![...incoming.keys()].some((chat) => previous.has(chat))) return previous;
        const next = new Set(previous);
        for (const chat of incoming.keys()) next.delete(chat);
        return next;
      });
      let announced = "";
      for (const item of incoming.values()) {
        const chat = latest.current.chats.get(item.chat);
        const name = chat ? chatName(chat) : "A contact";
        const { settings: current } = latest.current;
        // Muted now: a mute that ran out since the list was drawn no longer counts.
        const muted = chat !== undefined && (current.muted.includes(chat.id) || isMuted(chat.muted_until, Date.now()));
        const group = item.sender ? { sender: item.sender.name, mentionsMe: item.mentions_me === true } : undefined;
        const content = messageNotification(current.notificationPreview, chat && { name, muted }, item.text, group);
        if (content) notify(content, String(item.chat), () => setSelected(item.chat), current.notificationSound);
        announced = latest.current.selected === item.chat ? `${name}: ${item.text}` : `New message from ${name}`;
      }
      setAnnouncement(incoming.size > 1 ? `New messages in ${incoming.size} chats` : announced);
    };
    const unsubscribe = backend.subscribe((event) => {
      pending.push(event);
      schedule();
    });
    return () => {
      alive = false;
      flush();
      unsubscribe();
    };
  }, [backend, loadGroupInvitations, loadLinkJoins, loadJoinRequests]);

  // The browser knows when the network went away: say so at once, and try
  // again (the bridge reconnects) when it is back.
  useEffect(() => {
    const offline = () => setConnection("offline");
    const online = () => setConnection((state) => (state === "offline" ? "connecting" : state));
    window.addEventListener("offline", offline);
    window.addEventListener("online", online);
    return () => {
      window.removeEventListener("offline", offline);
      window.removeEventListener("online", online);
    };
  }, []);

  // The app lock after inactivity.
  useEffect(() => {
    const timer = new LockTimer(settings.lockAfterSeconds, onLock);
    // Check before counting input as activity: input after a long absence
    // must not postpone an overdue lock.
    const activity = () => {
      timer.check();
      timer.activity();
    };
    const check = () => timer.check();
    const events = ["keydown", "pointerdown", "pointermove", "wheel", "touchstart"] as const;
    for (const name of events) document.addEventListener(name, activity, { passive: true });
    document.addEventListener("visibilitychange", check);
    window.addEventListener("focus", check);
    return () => {
      timer.stop();
      for (const name of events) document.removeEventListener(name, activity);
      document.removeEventListener("visibilitychange", check);
      window.removeEventListener("focus", check);
    };
  }, [settings.lockAfterSeconds, onLock]);

  // An invitation link the page was opened with: offer to connect.
  const [offer, setOffer] = useState<ParsedLink | null>(invite);

  // Global shortcuts.
  useEffect(() => {
    function onKeyDown(event: KeyboardEvent) {
      const mod = event.ctrlKey || event.metaKey;
      if (mod && !event.shiftKey && event.key.toLowerCase() === "k") {
        event.preventDefault();
        search.current?.focus();
        search.current?.select();
      } else if (mod && event.shiftKey && event.key.toLowerCase() === "l") {
        event.preventDefault();
        onLock();
      } else if (event.altKey && (event.key === "ArrowDown" || event.key === "ArrowUp")) {
        event.preventDefault();
        const ordered = sortChats(latest.current.chats.values());
        const index = ordered.findIndex((chat) => chat.id === latest.current.selected);
        const step = event.key === "ArrowDown" ? 1 : -1;
        const next = ordered[Math.max(0, Math.min(ordered.length - 1, index + step))];
        if (next) setSelected(next.id);
      } else if (event.key === "Escape" && !event.defaultPrevented && latest.current.selected !== null) {
        setSelected(null);
      }
    }
    document.addEventListener("keydown", onKeyDown);
    return () => document.removeEventListener("keydown", onKeyDown);
  }, [onLock]);

  const ordered = useMemo(() => sortChats(chats.values()), [chats]);

  // The unread total in the tab title; no names or text.
  const unread = useMemo(
    () => [...chats.values()].reduce((sum, chat) => sum + (chat.muted ? 0 : chat.unread), 0),
    [chats],
  );
  useEffect(() => {
    document.title = unread > 0 ? `(${unread}) Sotto` : "Sotto";
    return () => {
      document.title = "Sotto";
    };
  }, [unread]);
  const current = selected ? (chats.get(selected) ?? null) : null;

  // Stable callbacks keep the conversation's memoized rows from re-rendering.
  const closeChat = useCallback(() => setSelected(null), []);
  const selectChat = useCallback((chat: ChatId) => {
    setFound(null);
    setSelected(chat);
  }, []);
  const openMessage = useCallback((chat: ChatId, number: MessageNumber) => {
    setSelected(chat);
    setFound({ chat, number });
  }, []);
  const openSecurity = useCallback(() => {
    const chat = latest.current.selected;
    if (chat !== null) setDialog({ name: "security", chat });
  }, []);
  const openInfo = useCallback(() => {
    const chat = latest.current.selected;
    if (chat !== null) setDialog({ name: "info", chat });
  }, []);

  const saveSettings = useCallback(
    async (patch: Partial<Settings>) => {
      setSettings((previous) => ({ ...previous, ...patch }));
      setSettings(await backend.updateSettings(patch));
    },
    [backend],
  );

  /** A chat menu's or the contact info panel's action; the destructive ones ask first. */
  const onChatAction = useCallback(
    (chat: ChatId, action: ChatAction) => {
      const failed = (caught: unknown) => setFailure(errorMessage(caught));
      switch (action.type) {
        case "info":
          setDialog({ name: "info", chat });
          break;
        case "clear":
        case "block":
        case "delete":
          setDialog({ name: "confirm", chat, action: action.type });
          break;
        case "pin":
          backend.setPinned(chat, action.pinned).catch(failed);
          break;
        case "archive":
          backend.setArchived(chat, action.archived).then(() => {
            if (action.archived && latest.current.selected === chat) setSelected(null);
          }, failed);
          break;
        case "unblock":
          backend.unblock(chat).catch(failed);
          break;
        case "mute":
        case "unmute": {
          const until = action.type === "mute" ? muteUntil(action.duration, Date.now()) : null;
          // An older profile kept mutes in the UI's settings: a change here replaces that.
          const legacy = latest.current.settings.muted;
          backend
            .setMuted(chat, until)
            .then(() =>
              legacy.includes(chat) ? saveSettings({ muted: legacy.filter((id) => id !== chat) }) : undefined,
            )
            .catch(failed);
          break;
        }
      }
    },
    [backend, saveSettings],
  );

  return (
    <div class={`app${settings.privacyBlur ? " blur-on" : ""}${current ? " has-chat" : ""}`}>
      <aside class="sidebar" aria-label="Chats">
        <header class="sidebar-header">
          <h1 class="app-title">Sotto</h1>
          <span class={`connection ${connection}`} role="status">
            {connection === "online" ? "" : connection === "connecting" ? "Connecting…" : "Offline"}
          </span>
          <div class="toolbar">
            <button
              class="icon-button"
              type="button"
              aria-label="New chat: invite someone"
              title="New chat"
              onClick={() => setDialog({ name: "invite" })}
            >
              <IconPlus />
            </button>
            <button
              class="icon-button"
              type="button"
              aria-label="New group"
              title="New group"
              onClick={() => setDialog({ name: "new-group" })}
            >
              <IconGroup />
            </button>
            <button
              class="icon-button badge-host"
              type="button"
              aria-label={`Contact address and requests${requests.length ? `, ${requests.length} waiting` : ""}`}
              title="Contact address and requests"
              onClick={() => setDialog({ name: "address" })}
            >
              <IconPeople />
              {requests.length > 0 && (
                <span class="dot" aria-hidden="true">
                  {requests.length}
                </span>
              )}
            </button>
            <button
              class="icon-button"
              type="button"
              aria-label="Settings"
              title="Settings"
              onClick={() => setDialog({ name: "settings" })}
            >
              <IconSettings />
            </button>
            <button
              class="icon-button"
              type="button"
              aria-label="Lock Sotto"
              title="Lock (Ctrl+Shift+L)"
              onClick={onLock}
            >
              <IconLock />
            </button>
          </div>
        </header>
        <NotificationBanner />
        {failure && (
          <p class="error banner" role="alert">
            {failure}{" "}
            <button type="button" class="link" onClick={() => setFailure("")}>
              Dismiss
            </button>
          </p>
        )}
        <GroupInvitations
          backend={backend}
          invitations={groupInvitations}
          names={new Map(ordered.map((chat) => [chat.id, chatName(chat)]))}
          onChange={loadGroupInvitations}
        />
        <WaitingJoins
          backend={backend}
          joins={linkJoins}
          refused={refusedJoins}
          onChange={loadLinkJoins}
          onDismiss={(join) => setRefusedJoins((previous) => previous.filter((refused) => refused.join !== join))}
        />
        <ChatList
          chats={ordered}
          selected={selected}
          onSelect={selectChat}
          onChatAction={onChatAction}
          onOpenMessage={openMessage}
          searchRef={search}
          backend={backend}
          joinRequests={joinRequests}
        />
      </aside>
      <main class="pane" aria-label={current ? `Chat with ${chatName(current)}` : "No chat open"}>
        {current ? (
          <Conversation
            key={current.id}
            backend={backend}
            chat={current}
            settings={settings}
            onBack={closeChat}
            onOpenSecurity={openSecurity}
            found={found?.chat === current.id ? found : null}
            connection={connection}
            drafts={drafts.current}
            onOpenInfo={openInfo}
            onChatAction={onChatAction}
            joinRequests={joinRequests.get(current.id) ?? 0}
          />
        ) : (
          <div class="empty-pane">
            <h2>Sotto</h2>
            <p class="muted">Choose a chat, or start one with an invitation (the + button).</p>
            <p class="muted small">Ctrl+K searches · Alt+↑/↓ switches chats · Ctrl+Shift+L locks</p>
          </div>
        )}
      </main>
      <div class="visually-hidden" role="status" aria-live="polite">
        {announcement}
      </div>
      {dialog?.name === "invite" && (
        <InviteDialog
          backend={backend}
          onGroupLink={(link) => {
            setDialog(null);
            setOffer(link);
          }}
          onClose={() => setDialog(null)}
          onConnected={(chat) => {
            setDialog(null);
            setSelected(chat);
          }}
        />
      )}
      {dialog?.name === "address" && (
        <ContactAddressDialog
          backend={backend}
          requests={requests}
          onRequestsChange={setRequests}
          onClose={() => setDialog(null)}
          onAccepted={(chat) => {
            setDialog(null);
            setSelected(chat);
          }}
        />
      )}
      {dialog?.name === "settings" && (
        <SettingsDialog backend={backend} settings={settings} onChange={saveSettings} onClose={() => setDialog(null)} />
      )}
      {dialog?.name === "security" && chats.get(dialog.chat) && (
        <SecurityCodeDialog backend={backend} chat={chats.get(dialog.chat)!} onClose={() => setDialog(null)} />
      )}
      {dialog?.name === "new-group" && (
        <NewGroupDialog
          backend={backend}
          chats={ordered}
          onClose={() => setDialog(null)}
          onCreated={(chat) => {
            setDialog(null);
            setSelected(chat);
          }}
        />
      )}
      {dialog?.name === "info" && chats.get(dialog.chat)?.members != null && (
        <GroupInfoDialog
          backend={backend}
          chat={chats.get(dialog.chat)!}
          chats={ordered}
          onAction={onChatAction}
          onClose={() => setDialog(null)}
          onJoinRequests={(waiting) => countJoinRequests(dialog.chat, waiting)}
        />
      )}
      {dialog?.name === "info" && chats.get(dialog.chat) && chats.get(dialog.chat)!.members == null && (
        <ContactInfoDialog
          backend={backend}
          chat={chats.get(dialog.chat)!}
          onAction={onChatAction}
          onClose={() => setDialog(null)}
          onOpenSecurity={() => setDialog({ name: "security", chat: dialog.chat })}
        />
      )}
      {dialog?.name === "confirm" && chats.get(dialog.chat) && (
        <ConfirmChatAction
          backend={backend}
          chat={chats.get(dialog.chat)!}
          action={dialog.action}
          onDone={() => {
            if (dialog.action === "delete" && latest.current.selected === dialog.chat) setSelected(null);
          }}
          onClose={() => setDialog(null)}
        />
      )}
      {offer?.kind === "group" && (
        <JoinGroupDialog
          backend={backend}
          link={offer.link}
          onClose={() => {
            setOffer(null);
            onInviteHandled();
            loadLinkJoins();
          }}
          onJoined={(chat) => {
            setOffer(null);
            onInviteHandled();
            loadLinkJoins();
            setSelected(chat);
          }}
        />
      )}
      {offer && offer.kind !== "group" && (
        <ConnectInvitation
          backend={backend}
          invite={offer}
          onClose={() => {
            setOffer(null);
            onInviteHandled();
          }}
          onConnected={(chat) => {
            setOffer(null);
            onInviteHandled();
            setSelected(chat);
          }}
        />
      )}
    </div>
  );
}
