// What the UI needs from the client core. The wasm bridge (`crates/sotto-wasm`)
// implements this interface over the Rust core; the unit tests use the
// in-memory `fake-backend.ts`. Everything crossing it is plain data (strings,
// numbers, booleans, arrays, plain objects, Uint8Array) so that the bridge is
// glue only: no classes, no callbacks other than the event listener.
//
// Times are milliseconds since the Unix epoch; durations are seconds.

/** A contact, and the one-to-one chat with it (the core's contact id). */
export type ChatId = string;
/** A message or notice in a chat's timeline; unique within the profile. */
export type ItemId = string;
/** A pending contact request received on the contact address. */
export type RequestId = string;

/**
 * Whether a profile exists in this browser and whether its keys are in memory;
 * `moved`: it was exported to another device and may only be exported again or
 * replaced (by a new profile or an import).
 */
export type ProfileState = "none" | "locked" | "unlocked" | "moved";

export interface Profile {
  displayName: string;
  bio: string;
}

export interface CreateProfile {
  displayName: string;
  passphrase: string;
}

/** A one-time invitation: the link to share and the text the QR code encodes. */
export interface Invitation {
  /** `https://<relay host>/invite#<payload>`: the payload only in the fragment. */
  link: string;
  /** What the QR code encodes (the same link, so a phone camera opens it). */
  qrPayload: string;
}

/** The long-term contact address that receives contact requests. */
export interface ContactAddress {
  link: string;
  qrPayload: string;
}

export interface ContactRequest {
  id: RequestId;
  /** The display name the requester sent, end to end. */
  displayName: string;
  receivedAt: number;
}

/** Delivery state of an outgoing message. */
export type ReceiptStatus = "pending" | "sent" | "delivered" | "read" | "failed";

/** Per-chat read-receipt override; `default` follows the global setting. */
export type ChatReadReceipts = "default" | "on" | "off";

export interface ChatSummary {
  id: ChatId;
  displayName: string;
  /** The newest message or notice, for the chat list. */
  lastItem: TimelineItem | null;
  unread: number;
  muted: boolean;
  /** Disappearing-message timer in seconds, or null when off. */
  timerSeconds: number | null;
  /** The security code was compared and marked verified (and keys have not changed since). */
  verified: boolean;
  readReceipts: ChatReadReceipts;
  /** The contact is typing right now (only when typing indicators are on). */
  typing: boolean;
}

export type Direction = "in" | "out";

export interface Reaction {
  emoji: string;
  /** Who reacted: in a one-to-one chat, the user or the contact. */
  from: Direction;
}

export interface QuotedMessage {
  id: ItemId;
  direction: Direction;
  /** Text of the quoted message at the time of the reply; empty when deleted. */
  text: string;
  deleted: boolean;
}

export interface MessageItem {
  kind: "message";
  id: ItemId;
  chat: ChatId;
  direction: Direction;
  /** Empty when deleted for everyone. */
  text: string;
  deleted: boolean;
  sentAt: number;
  editedAt: number | null;
  replyTo: QuotedMessage | null;
  reactions: Reaction[];
  /** Outgoing messages only; null for incoming ones. */
  status: ReceiptStatus | null;
  /** When a disappearing message will be removed, or null. */
  expiresAt: number | null;
}

/** Something the chat shows between messages. */
export type Notice =
  /** The relay dropped, replayed, reordered or duplicated messages. */
  | { type: "integrity"; problem: "gap" | "replay" | "reorder" | "duplicate" | "broken-chain"; count: number }
  /** The contact's keys changed: the security code must be compared again. */
  | { type: "key-change" }
  | { type: "timer"; seconds: number | null; by: Direction }
  | { type: "verified"; verified: boolean }
  | { type: "connected" };

export interface NoticeItem {
  kind: "notice";
  id: ItemId;
  chat: ChatId;
  at: number;
  notice: Notice;
}

export type TimelineItem = MessageItem | NoticeItem;

export interface HistoryQuery {
  /** Return items older than this one; the newest items when absent. */
  before?: ItemId;
  limit: number;
}

export interface HistoryPage {
  /** Oldest first. */
  items: TimelineItem[];
  /** More items exist before the first one. */
  hasMore: boolean;
}

export interface SendText {
  text: string;
  replyTo?: ItemId;
}

/** A security code: the same digits on both sides when no one is in the middle. */
export interface SecurityCode {
  /** Decimal digits, grouped by the UI into blocks of five. */
  digits: string;
  /** What the QR code on the security screen encodes. */
  qrPayload: string;
  verified: boolean;
}

export type NotificationPreview = "name-and-text" | "name-only" | "nothing";

export interface Settings {
  readReceipts: boolean;
  /** Send and show typing indicators (off by default). */
  typingIndicator: boolean;
  notificationPreview: NotificationPreview;
  /** Lock after this many seconds without input; 0 never locks. */
  lockAfterSeconds: number;
  /** Blur chat names, messages and media until hovered or focused. */
  privacyBlur: boolean;
}

export type ConnectionState = "connecting" | "online" | "offline";

export type BackendEvent =
  /** A new item in a chat (incoming message, own message from another tab, notice). */
  | { type: "item-added"; item: TimelineItem }
  /** An item changed: edit, reaction, delete for everyone, receipt. */
  | { type: "item-updated"; item: TimelineItem }
  /** An item is gone from the database (a disappearing message expired). */
  | { type: "item-removed"; chat: ChatId; id: ItemId }
  /** A chat appeared or its summary changed (unread, mute, timer, name, typing). */
  | { type: "chat-updated"; chat: ChatSummary }
  | { type: "chat-removed"; chat: ChatId }
  | { type: "request-received"; request: ContactRequest }
  | { type: "connection"; state: ConnectionState }
  /** The profile was locked (by another tab, or by the core itself). */
  | { type: "locked" }
  /** The profile was exported and stopped here (see `exportArchive`). */
  | { type: "moved" }
  /** Something failed outside any call, e.g. the browser's storage refused a write. */
  | { type: "error"; error: BackendError };

export type BackendErrorKind =
  | "wrong-passphrase"
  | "empty-passphrase"
  | "insecure-relay"
  | "no-profile"
  | "profile-exists"
  | "locked"
  | "invalid-invitation"
  | "invalid-archive"
  | "moved"
  | "in-use"
  | "not-found"
  | "not-connected"
  | "invalid-input"
  | "network"
  | "internal";

/** What the backend throws (rejects with): plain data, safe to show. */
export interface BackendError {
  kind: BackendErrorKind;
  message: string;
}

export function isBackendError(value: unknown): value is BackendError {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { kind?: unknown }).kind === "string" &&
    typeof (value as { message?: unknown }).message === "string"
  );
}

export interface Backend {
  // Profile and its encrypted database.
  profileState(): Promise<ProfileState>;
  createProfile(request: CreateProfile): Promise<void>;
  /**
   * Derives the database key from the passphrase; rejects with `wrong-passphrase`,
   * or `in-use` while another tab of this browser has the profile unlocked
   * (create and import too: one tab at a time runs the profile).
   */
  unlock(passphrase: string): Promise<void>;
  /** Drops every key from memory; the UI must drop its own copies of chat data. */
  lock(): Promise<void>;
  changePassphrase(current: string, next: string): Promise<void>;
  profile(): Promise<Profile>;
  updateProfile(profile: Profile): Promise<void>;
  /**
   * The portable encrypted archive of the whole profile (the format the `sotto`
   * command writes), sealed under the profile's passphrase, which the user
   * types again; rejects with `wrong-passphrase`. The profile is then moved:
   * it stops here (state `moved`, event `moved`) so that two live copies never
   * reuse keys. A moved profile can be exported again.
   */
  exportArchive(passphrase: string): Promise<Uint8Array>;
  /**
   * Replaces this browser's profile (which must not be unlocked) with the
   * archive's, protected by the archive's passphrase; rejects with
   * `invalid-archive` or `wrong-passphrase` and then changes nothing.
   */
  importArchive(archive: Uint8Array, passphrase: string): Promise<void>;

  // Connections.
  createInvitation(): Promise<Invitation>;
  /** Connects with a one-time invitation or a contact address link. */
  connect(link: string): Promise<ChatId>;
  contactAddress(): Promise<ContactAddress | null>;
  createContactAddress(): Promise<ContactAddress>;
  deleteContactAddress(): Promise<void>;
  contactRequests(): Promise<ContactRequest[]>;
  acceptRequest(id: RequestId): Promise<ChatId>;
  /** Leaves nothing behind. */
  rejectRequest(id: RequestId): Promise<void>;

  // Chats and messages.
  chats(): Promise<ChatSummary[]>;
  history(chat: ChatId, query: HistoryQuery): Promise<HistoryPage>;
  sendText(chat: ChatId, message: SendText): Promise<MessageItem>;
  /** Sets the user's reaction on a message; null removes it. */
  react(chat: ChatId, message: ItemId, emoji: string | null): Promise<void>;
  edit(chat: ChatId, message: ItemId, text: string): Promise<void>;
  deleteForEveryone(chat: ChatId, message: ItemId): Promise<void>;
  /** Everything up to and including this item has been seen (sends read receipts if enabled). */
  markRead(chat: ChatId, upTo: ItemId): Promise<void>;
  /** Sent only when the typing indicator setting is on. */
  setTyping(chat: ChatId, typing: boolean): Promise<void>;
  /** Null turns disappearing messages off; both sides apply the timer. */
  setTimer(chat: ChatId, seconds: number | null): Promise<void>;
  setMuted(chat: ChatId, muted: boolean): Promise<void>;
  setChatReadReceipts(chat: ChatId, value: ChatReadReceipts): Promise<void>;

  // Verification.
  securityCode(chat: ChatId): Promise<SecurityCode>;
  setVerified(chat: ChatId, verified: boolean): Promise<void>;

  // Settings, stored encrypted in the profile.
  settings(): Promise<Settings>;
  updateSettings(patch: Partial<Settings>): Promise<Settings>;

  /** Events until the returned function is called. */
  subscribe(listener: (event: BackendEvent) => void): () => void;
}

export const DEFAULT_SETTINGS: Settings = {
  readReceipts: true,
  typingIndicator: false,
  notificationPreview: "name-and-text",
  lockAfterSeconds: 15 * 60,
  privacyBlur: false,
};

/** The timer choices offered in the UI (30 s up to 4 weeks). */
export const TIMER_CHOICES: readonly (number | null)[] = [
  null,
  30,
  5 * 60,
  60 * 60,
  8 * 60 * 60,
  24 * 60 * 60,
  7 * 24 * 60 * 60,
  28 * 24 * 60 * 60,
];
