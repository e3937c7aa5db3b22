// What the UI needs from the client core. The wasm bridge (`crates/sotto-wasm`)
// implements this interface over the Rust core; the unit tests use the
// in-memory `fake-backend.ts`. Everything crossing it is plain data (strings,
// numbers, booleans, arrays, plain objects, Uint8Array) so that the bridge is
// glue only: no classes, no callbacks other than the event listener.
//
// Chats, items, requests and events are the core's own views, as they
// serialize (snake_case). Times are milliseconds since the Unix epoch;
// durations are seconds.

/**
 * The core's local ids: small integers the core assigns (`ChatId`,
 * `MessageNumber`, `RequestId`, `InvitationId` in `crates/sotto-core/src/ids.rs`).
 */
export type ChatId = number;
/** An item's position in its chat; unique within the chat. */
export type MessageNumber = number;
/** A pending contact request received on the contact address. */
export type RequestId = number;
/** A one-time invitation this profile created. */
export type InvitationId = number;
/** Milliseconds since the Unix epoch. */
export type UnixMillis = number;

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
  /** The core's id, which `invitation_used` names when someone joins with it. */
  id: InvitationId;
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

// The core's views and events, exactly as they serialize (serde, snake_case;
// `crates/sotto-core/src/view.rs` and `event.rs`): the bridge hands them over
// as JSON. `test/view-samples.ts`, written by a test in `crates/sotto-wasm`,
// holds one of each and is type-checked against these types.

/** Where the connection with a chat's peer stands. */
export type ConnectionState =
  | "joining"
  | "awaiting_confirmation"
  | "accepting"
  | "connected"
  /** No working connection (the last one failed); the chat and its history stay. */
  | "disconnected";

/** Read receipts in one chat; `default` follows the global setting. */
export type ReceiptSetting = "default" | "on" | "off";

/** Who wrote an item: the peer, this user, or neither (a notice). */
export type MessageDirection = "incoming" | "outgoing" | "notice";

/**
 * Delivery state. Outgoing: pending, sent, delivered (the peer's device has
 * it), read, failed. Incoming: delivered (not read yet) or read.
 */
export type MessageStatus = "pending" | "sent" | "delivered" | "read" | "failed";

/** A chat as the chat list and the chat header show it. */
export interface ChatView {
  id: ChatId;
  /** The peer's display name; null until their profile arrived. */
  name: string | null;
  bio: string | null;
  state: ConnectionState;
  /** The security code was compared and marked verified (and keys have not changed since). */
  verified: boolean;
  unread: number;
  /** Disappearing-message timer in seconds, or null when off. */
  timer_secs: number | null;
  read_receipts: ReceiptSetting;
  /** When something last happened in the chat. */
  last_activity: UnixMillis;
  /** The newest item, for the chat list's preview. */
  last_item: ItemView | null;
  /** The name the user gave the peer on this device, shown instead of `name`. */
  alias: string | null;
  /** Shown before the other chats. */
  pinned: boolean;
  /** Kept out of the main chat list. */
  archived: boolean;
  /** The peer is blocked: its connection ended and nothing more arrives. */
  blocked: boolean;
  /** No notifications until then; null when not muted; 2^53 or more means always. */
  muted_until: UnixMillis | null;
  /** A group's member count (this user included); null for a direct chat. */
  members: number | null;
  /** Media may not be saved out of the chat (either side sets it, for both). */
  block_saving: boolean;
  /** Automatic downloads in this chat, on this device. */
  auto_download: AutoDownloadSetting;
}

/** Automatic downloads in one chat: as the settings' size limit, every file, or none. */
export type AutoDownloadSetting = "default" | "on" | "off";

export interface Reaction {
  /** This user reacted (else the peer, or a group's member). */
  mine: boolean;
  emoji: string;
  /** In a group, the member who reacted (their id, hex), when not this user. */
  member?: string;
}

/** The member of a group who wrote an item. */
export interface SenderView {
  /** The member's id in the group (hex). */
  id: string;
  /** The member's name in the group. */
  name: string;
}

/** The receipts on one of this user's messages in a group. */
export interface GroupReceiptsView {
  /** The group's other members now. */
  members: number;
  /** Members whose device has it (read ones included). */
  delivered: number;
  /** Members who read it. */
  read: number;
  by: { id: string; name: string; status: "delivered" | "read" }[];
}

/** The message a reply quotes. */
export interface QuotedView {
  number: MessageNumber;
  direction: MessageDirection;
  /** Empty when deleted. */
  text: string;
  deleted: boolean;
}

/** Something the chat shows between messages. */
export type NoticeView =
  /** The relay dropped messages `first` to `last` (the peer's sequence numbers). */
  | { type: "skipped"; first: number; last: number }
  | { type: "out_of_order"; seq: number }
  | { type: "duplicate"; seq: number }
  | { type: "broken_chain"; seq: number }
  | { type: "replayed" }
  /** A group's log held an entry that is no message of the group (skipped). */
  | { type: "unreadable" }
  /** A change to a group is missing from its log: messages after it cannot be read. */
  | { type: "missing_change" }
  /** The disappearing-message timer changed (`seconds` null: off). */
  | { type: "timer_changed"; by_me: boolean; seconds: number | null }
  /** Saving and exporting the chat's media was blocked or allowed again (for both sides). */
  | { type: "media_privacy_changed"; by_me: boolean; block_saving: boolean }
  | { type: "connected" }
  /** The peer's keys changed: the security code must be compared again. */
  | { type: "keys_changed" }
  /** An owner (or the user) deleted the group for everyone: nothing more is written to it. */
  | { type: "group_deleted"; by_me: boolean }
  /** The group's relay no longer lets the user read it: deleted, or removed while away. */
  | { type: "group_log_gone" };

interface ItemFields {
  chat: ChatId;
  number: MessageNumber;
  direction: MessageDirection;
  /** The author's sequence number (0 for notices). */
  seq: number;
  /** When the author sent it (the author's clock). */
  sent_at: UnixMillis;
  /** When this device created or received it. */
  at: UnixMillis;
  status: MessageStatus;
  /** The message it replies to, if that is still in the history. */
  reply_to: MessageNumber | null;
  quoted: QuotedView | null;
  edited: boolean;
  /** Deleted for everyone (the text is then empty). */
  deleted: boolean;
  reactions: Reaction[];
  /** When a disappearing message will be removed, or null. */
  expires_at: UnixMillis | null;
  /** A file the message carries (then `text` reads as a line naming it, for previews). */
  file: FileView | null;
  /** In a group, the member who wrote an incoming item. */
  sender?: SenderView | null;
  /** In a group, the message mentions this user. */
  mentions_me?: boolean;
  /** In a group, on this user's own message: each member's receipt. */
  receipts?: GroupReceiptsView | null;
}

/** A file in a message, as the core describes it. */
export interface FileView {
  name: string;
  /** Its length in bytes. */
  size: number;
  media_type: string;
  state: "uploading" | "sent" | "available" | "downloading" | "received" | "failed";
  /** Why it failed, for `failed`. */
  failure: string | null;
  /** A small preview image (standard base64) the message carries, shown before the file is here. */
  preview: string | null;
  /** A voice message's length in milliseconds. */
  duration_ms: number | null;
  /** A voice message's loudness (0..255) in equal slices of its length; empty for none. */
  waveform: number[];
}

/** What a file message shows before the file is downloaded (`sendFile`). */
export interface SendMedia {
  /** A small image (JPEG, PNG or WebP) of at most 8192 bytes. */
  preview?: Uint8Array;
  /** A voice message's length in milliseconds. */
  durationMs?: number;
  /** A voice message's loudness (0..255), at most 64 samples. */
  waveform?: Uint8Array;
}

/** A message: `text` set, `notice` null. */
export interface MessageItem extends ItemFields {
  text: string;
  notice: null;
}

/** A notice: `notice` set, `text` null. */
export interface NoticeItem extends ItemFields {
  text: null;
  notice: NoticeView;
}

/**
 * A file message as the core sends it: neither `text` nor `notice`. The bridge
 * turns it into a MessageItem whose text names the file (`cleanItem`) and
 * whose `file` the timeline shows.
 */
export interface FileItem extends ItemFields {
  text: null;
  notice: null;
  file: FileView;
}

/** One message or notice of a chat (the core sets exactly one of `text` and `notice`). */
export type ItemView = MessageItem | NoticeItem;

/** A message found by `search`: the chat's shown name and the message itself. */
export interface SearchHit {
  chat_name: string;
  item: MessageItem;
}

/** A contact request waiting for a decision. */
export interface RequestView {
  id: RequestId;
  /** The display name the requester sent, end to end. */
  name: string;
  bio: string | null;
  received_at: UnixMillis;
}

/** What the core tells the UI, the user's own actions included (`Event`, tagged by `type`). */
export type CoreEvent =
  | { type: "invitation_ready"; invitation: InvitationId; link: string }
  | { type: "address_ready"; link: string }
  | { type: "request_received"; request: RequestView }
  /** Requests were dropped: as many wait as are kept; decide or replace the address. */
  | { type: "address_flooded"; waiting: number }
  /** A short link could not be used (used, withdrawn, expired): no chat was made for `chat`. */
  | { type: "join_failed"; chat: ChatId; reason: string; existing: ChatId | null }
  /** The link was of someone whose chat never connected: `existing` connects again, `chat` is unused. */
  | { type: "joined_existing"; chat: ChatId; existing: ChatId }
  | { type: "contact_connected"; chat: ChatView }
  /** The invitation was withdrawn or used already: this chat will not connect. */
  | { type: "connection_failed"; chat: ChatView }
  | { type: "chat_changed"; chat: ChatView }
  | { type: "chat_removed"; chat: ChatId }
  /** Every item of the chat was deleted on this device. */
  | { type: "history_cleared"; chat: ChatId }
  /** `unread`: the chat's unread count after the item. */
  | { type: "item_added"; item: ItemView; unread: number }
  /** Its status, an edit, a reaction, a deletion for everyone. */
  | { type: "item_changed"; item: ItemView }
  /** A disappearing-message timer ran out. */
  | { type: "items_removed"; chat: ChatId; numbers: MessageNumber[] }
  | { type: "typing"; chat: ChatId; typing: boolean }
  /** A contact's group invitation waits for a decision: "who can add me to groups" is "nobody". */
  | { type: "group_invitation"; invitation: GroupInvitationId; contact: ChatId; name: string }
  /** This profile joined a group (its chat comes with `chat_changed`). */
  | { type: "group_joined"; group: ChatId; name: string }
  /** A group commit waits to be appended to its log (the bridge appends it). */
  | { type: "group_commit_ready"; group: ChatId }
  /** A request to join through a group link this device made waits for an admin's decision. */
  | { type: "group_join_requested"; request: GroupJoinRequestView }
  /** A join through a group link ended without joining: declined, or the link deleted or replaced. */
  | { type: "group_join_refused"; join: GroupLinkJoinId; name: string; reason: string }
  /** A file's chunks moved: `done` of `total` bytes. */
  | { type: "file_progress"; chat: ChatId; number: MessageNumber; done: number; total: number }
  /** A relay sent something that does not open; safe to log. */
  | { type: "relay_fault"; relay: string; reason: string };

/** Whether the bridge reaches the relays. */
export type LinkState = "online" | "offline";

/** What the wasm bridge itself reports (`crates/sotto-wasm/src/bridge_event.rs`). */
export type BridgeEvent =
  | { type: "connection"; state: LinkState }
  /** The browser's storage refused a write; the bridge retries. */
  | { type: "storage_failed"; message: string }
  /** The profile was exported and stopped here (see `exportArchive`). */
  | { type: "moved" }
  /** While locked, a delivery arrived and was kept, unread, for the next unlock; `count` are kept now. */
  | { type: "held"; count: number }
  /** A group's name, description or picture changed: read its picture again (`groups`). */
  | { type: "group_profile_changed"; group: ChatId };

export interface HistoryQuery {
  /** Return items older than this one; the newest items when absent. */
  before?: MessageNumber;
  limit: number;
}

export interface HistoryPage {
  /** Oldest first. */
  items: ItemView[];
  /** More items exist before the first one. */
  hasMore: boolean;
}

export interface SendText {
  text: string;
  replyTo?: MessageNumber;
  /** In a group, the members the text mentions (their ids, hex). */
  mentions?: string[];
}

/** A held group invitation ("who can add me to groups" is "nobody"). */
export type GroupInvitationId = number;

/** A member's role in a group. */
export type GroupRole = "owner" | "admin" | "member";

/** A group as the group list shows it (`GroupView`). */
export interface GroupView {
  /** The group's chat. */
  id: ChatId;
  /** The group's own name, as an owner or admin set it. */
  name: string;
  /** What the group is about (empty for none). */
  description: string;
  /** A small picture (standard base64), or null. */
  picture: string | null;
  /** Members, this user included. */
  members: number;
  /** This user is still a member. */
  active: boolean;
  /** This user's role. */
  role: GroupRole;
}

/** One member of a group (`GroupMemberView`). */
export interface GroupMemberView {
  /** The member's id in this group (hex; it names no one outside it). */
  id: string;
  /** The name the member shows in this group. */
  name: string;
  /** The picture the member shows in this group (standard base64, at most 2048 bytes), or null. */
  picture: string | null;
  role: GroupRole;
  /** This member is this user. */
  me: boolean;
  /** This user blocked the member: their messages are hidden, on this device only. */
  blocked: boolean;
}

/** What `setGroupSelf` changes; a part left out stays as it is. */
export interface GroupSelfChange {
  name?: string;
  /** A small image of at most 2048 bytes; null: no picture. */
  picture?: Uint8Array | null;
}

/** A group's link as this device made it (`GroupLinkView`). */
export interface GroupLinkView {
  group: ChatId;
  /** `https://<relay>/group#<payload>`; null until the relay made the link's queue. */
  link: string | null;
  /** Requests join without an admin's approval. */
  automatic: boolean;
}

/** A request to join a group through its link. */
export type GroupJoinRequestId = number;

/** A request to join through a group's link, under the requester's pseudonym (`GroupJoinRequestView`). */
export interface GroupJoinRequestView {
  id: GroupJoinRequestId;
  group: ChatId;
  /** The requester's member id in the group (hex). */
  member: string;
  /** The name the requester shows in the group. */
  name: string;
  received_at: UnixMillis;
  /** Approved already: their add waits for the group's log. */
  approved: boolean;
}

/** This user's request to join a group through its link. */
export type GroupLinkJoinId = number;

/** A join through a group link waiting for an admin's answer (`GroupLinkJoinView`). */
export interface GroupLinkJoinView {
  id: GroupLinkJoinId;
  /** The group's name as its link gives it. */
  name: string;
  /** The request reached the link's relay (else the reply queue is being made). */
  requested: boolean;
  created_at: UnixMillis;
}

/** A contact's invitation into a group, waiting for a decision (`GroupInvitationView`). */
export interface GroupInvitationView {
  id: GroupInvitationId;
  /** The chat of the contact who invites. */
  contact: ChatId;
  /** The group's name as the contact gave it. */
  name: string;
  received_at: UnixMillis;
}

/** The security code this user and one member of a group compare (different in every group). */
export interface MemberSecurityCode {
  digits: string;
  qrPayload: string;
}

/** Who can add this user to groups: contacts directly, or nobody (every invitation waits). */
export type GroupAdds = "contacts" | "nobody";

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
  /** A short sound with each notification. */
  notificationSound: boolean;
  /** Lock after this many seconds without input; 0 never locks. */
  lockAfterSeconds: number;
  /** Blur chat names, messages and media until hovered or focused. */
  privacyBlur: boolean;
  /** Chats that notify nobody and count for nothing in the title. */
  muted: ChatId[];
  /** Files up to this many bytes download as they arrive; null: none does. */
  autoDownloadLimit: number | null;
  /** Who can add this user to groups. */
  groupAdds: GroupAdds;
}

/** Receives a file's plaintext in order, a piece at a time (`readFile`). */
export type FileSink = (bytes: Uint8Array) => void | Promise<void>;

/** What the UI hears: the core's events as they are, and what the bridge adds. */
export type BackendEvent =
  | CoreEvent
  | { type: "connection"; state: LinkState }
  /** The profile was locked (by another tab, or by the core itself). */
  | { type: "locked" }
  | { type: "moved" }
  /** While locked, a delivery arrived and was kept, unread, for the next unlock; `count` are kept now. */
  | { type: "held"; count: number }
  /** A group's name, description or picture changed: read its picture again (`groups`). */
  | { type: "group_profile_changed"; group: ChatId }
  /** Something failed outside any call, e.g. the browser's storage refused a write. */
  | { type: "error"; error: BackendError }
  /**
   * Someone joined with an invitation that `createInvitation` handed out: `chat`
   * is the new chat (its `contact_connected` came just before).
   */
  | { type: "invitation_used"; invitation: InvitationId; chat: ChatId };

export type BackendErrorKind =
  | "wrong-passphrase"
  | "empty-passphrase"
  | "insecure-relay"
  | "no-profile"
  | "profile-exists"
  | "locked"
  | "invalid-invitation"
  /** A link that parsed but cannot be used: used, withdrawn, expired, or this profile's own. */
  | "link-refused"
  | "invalid-archive"
  | "moved"
  | "in-use"
  | "not-found"
  /** The chat blocks saving its media out of the profile (`setBlockSaving`). */
  | "saving-blocked"
  | "not-connected"
  | "invalid-input"
  | "network"
  | "internal";

/** What the backend throws (rejects with): plain data, safe to show. */
export interface BackendError {
  kind: BackendErrorKind;
  message: string;
  /** `link-refused` for a link of someone the user already has this chat with. */
  existing?: ChatId | null;
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
  /**
   * Drops every key from memory; the UI must drop its own copies of chat data.
   * Receiving goes on: each delivery is kept sealed, unread, until the next
   * unlock, and announced with a `held` event that says only how many wait.
   */
  lock(): Promise<void>;
  /** How many deliveries wait, unread, for the next unlock (some may date from a tab closed while locked). */
  heldCount(): Promise<number>;
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
  /**
   * Connects with a one-time invitation or a contact address link. The chat
   * id comes at once; with a short link the chat itself only exists once the
   * link's relay returned the invitation (`chat_changed` for that id), or
   * never (`join_failed` for that id, with the reason). See `join.ts`.
   */
  connect(link: string): Promise<ChatId>;
  contactAddress(): Promise<ContactAddress | null>;
  createContactAddress(): Promise<ContactAddress>;
  deleteContactAddress(): Promise<void>;
  requests(): Promise<RequestView[]>;
  acceptRequest(id: RequestId): Promise<ChatId>;
  /** Leaves nothing behind. */
  rejectRequest(id: RequestId): Promise<void>;

  // Chats and messages.
  /** Most recently active first. */
  chats(): Promise<ChatView[]>;
  history(chat: ChatId, query: HistoryQuery): Promise<HistoryPage>;
  /** The new message's number; the message itself comes as `item_added`. */
  sendText(chat: ChatId, message: SendText): Promise<MessageNumber>;
  /** Sets the user's reaction on a message; null removes it. */
  react(chat: ChatId, message: MessageNumber, emoji: string | null): Promise<void>;
  edit(chat: ChatId, message: MessageNumber, text: string): Promise<void>;
  deleteForEveryone(chat: ChatId, message: MessageNumber): Promise<void>;
  /** Everything up to and including this item has been seen (sends read receipts if enabled). */
  markRead(chat: ChatId, upTo: MessageNumber): Promise<void>;
  /** Sent only when the typing indicator setting is on. */
  setTyping(chat: ChatId, typing: boolean): Promise<void>;
  /** Null turns disappearing messages off; both sides apply the timer. */
  setTimer(chat: ChatId, seconds: number | null): Promise<void>;
  setChatReadReceipts(chat: ChatId, value: ReceiptSetting): Promise<void>;
  /** Automatic downloads in one chat, on this device only. */
  setChatAutoDownload(chat: ChatId, value: AutoDownloadSetting): Promise<void>;
  /** Blocks (or allows again) saving the chat's media, for both sides; the peer is told. */
  setBlockSaving(chat: ChatId, block: boolean): Promise<void>;

  // Managing chats on this device: each change comes back as `chat_changed`,
  // `history_cleared`, `chat_removed` or `items_removed`.
  /** Pinned chats are listed first. */
  setPinned(chat: ChatId, pinned: boolean): Promise<void>;
  /** Archived chats stay in `chats()`, marked, and the UI lists them apart. */
  setArchived(chat: ChatId, archived: boolean): Promise<void>;
  /** A name for the peer on this device only; an empty one removes it. */
  setAlias(chat: ChatId, alias: string): Promise<void>;
  /** No notifications until `until` (ms; `MUTED_ALWAYS` or more: always); null unmutes. */
  setMuted(chat: ChatId, until: UnixMillis | null): Promise<void>;
  /** Deletes every item of the chat on this device (`history_cleared`). */
  clearHistory(chat: ChatId): Promise<void>;
  /** Ends the connection (its queue is deleted) and drops whatever they send; they are told nothing. */
  block(chat: ChatId): Promise<void>;
  /** Lifts a block; talking again needs a new link. */
  unblock(chat: ChatId): Promise<void>;
  /** Deletes the chat, its history and its connection on this device (`chat_removed`). */
  deleteChat(chat: ChatId): Promise<void>;
  /**
   * Connects an existing chat's peer again with a new link of theirs (a
   * `join_failed` named the chat as `existing`): the chat and its history are
   * kept; it connects (`chat_changed`) or `join_failed` says why not.
   */
  reconnect(chat: ChatId, link: string): Promise<void>;
  /** Deletes one item on this device only (`items_removed`). */
  deleteForMe(chat: ChatId, item: MessageNumber): Promise<void>;
  /**
   * The newest `limit` messages of every chat whose text contains `query`
   * in any case (accents count), newest first. Rejects with `invalid-input`
   * for an empty query or one over 256 bytes.
   */
  search(query: string, limit: number): Promise<SearchHit[]>;

  // Files: each transfer's progress comes as `file_progress`, its end as the
  // item's `item_changed` (state `sent`, `received` or `failed`).
  /**
   * Sends `file` (read a slice at a time, never whole) as `name` of type
   * `mediaType`, with an image's preview or a voice message's duration and
   * waveform: it is encrypted into the profile, its item comes at once
   * (`uploading`), and the message goes once the file is on the relay.
   * Rejects with `invalid-input` for a file too large or unreadable.
   */
  sendFile(chat: ChatId, file: Blob, name: string, mediaType: string, media?: SendMedia): Promise<MessageNumber>;
  /** Downloads a file offered (or resumes its download, or tries again after a failure). */
  downloadFile(chat: ChatId, number: MessageNumber): Promise<void>;
  /** Cancels a file's upload or download: it fails as cancelled. */
  cancelFile(chat: ChatId, number: MessageNumber): Promise<void>;
  /**
   * Decrypts a received file (or one sent from here) into `sink`, in order;
   * `save`: the bytes leave the profile for a file the user chose, which a
   * chat that blocks saving refuses (`saving-blocked`); showing them in the
   * page is always allowed. Rejects with `not-found` when the file is not
   * here, `invalid-input` when it does not decrypt.
   */
  readFile(chat: ChatId, number: MessageNumber, sink: FileSink, save: boolean): Promise<void>;

  // Groups: a group is a chat (`members` set in its ChatView), and its
  // messages go through the chat calls above (files aside). Changes come as
  // the core's events: `chat_changed`, `item_added`, `group_joined`.
  /**
   * Creates a group named `name` with this user as its owner (its log on the
   * home relay) and invites `contacts` into it; resolves with its chat.
   * Rejects with `network` when the relay cannot be reached.
   */
  createGroup(name: string, contacts: ChatId[]): Promise<ChatId>;
  groups(): Promise<GroupView[]>;
  /** Invites a contact: they join once their device answered (over your chat with them). */
  inviteToGroup(group: ChatId, contact: ChatId): Promise<void>;
  groupMembers(group: ChatId): Promise<GroupMemberView[]>;
  groupSecurityCode(group: ChatId, member: string): Promise<MemberSecurityCode>;
  /** Owners and admins may; in effect once the group's log has it. */
  setGroupRole(group: ChatId, member: string, role: GroupRole): Promise<void>;
  /** A new name, description and picture (null: none) for the group: owners and admins; every member sees it. */
  setGroupProfile(group: ChatId, name: string, description: string, picture: Uint8Array | null): Promise<void>;
  /**
   * The name and picture this user shows in the group (any member; every member sees them once the group's log has
   * the change): a part left out stays as it is; picture null: none.
   */
  setGroupSelf(group: ChatId, change: GroupSelfChange): Promise<void>;
  removeGroupMember(group: ChatId, member: string): Promise<void>;
  /** Out once an admin's device commits it. */
  leaveGroup(group: ChatId): Promise<void>;
  /** Owners: deletes the group for everyone (each member's copy ends as it reads the deletion), then its log on the relay. */
  deleteGroup(group: ChatId): Promise<void>;
  groupInvitations(): Promise<GroupInvitationView[]>;
  acceptGroupInvitation(id: GroupInvitationId): Promise<void>;
  declineGroupInvitation(id: GroupInvitationId): Promise<void>;
  /** Hides (or shows again) a member's messages, on this device only; no one is told. */
  blockGroupMember(group: ChatId, member: string, blocked: boolean): Promise<void>;

  // Group links: an owner's or admin's device makes the link (its queue on
  // the home relay) and alone receives and decides the requests.
  /** The link this device made for the group, or null. */
  groupLink(group: ChatId): Promise<GroupLinkView | null>;
  /**
   * Makes the group's link, or replaces it (the old one stops working);
   * resolves once the relay made its queue. Rejects with `network` when it
   * does not answer.
   */
  createGroupLink(group: ChatId, automatic: boolean): Promise<GroupLinkView>;
  /** Requests through the deleted link are refused by its relay. */
  deleteGroupLink(group: ChatId): Promise<void>;
  setGroupLinkApproval(group: ChatId, automatic: boolean): Promise<void>;
  /** Oldest first; each new one comes as `group_join_requested`. */
  groupJoinRequests(group: ChatId): Promise<GroupJoinRequestView[]>;
  /** Their add goes to the group's log; they join with the welcome that follows. */
  approveGroupJoin(request: GroupJoinRequestId): Promise<void>;
  /** They are told; nothing of the request is kept. */
  declineGroupJoin(request: GroupJoinRequestId): Promise<void>;
  /** The group's name as its link gives it; rejects with `invalid-invitation` for a link that is none. */
  groupLinkName(link: string): Promise<string>;
  /**
   * Asks to join a group with its link (`/group#…`), showing `name` in it
   * (the profile's name when empty) and `picture` (a small image of at most
   * 2048 bytes; none when left out). The group comes with `group_joined`
   * once an admin lets this user in, or `group_join_refused` names the join.
   * Rejects with `invalid-invitation` for a link that is none.
   */
  joinGroupByLink(link: string, name: string, picture?: Uint8Array): Promise<GroupLinkJoinId>;
  /** Joins through links waiting for an answer. */
  groupLinkJoins(): Promise<GroupLinkJoinView[]>;
  /** Gives up a join: a later welcome is never read. */
  cancelGroupLinkJoin(join: GroupLinkJoinId): Promise<void>;

  // Verification.
  securityCode(chat: ChatId): Promise<SecurityCode>;
  /**
   * Whether the text of a QR code scanned from the contact's screen shows
   * this chat's security code (the core compares; anything else is no match).
   */
  securityCodeMatches(chat: ChatId, scanned: string): Promise<boolean>;
  setVerified(chat: ChatId, verified: boolean): Promise<void>;

  // Settings (mute included), stored encrypted in the profile.
  settings(): Promise<Settings>;
  updateSettings(patch: Partial<Settings>): Promise<Settings>;

  /**
   * Events until the returned function is called. Every change, the user's
   * own included, comes as an event carrying the views it changed. A new
   * listener first hears the relay link's state, when there is one already.
   */
  subscribe(listener: (event: BackendEvent) => void): () => void;
}

export const DEFAULT_SETTINGS: Settings = {
  readReceipts: true,
  typingIndicator: false,
  notificationPreview: "name-and-text",
  notificationSound: false,
  lockAfterSeconds: 15 * 60,
  privacyBlur: false,
  muted: [],
  autoDownloadLimit: null,
  groupAdds: "contacts",
};

/** `muted_until` at or past this (2^53 ms) means muted for good. */
export const MUTED_ALWAYS = 2 ** 53;

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
