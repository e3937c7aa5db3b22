// An in-memory Backend for unit tests and the development preview page only.
// The production build refuses to bundle this file (see vite.config.ts).
// It keeps no secrets and encrypts nothing: it imitates the core's behaviour
// (states, errors, events) so that UI flows can be tested without wasm.

import {
  DEFAULT_SETTINGS,
  type Backend,
  type AutoDownloadSetting,
  type BackendError,
  type FileSink,
  type SendMedia,
  type BackendErrorKind,
  type BackendEvent,
  type ChatId,
  type ChatView,
  type ContactAddress,
  type CreateProfile,
  type GroupInvitationView,
  type GroupJoinRequestView,
  type GroupLinkJoinView,
  type GroupLinkView,
  type GroupMemberView,
  type GroupRole,
  type GroupSelfChange,
  type GroupView,
  type MemberSecurityCode,
  type HistoryPage,
  type HistoryQuery,
  type Invitation,
  type InvitationId,
  type ItemView,
  type MessageDirection,
  type MessageItem,
  type MessageNumber,
  type NoticeItem,
  type NoticeView,
  type Profile,
  type ProfileState,
  type ReceiptSetting,
  type RequestId,
  type RequestView,
  type SearchHit,
  type SecurityCode,
  type SendText,
  type Settings,
} from "./backend";
import { MAX_MEMBER_PICTURE_BYTES } from "./group-pictures";

/** A chat as the fake keeps it: what its view shows, and its items. */
interface FakeChat {
  id: ChatId;
  name: string;
  items: ItemView[];
  unread: number;
  timer_secs: number | null;
  verified: boolean;
  read_receipts: ReceiptSetting;
  last_activity: number;
  keyGeneration: number;
  alias: string | null;
  pinned: boolean;
  archived: boolean;
  blocked: boolean;
  muted_until: number | null;
  block_saving: boolean;
  auto_download: AutoDownloadSetting;
  /** A group's members (this user among them) while it is a group's chat. */
  group: {
    members: GroupMemberView[];
    active: boolean;
    link: GroupLinkView | null;
    requests: GroupJoinRequestView[];
    description: string;
    /** Base64, as the core gives it. */
    picture: string | null;
  } | null;
}

interface FakeProfile {
  passphrase: string;
  profile: Profile;
  settings: Settings;
  chats: Map<ChatId, FakeChat>;
  requests: RequestView[];
  address: ContactAddress | null;
  groupInvitations: GroupInvitationView[];
  linkJoins: GroupLinkJoinView[];
}

/** In any case, as the core's search compares text (accents count). */
function fold(text: string): string {
  return text.toLowerCase();
}

function fail(kind: BackendErrorKind, message: string): BackendError {
  return { kind, message };
}

const ORIGIN = "https://relay.example";

function emptyChat(id: ChatId, name: string, lastActivity: number): FakeChat {
  return {
    id,
    name,
    items: [],
    unread: 0,
    timer_secs: null,
    verified: false,
    read_receipts: "default",
    last_activity: lastActivity,
    keyGeneration: 0,
    alias: null,
    pinned: false,
    archived: false,
    blocked: false,
    muted_until: null,
    block_saving: false,
    auto_download: "default",
    group: null,
  };
}

/** A file view's media fields when it has none. */
function noMedia(): { preview: null; duration_ms: null; waveform: number[] } {
  return { preview: null, duration_ms: null, waveform: [] };
}

/** A member id as the core shows one (32 hex digits). */
function memberId(index: number): string {
  return index.toString(16).padStart(32, "0");
}

export class FakeBackend implements Backend {
  /** The clock; tests replace it. */
  now: () => number = () => Date.now();
  private stored: FakeProfile | null = null;
  private moved = false;
  private unlocked = false;
  private listeners = new Set<(event: BackendEvent) => void>();
  private nextId = 1;
  /** Every call, by method name, for assertions. */
  readonly calls: { method: string; args: unknown[] }[] = [];
  /** Links the "relay" refuses, with the reason `join_failed` gives. */
  readonly refusedLinks = new Map<string, string>();
  /** Links the "relay" refuses as those of a contact the user has already: the chat. */
  readonly linksOfContacts = new Map<string, ChatId>();
  /** While true, joins wait for `finishJoins` (the relay has not answered yet). */
  holdJoins = false;
  private heldJoins: { chat: ChatId; link: string }[] = [];
  /** Invitations handed out and not used yet. */
  private invitations = new Set<InvitationId>();
  /** What arrived while locked, in arrival order. */
  private held: { chat: ChatId; text: string }[] = [];
  /** The files in this "profile", by chat and item. */
  private files = new Map<string, Blob>();

  // Test helpers -------------------------------------------------------------

  /** A profile that exists and is unlocked with `passphrase`. */
  static withProfile(passphrase = "correct horse", displayName = "Alice"): FakeBackend {
    const backend = new FakeBackend();
    backend.stored = {
      passphrase,
      profile: { displayName, bio: "" },
      settings: { ...DEFAULT_SETTINGS },
      chats: new Map(),
      requests: [],
      address: null,
      groupInvitations: [],
      linkJoins: [],
    };
    backend.unlocked = true;
    return backend;
  }

  /** Adds a chat with `messages` alternating messages, oldest first, one minute apart. */
  addChat(name: string, messages = 0, start = this.now() - messages * 60_000): ChatId {
    const profile = this.requireProfile();
    const id = this.nextId++;
    const chat = emptyChat(id, name, messages > 0 ? start + (messages - 1) * 60_000 : start);
    for (let index = 0; index < messages; index += 1) {
      const direction = index % 2 === 0 ? "incoming" : "outgoing";
      const text =
        index % 7 === 3
          ? `Message ${index}: a longer one that wraps over several lines to exercise the variable row heights of the virtual list, with a little more text.`
          : `Message ${index}`;
      chat.items.push(this.message(chat, direction, text, start + index * 60_000));
    }
    profile.chats.set(id, chat);
    return id;
  }

  /**
   * Simulates a message arriving while locked: kept, unread, and counted
   * (a `held` event), then received on the next unlock.
   */
  receiveWhileLocked(chat: ChatId, text: string): void {
    if (this.unlocked) throw new Error("receiveWhileLocked needs a locked profile");
    this.held.push({ chat, text });
    this.emit({ type: "held", count: this.held.length });
  }

  /** Simulates an incoming message from the contact. */
  receive(chat: ChatId, text: string, replyTo?: MessageNumber): MessageItem {
    const target = this.requireChat(chat);
    const item = this.message(target, "incoming", text, this.now());
    item.status = "delivered";
    if (replyTo !== undefined) this.reply(target, item, replyTo);
    this.add(target, item);
    target.unread += 1;
    this.emit({ type: "item_added", item: structuredClone(item), unread: target.unread });
    return structuredClone(item);
  }

  /** Simulates a notice the core would add (integrity problem, key change). */
  notice(chat: ChatId, notice: NoticeView): NoticeItem {
    const target = this.requireChat(chat);
    const item: NoticeItem = {
      ...this.message(target, "notice", "", this.now()),
      text: null,
      notice,
      status: "read",
    };
    this.add(target, item);
    this.emit({ type: "item_added", item: structuredClone(item), unread: target.unread });
    if (notice.type === "keys_changed") {
      target.verified = false;
      target.keyGeneration += 1;
      this.emitChat(target);
    }
    return structuredClone(item);
  }

  /** Simulates a receipt from the contact. */
  receipt(chat: ChatId, number: MessageNumber, status: "delivered" | "read"): void {
    const item = this.requireMessage(this.requireChat(chat), number);
    item.status = status;
    this.emit({ type: "item_changed", item: structuredClone(item) });
  }

  request(name: string): RequestView {
    const request: RequestView = { id: this.nextId++, name, bio: null, received_at: this.now() };
    this.requireProfile().requests.push(request);
    this.emit({ type: "request_received", request: { ...request } });
    return request;
  }

  setTypingFromContact(chat: ChatId, typing: boolean): void {
    this.requireChat(chat);
    this.emit({ type: "typing", chat, typing });
  }

  /** The relay answers the joins held by `holdJoins`. */
  finishJoins(): void {
    const held = this.heldJoins;
    this.heldJoins = [];
    for (const { chat, link } of held) this.join(chat, link);
  }

  /** Simulates someone joining with an invitation this profile handed out. */
  answerInvitation(invitation: InvitationId, name: string): ChatId {
    if (!this.invitations.delete(invitation)) throw fail("not-found", "No such invitation.");
    const id = this.addChat(name);
    const chat = this.requireChat(id);
    this.emitChat(chat);
    this.notice(id, { type: "connected" });
    this.emit({ type: "contact_connected", chat: this.view(chat) });
    this.emit({ type: "invitation_used", invitation, chat: id });
    return id;
  }

  /** Adds a group named `name` with this user (its owner) and members named `others`. */
  addGroup(name: string, others: string[]): ChatId {
    const id = this.addChat(name);
    const chat = this.requireChat(id);
    chat.group = {
      description: "",
      picture: null,
      active: true,
      members: [
        {
          id: memberId(0),
          name: this.requireProfile().profile.displayName,
          picture: null,
          role: "owner",
          me: true,
          blocked: false,
        },
        ...others.map((other, index) => ({
          id: memberId(index + 1),
          name: other,
          picture: null,
          role: "member" as GroupRole,
          me: false,
          blocked: false,
        })),
      ],
      link: null,
      requests: [],
    };
    return id;
  }

  /** Simulates a member's message in a group (by member name). */
  receiveInGroup(chat: ChatId, member: string, text: string, mentionsMe = false): MessageItem {
    const target = this.requireChat(chat);
    const sender = target.group?.members.find((candidate) => candidate.name === member);
    if (!sender) throw fail("not-found", "No such member.");
    // The core drops a blocked member's messages as they arrive.
    if (sender.blocked) return this.message(target, "incoming", text, this.now());
    const item = this.message(target, "incoming", text, this.now());
    item.status = "delivered";
    item.sender = { id: sender.id, name: sender.name };
    item.mentions_me = mentionsMe;
    this.add(target, item);
    target.unread += 1;
    this.emit({ type: "item_added", item: structuredClone(item), unread: target.unread });
    return structuredClone(item);
  }

  /** Simulates a contact's group invitation held for a decision. */
  groupInvitation(contact: ChatId, name: string): GroupInvitationView {
    const invitation = { id: this.nextId++, contact, name, received_at: this.now() };
    this.requireProfile().groupInvitations.push(invitation);
    this.emit({ type: "group_invitation", invitation: invitation.id, contact, name });
    return invitation;
  }

  /** Simulates a request to join through the group's link (by the requester's name). */
  groupJoinRequest(group: ChatId, name: string): GroupJoinRequestView {
    const target = this.requireGroup(group);
    const request = {
      id: this.nextId++,
      group,
      member: memberId(100 + target.group.requests.length),
      name,
      received_at: this.now(),
      approved: false,
    };
    target.group.requests.push(request);
    this.emit({ type: "group_join_requested", request: structuredClone(request) });
    return request;
  }

  /** Simulates the admin's answer to this user's join through a link: in (a new group) or refused. */
  answerLinkJoin(join: number, accepted: boolean): void {
    const profile = this.requireUnlocked();
    const waiting = profile.linkJoins.find((candidate) => candidate.id === join);
    if (!waiting) throw fail("not-found", "No such join.");
    profile.linkJoins = profile.linkJoins.filter((candidate) => candidate.id !== join);
    if (!accepted) {
      this.emit({ type: "group_join_refused", join, name: waiting.name, reason: "declined" });
      return;
    }
    const group = this.addGroup(waiting.name, ["Admin"]);
    this.emitChat(this.requireChat(group));
    this.emit({ type: "group_joined", group, name: waiting.name });
  }

  emit(event: BackendEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  // Backend -----------------------------------------------------------------

  async profileState(): Promise<ProfileState> {
    if (!this.stored) return "none";
    if (this.moved) return "moved";
    return this.unlocked ? "unlocked" : "locked";
  }

  async createProfile(request: CreateProfile): Promise<void> {
    this.record("createProfile", request.displayName);
    if (this.stored && !this.moved) throw fail("profile-exists", "A profile already exists in this browser.");
    this.moved = false;
    this.stored = {
      passphrase: request.passphrase,
      profile: { displayName: request.displayName, bio: "" },
      settings: { ...DEFAULT_SETTINGS },
      chats: new Map(),
      requests: [],
      address: null,
      groupInvitations: [],
      linkJoins: [],
    };
    this.unlocked = true;
  }

  async unlock(passphrase: string): Promise<void> {
    this.record("unlock");
    if (!this.stored) throw fail("no-profile", "There is no profile in this browser.");
    if (passphrase !== this.stored.passphrase) throw fail("wrong-passphrase", "Wrong passphrase.");
    this.unlocked = true;
    const held = this.held;
    this.held = [];
    for (const { chat, text } of held) this.receive(chat, text);
  }

  async heldCount(): Promise<number> {
    return this.held.length;
  }

  async lock(): Promise<void> {
    this.record("lock");
    this.unlocked = false;
  }

  async changePassphrase(current: string, next: string): Promise<void> {
    const profile = this.requireProfile();
    if (current !== profile.passphrase) throw fail("wrong-passphrase", "Wrong passphrase.");
    profile.passphrase = next;
  }

  async profile(): Promise<Profile> {
    return { ...this.requireProfile().profile };
  }

  async updateProfile(profile: Profile): Promise<void> {
    this.requireProfile().profile = { ...profile };
  }

  async exportArchive(passphrase: string): Promise<Uint8Array> {
    const profile = this.requireProfile();
    if (passphrase !== profile.passphrase) throw fail("wrong-passphrase", "Wrong passphrase.");
    if (!this.moved) {
      this.moved = true;
      this.unlocked = false;
      this.emit({ type: "moved" });
    }
    const plain = {
      passphrase: profile.passphrase,
      profile: profile.profile,
      settings: profile.settings,
      chats: [...profile.chats.values()],
    };
    return new TextEncoder().encode(`SOTTO-FAKE-ARCHIVE\n${JSON.stringify(plain)}`);
  }

  async importArchive(archive: Uint8Array, passphrase: string): Promise<void> {
    this.record("importArchive");
    const text = new TextDecoder().decode(archive);
    const header = "SOTTO-FAKE-ARCHIVE\n";
    if (!text.startsWith(header)) throw fail("invalid-archive", "This file is not a Sotto archive.");
    const plain = JSON.parse(text.slice(header.length)) as {
      passphrase: string;
      profile: Profile;
      settings: Settings;
      chats: FakeChat[];
    };
    if (plain.passphrase !== passphrase) throw fail("wrong-passphrase", "Wrong passphrase.");
    if (this.unlocked) throw fail("profile-exists", "Lock the profile in use before replacing it.");
    this.moved = false;
    this.stored = {
      passphrase,
      profile: plain.profile,
      settings: plain.settings,
      chats: new Map(plain.chats.map((chat) => [chat.id, chat])),
      requests: [],
      address: null,
      groupInvitations: [],
      linkJoins: [],
    };
    this.unlocked = true;
  }

  async createInvitation(): Promise<Invitation> {
    this.requireUnlocked();
    const id = this.nextId++;
    this.invitations.add(id);
    const link = `${ORIGIN}/invite#i1.${"A".repeat(40)}${id}`;
    return { id, link, qrPayload: link };
  }

  /**
   * Like the core with a short link: the id at once, the chat (or
   * `join_failed`) once the "relay" answered, after the call returned.
   */
  async connect(link: string): Promise<ChatId> {
    this.record("connect", link);
    this.requireUnlocked();
    if (!link.includes("/invite#") && !link.includes("/contact#")) {
      throw fail("invalid-invitation", "This is not a Sotto invitation link.");
    }
    const chat = this.nextId++;
    if (this.holdJoins) this.heldJoins.push({ chat, link });
    else setTimeout(() => this.join(chat, link), 0);
    return chat;
  }

  async contactAddress(): Promise<ContactAddress | null> {
    return this.requireProfile().address;
  }

  async createContactAddress(): Promise<ContactAddress> {
    const link = `${ORIGIN}/contact#a1.${"B".repeat(40)}${this.nextId++}`;
    const address = { link, qrPayload: link };
    this.requireProfile().address = address;
    return address;
  }

  async deleteContactAddress(): Promise<void> {
    this.requireProfile().address = null;
  }

  async requests(): Promise<RequestView[]> {
    return this.requireProfile().requests.map((request) => ({ ...request }));
  }

  async acceptRequest(id: RequestId): Promise<ChatId> {
    const profile = this.requireProfile();
    const request = profile.requests.find((candidate) => candidate.id === id);
    if (!request) throw fail("not-found", "This request is gone.");
    profile.requests = profile.requests.filter((candidate) => candidate.id !== id);
    const chat = this.addChat(request.name);
    this.emitChat(this.requireChat(chat));
    return chat;
  }

  async rejectRequest(id: RequestId): Promise<void> {
    const profile = this.requireProfile();
    profile.requests = profile.requests.filter((candidate) => candidate.id !== id);
  }

  async chats(): Promise<ChatView[]> {
    this.requireUnlocked();
    return [...this.requireProfile().chats.values()]
      .map((chat) => this.view(chat))
      .sort((a, b) => Number(b.pinned) - Number(a.pinned) || b.last_activity - a.last_activity);
  }

  async history(chat: ChatId, query: HistoryQuery): Promise<HistoryPage> {
    this.requireUnlocked();
    const items = this.requireChat(chat).items;
    let end = items.length;
    if (query.before !== undefined) {
      end = items.findIndex((item) => item.number === query.before);
      if (end < 0) throw fail("not-found", "No such message.");
    }
    const start = Math.max(0, end - query.limit);
    return { items: items.slice(start, end).map((item) => structuredClone(item)), hasMore: start > 0 };
  }

  async sendText(chat: ChatId, message: SendText): Promise<MessageNumber> {
    this.record("sendText", chat, message);
    const target = this.requireChat(chat);
    const item = this.message(target, "outgoing", message.text, this.now());
    item.status = "sent";
    if (message.replyTo !== undefined) this.reply(target, item, message.replyTo);
    if (target.timer_secs !== null) item.expires_at = this.now() + target.timer_secs * 1000;
    this.add(target, item);
    this.emit({ type: "item_added", item: structuredClone(item), unread: target.unread });
    return item.number;
  }

  /** A file offered by the peer in `chat`, or by `member` in a group (`available` until downloaded). */
  receiveFile(chat: ChatId, file: Blob, name: string, mediaType: string, member?: string): MessageItem {
    const target = this.requireChat(chat);
    const item = this.message(target, "incoming", `📎 ${name}`, this.now());
    item.file = { ...noMedia(), name, size: file.size, media_type: mediaType, state: "available", failure: null };
    const sender = target.group?.members.find((candidate) => candidate.name === member);
    if (sender) item.sender = { id: sender.id, name: sender.name };
    this.files.set(`${chat}-${item.number}`, file);
    this.add(target, item);
    this.emit({ type: "item_added", item: structuredClone(item), unread: target.unread });
    return item;
  }

  async sendFile(
    chat: ChatId,
    file: Blob,
    name: string,
    mediaType: string,
    media: SendMedia = {},
  ): Promise<MessageNumber> {
    this.record("sendFile", chat, name, mediaType, media);
    const target = this.requireChat(chat);
    const item = this.message(target, "outgoing", `📎 ${name}`, this.now());
    item.status = "sent";
    item.file = {
      name,
      size: file.size,
      media_type: mediaType,
      state: "sent",
      failure: null,
      preview: media.preview ? btoa(String.fromCharCode(...media.preview)) : null,
      duration_ms: media.durationMs ?? null,
      waveform: [...(media.waveform ?? [])],
    };
    this.files.set(`${chat}-${item.number}`, file);
    this.add(target, item);
    this.emit({ type: "item_added", item: structuredClone(item), unread: target.unread });
    return item.number;
  }

  async downloadFile(chat: ChatId, number: MessageNumber): Promise<void> {
    this.record("downloadFile", chat, number);
    const item = this.requireMessage(this.requireChat(chat), number);
    if (!item.file) throw fail("not-found", "No such file.");
    item.file.state = "received";
    item.file.failure = null;
    this.emit({ type: "file_progress", chat, number, done: item.file.size, total: item.file.size });
    this.emit({ type: "item_changed", item: structuredClone(item) });
  }

  async cancelFile(chat: ChatId, number: MessageNumber): Promise<void> {
    this.record("cancelFile", chat, number);
    const item = this.requireMessage(this.requireChat(chat), number);
    if (!item.file) throw fail("not-found", "No such file.");
    item.file.state = "failed";
    item.file.failure = "cancelled";
    this.emit({ type: "item_changed", item: structuredClone(item) });
  }

  async readFile(chat: ChatId, number: MessageNumber, sink: FileSink, save: boolean): Promise<void> {
    this.record("readFile", chat, number, save);
    const target = this.requireChat(chat);
    if (save && target.block_saving) throw fail("saving-blocked", "Saving media is blocked in this chat.");
    const item = this.requireMessage(target, number);
    const file = this.files.get(`${chat}-${number}`);
    if (!file || !item.file || (item.file.state !== "received" && item.file.state !== "sent"))
      throw fail("not-found", "This file is not in this browser.");
    await sink(new Uint8Array(await file.arrayBuffer()));
  }

  async react(chat: ChatId, number: MessageNumber, emoji: string | null): Promise<void> {
    this.record("react", chat, number, emoji);
    const item = this.requireMessage(this.requireChat(chat), number);
    item.reactions = item.reactions.filter((reaction) => !reaction.mine);
    if (emoji !== null) item.reactions.push({ mine: true, emoji });
    this.emit({ type: "item_changed", item: structuredClone(item) });
  }

  async edit(chat: ChatId, number: MessageNumber, text: string): Promise<void> {
    this.record("edit", chat, number, text);
    const item = this.requireMessage(this.requireChat(chat), number);
    item.text = text;
    item.edited = true;
    this.emit({ type: "item_changed", item: structuredClone(item) });
  }

  async deleteForEveryone(chat: ChatId, number: MessageNumber): Promise<void> {
    this.record("deleteForEveryone", chat, number);
    const item = this.requireMessage(this.requireChat(chat), number);
    item.text = "";
    item.deleted = true;
    item.reactions = [];
    this.emit({ type: "item_changed", item: structuredClone(item) });
  }

  async markRead(chat: ChatId, upTo: MessageNumber): Promise<void> {
    this.record("markRead", chat, upTo);
    const target = this.requireChat(chat);
    if (target.unread === 0) return;
    target.unread = 0;
    this.emitChat(target);
  }

  async setTyping(chat: ChatId, typing: boolean): Promise<void> {
    this.record("setTyping", chat, typing);
  }

  async setTimer(chat: ChatId, seconds: number | null): Promise<void> {
    this.record("setTimer", chat, seconds);
    const target = this.requireChat(chat);
    target.timer_secs = seconds;
    this.emitChat(target);
    this.notice(chat, { type: "timer_changed", by_me: true, seconds });
  }

  async setChatReadReceipts(chat: ChatId, value: ReceiptSetting): Promise<void> {
    const target = this.requireChat(chat);
    target.read_receipts = value;
    this.emitChat(target);
  }

  async setChatAutoDownload(chat: ChatId, value: AutoDownloadSetting): Promise<void> {
    this.record("setChatAutoDownload", chat, value);
    const target = this.requireChat(chat);
    target.auto_download = value;
    this.emitChat(target);
  }

  async setBlockSaving(chat: ChatId, block: boolean): Promise<void> {
    this.record("setBlockSaving", chat, block);
    const target = this.requireChat(chat);
    if (target.block_saving === block) return;
    target.block_saving = block;
    this.emitChat(target);
    this.notice(chat, { type: "media_privacy_changed", by_me: true, block_saving: block });
  }

  async setPinned(chat: ChatId, pinned: boolean): Promise<void> {
    this.change("setPinned", chat, { pinned });
  }

  async setArchived(chat: ChatId, archived: boolean): Promise<void> {
    this.change("setArchived", chat, { archived });
  }

  async setAlias(chat: ChatId, alias: string): Promise<void> {
    this.change("setAlias", chat, { alias: alias.trim() === "" ? null : alias });
  }

  async setMuted(chat: ChatId, until: number | null): Promise<void> {
    this.change("setMuted", chat, { muted_until: until });
  }

  async block(chat: ChatId): Promise<void> {
    this.change("block", chat, { blocked: true });
  }

  async unblock(chat: ChatId): Promise<void> {
    this.change("unblock", chat, { blocked: false });
  }

  async clearHistory(chat: ChatId): Promise<void> {
    this.record("clearHistory", chat);
    const target = this.requireChat(chat);
    target.items = [];
    target.unread = 0;
    this.emit({ type: "history_cleared", chat });
  }

  async deleteChat(chat: ChatId): Promise<void> {
    this.record("deleteChat", chat);
    this.requireChat(chat);
    this.requireProfile().chats.delete(chat);
    this.emit({ type: "chat_removed", chat });
  }

  async reconnect(chat: ChatId, link: string): Promise<void> {
    this.record("reconnect", chat, link);
    const target = this.requireChat(chat);
    target.blocked = false;
    this.emitChat(target);
  }

  async deleteForMe(chat: ChatId, number: MessageNumber): Promise<void> {
    this.record("deleteForMe", chat, number);
    const target = this.requireChat(chat);
    this.requireMessage(target, number);
    target.items = target.items.filter((item) => item.number !== number);
    this.emit({ type: "items_removed", chat, numbers: [number] });
  }

  async search(query: string, limit: number): Promise<SearchHit[]> {
    this.record("search", query, limit);
    const needle = fold(query.trim());
    if (needle === "" || new TextEncoder().encode(query.trim()).length > 256)
      throw fail("invalid-input", "Search for 1 to 256 bytes of text.");
    const hits: SearchHit[] = [];
    for (const chat of this.requireUnlocked().chats.values())
      for (const item of chat.items)
        if (item.notice === null && !item.deleted && fold(item.text).includes(needle))
          hits.push({ chat_name: chat.alias ?? chat.name, item: structuredClone(item) });
    return hits.sort((a, b) => b.item.at - a.item.at).slice(0, limit);
  }

  async createGroup(name: string, contacts: ChatId[]): Promise<ChatId> {
    this.record("createGroup", name, contacts);
    if (name.trim() === "") throw fail("invalid-input", "A group needs a name.");
    const id = this.addGroup(name, []);
    this.emitChat(this.requireChat(id));
    for (const contact of contacts) await this.inviteToGroup(id, contact);
    return id;
  }

  async groups(): Promise<GroupView[]> {
    return [...this.requireUnlocked().chats.values()].flatMap((chat) =>
      chat.group
        ? [
            {
              id: chat.id,
              name: chat.name,
              description: chat.group.description,
              picture: chat.group.picture,
              members: chat.group.members.length,
              active: chat.group.active,
              role: chat.group.members.find((member) => member.me)?.role ?? "member",
            },
          ]
        : [],
    );
  }

  /** The fake's contact joins at once. */
  async inviteToGroup(group: ChatId, contact: ChatId): Promise<void> {
    this.record("inviteToGroup", group, contact);
    const target = this.requireGroup(group);
    const name = this.requireChat(contact).name;
    target.group.members.push({
      id: memberId(target.group.members.length),
      name,
      picture: null,
      role: "member",
      me: false,
      blocked: false,
    });
    this.emitChat(target);
  }

  async groupMembers(group: ChatId): Promise<GroupMemberView[]> {
    return structuredClone(this.requireGroup(group).group.members);
  }

  async groupSecurityCode(group: ChatId, member: string): Promise<MemberSecurityCode> {
    this.requireMember(this.requireGroup(group), member);
    const digits = [...`${group}${member}`.repeat(8)].map((char) => String(char.charCodeAt(0) % 10)).join("");
    return { digits: digits.slice(0, 60).padEnd(60, "0"), qrPayload: `sotto-member-code:${digits}` };
  }

  async setGroupProfile(group: ChatId, name: string, description: string, picture: Uint8Array | null): Promise<void> {
    this.record("setGroupProfile", group, name, description, picture);
    const target = this.requireGroup(group);
    if (target.group.members.find((member) => member.me)?.role === "member")
      throw fail("invalid-input", "Only the group's owners and admins change its name, description and picture.");
    if (name.trim() === "") throw fail("invalid-input", "A group needs a name.");
    target.name = name;
    target.group.description = description;
    target.group.picture = picture && picture.length > 0 ? btoa(String.fromCharCode(...picture)) : null;
    this.emitChat(target);
    this.emit({ type: "group_profile_changed", group });
  }

  async setGroupSelf(group: ChatId, change: GroupSelfChange): Promise<void> {
    this.record("setGroupSelf", group, change);
    const target = this.requireGroup(group);
    const me = target.group.members.find((member) => member.me);
    if (!me || !target.group.active) throw fail("invalid-input", "You are no longer a member of this group.");
    if (change.name !== undefined && change.name.trim() === "") throw fail("invalid-input", "A name is needed.");
    if (change.picture && change.picture.length > MAX_MEMBER_PICTURE_BYTES)
      throw fail("invalid-input", `A picture of ${change.picture.length} bytes is too large (at most 2048).`);
    if (change.name !== undefined) me.name = change.name;
    if (change.picture !== undefined)
      me.picture = change.picture && change.picture.length > 0 ? btoa(String.fromCharCode(...change.picture)) : null;
    this.emitChat(target);
  }

  async setGroupRole(group: ChatId, member: string, role: GroupRole): Promise<void> {
    this.record("setGroupRole", group, member, role);
    const target = this.requireGroup(group);
    this.requireMember(target, member).role = role;
    this.emitChat(target);
  }

  async removeGroupMember(group: ChatId, member: string): Promise<void> {
    this.record("removeGroupMember", group, member);
    const target = this.requireGroup(group);
    this.requireMember(target, member);
    target.group.members = target.group.members.filter((candidate) => candidate.id !== member);
    this.emitChat(target);
  }

  async leaveGroup(group: ChatId): Promise<void> {
    this.record("leaveGroup", group);
    const target = this.requireGroup(group);
    target.group.active = false;
    target.group.members = target.group.members.filter((member) => !member.me);
    this.emitChat(target);
  }

  async deleteGroup(group: ChatId): Promise<void> {
    this.record("deleteGroup", group);
    const target = this.requireGroup(group);
    if (!target.group.members.some((member) => member.me && member.role === "owner")) {
      throw fail("internal", "Only an owner can delete the group.");
    }
    target.group.active = false;
    this.notice(group, { type: "group_deleted", by_me: true });
    this.emitChat(target);
  }

  async groupInvitations(): Promise<GroupInvitationView[]> {
    return structuredClone(this.requireUnlocked().groupInvitations);
  }

  async acceptGroupInvitation(id: number): Promise<void> {
    this.record("acceptGroupInvitation", id);
    const profile = this.requireUnlocked();
    const invitation = profile.groupInvitations.find((candidate) => candidate.id === id);
    if (!invitation) throw fail("not-found", "No such group invitation.");
    profile.groupInvitations = profile.groupInvitations.filter((candidate) => candidate.id !== id);
    const group = this.addGroup(invitation.name, [this.requireChat(invitation.contact).name]);
    this.emitChat(this.requireChat(group));
    this.emit({ type: "group_joined", group, name: invitation.name });
  }

  async declineGroupInvitation(id: number): Promise<void> {
    this.record("declineGroupInvitation", id);
    const profile = this.requireUnlocked();
    profile.groupInvitations = profile.groupInvitations.filter((candidate) => candidate.id !== id);
  }

  async blockGroupMember(group: ChatId, member: string, blocked: boolean): Promise<void> {
    this.record("blockGroupMember", group, member, blocked);
    const target = this.requireGroup(group);
    const found = this.requireMember(target, member);
    if (found.me) throw fail("invalid-input", "invalid member: this profile itself");
    found.blocked = blocked;
  }

  async groupLink(group: ChatId): Promise<GroupLinkView | null> {
    return structuredClone(this.requireGroup(group).group.link);
  }

  async createGroupLink(group: ChatId, automatic: boolean): Promise<GroupLinkView> {
    this.record("createGroupLink", group, automatic);
    const target = this.requireGroup(group);
    const role = target.group.members.find((member) => member.me)?.role;
    if (role === "member") throw fail("internal", "a member may not add");
    target.group.link = { group, link: `https://relay.example/group#g${this.nextId++}`, automatic };
    this.emitChat(target);
    return structuredClone(target.group.link);
  }

  async deleteGroupLink(group: ChatId): Promise<void> {
    this.record("deleteGroupLink", group);
    const target = this.requireGroup(group);
    if (!target.group.link) throw fail("invalid-input", "the group has no link");
    target.group.link = null;
    this.emitChat(target);
  }

  async setGroupLinkApproval(group: ChatId, automatic: boolean): Promise<void> {
    this.record("setGroupLinkApproval", group, automatic);
    const link = this.requireGroup(group).group.link;
    if (!link) throw fail("invalid-input", "the group has no link");
    link.automatic = automatic;
  }

  async groupJoinRequests(group: ChatId): Promise<GroupJoinRequestView[]> {
    return structuredClone(this.requireGroup(group).group.requests);
  }

  /** The fake's requester joins at once. */
  async approveGroupJoin(request: number): Promise<void> {
    this.record("approveGroupJoin", request);
    const [target, found] = this.requireJoinRequest(request);
    target.group.requests = target.group.requests.filter((candidate) => candidate !== found);
    target.group.members.push({
      id: found.member,
      name: found.name,
      picture: null,
      role: "member",
      me: false,
      blocked: false,
    });
    this.emitChat(target);
  }

  async declineGroupJoin(request: number): Promise<void> {
    this.record("declineGroupJoin", request);
    const [target, found] = this.requireJoinRequest(request);
    target.group.requests = target.group.requests.filter((candidate) => candidate !== found);
  }

  /** The fake's group links name their group after the fragment. */
  async groupLinkName(link: string): Promise<string> {
    const match = /^https?:\/\/[^/]+\/group#(.+)$/.exec(link.trim());
    if (!match) throw fail("invalid-invitation", "invalid link: a group link's path is /group");
    return `Group ${match[1]}`;
  }

  async joinGroupByLink(link: string, name: string, picture?: Uint8Array): Promise<number> {
    if (picture === undefined) this.record("joinGroupByLink", link, name);
    else this.record("joinGroupByLink", link, name, picture);
    if (picture && picture.length > MAX_MEMBER_PICTURE_BYTES)
      throw fail("invalid-input", `A picture of ${picture.length} bytes is too large (at most 2048).`);
    const join = { id: this.nextId++, name: await this.groupLinkName(link), requested: true, created_at: this.now() };
    this.requireUnlocked().linkJoins.push(join);
    return join.id;
  }

  async groupLinkJoins(): Promise<GroupLinkJoinView[]> {
    return structuredClone(this.requireUnlocked().linkJoins);
  }

  async cancelGroupLinkJoin(join: number): Promise<void> {
    this.record("cancelGroupLinkJoin", join);
    const profile = this.requireUnlocked();
    profile.linkJoins = profile.linkJoins.filter((candidate) => candidate.id !== join);
  }

  private requireJoinRequest(
    request: number,
  ): [FakeChat & { group: NonNullable<FakeChat["group"]> }, GroupJoinRequestView] {
    for (const chat of this.requireUnlocked().chats.values()) {
      const found = chat.group?.requests.find((candidate) => candidate.id === request);
      if (found && chat.group) return [chat as FakeChat & { group: NonNullable<FakeChat["group"]> }, found];
    }
    throw fail("not-found", "no such join request");
  }

  async securityCode(chat: ChatId): Promise<SecurityCode> {
    const target = this.requireChat(chat);
    let seed = target.keyGeneration * 7919 + target.id * 104729;
    let digits = "";
    for (let index = 0; index < 60; index += 1) {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      digits += String(seed % 10);
    }
    return { digits, qrPayload: `sotto-code:${digits}`, verified: target.verified };
  }

  async securityCodeMatches(chat: ChatId, scanned: string): Promise<boolean> {
    return scanned.trim() === (await this.securityCode(chat)).qrPayload;
  }

  async setVerified(chat: ChatId, verified: boolean): Promise<void> {
    const target = this.requireChat(chat);
    target.verified = verified;
    this.emitChat(target);
  }

  async settings(): Promise<Settings> {
    return { ...this.requireProfile().settings };
  }

  async updateSettings(patch: Partial<Settings>): Promise<Settings> {
    const profile = this.requireProfile();
    profile.settings = { ...profile.settings, ...patch };
    return { ...profile.settings };
  }

  subscribe(listener: (event: BackendEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // Internals ---------------------------------------------------------------

  private record(method: string, ...args: unknown[]): void {
    this.calls.push({ method, args });
  }

  private message(chat: FakeChat, direction: MessageDirection, text: string, at: number): MessageItem {
    return {
      chat: chat.id,
      number: chat.items.length === 0 ? 1 : (chat.items[chat.items.length - 1]?.number ?? 0) + 1,
      direction,
      seq: direction === "notice" ? 0 : chat.items.length + 1,
      sent_at: at,
      at,
      status: "read",
      text,
      reply_to: null,
      quoted: null,
      notice: null,
      edited: false,
      deleted: false,
      reactions: [],
      expires_at: null,
      file: null,
    };
  }

  /** Appends `item` (numbered by `message`) to the chat. */
  private add(chat: FakeChat, item: ItemView): void {
    chat.items.push(item);
    chat.last_activity = Math.max(chat.last_activity, item.at);
  }

  private reply(chat: FakeChat, item: MessageItem, number: MessageNumber): void {
    const quoted = this.requireMessage(chat, number);
    item.reply_to = number;
    item.quoted = { number, direction: quoted.direction, text: quoted.text, deleted: quoted.deleted };
  }

  private view(chat: FakeChat): ChatView {
    const last = chat.items[chat.items.length - 1];
    return {
      id: chat.id,
      name: chat.name,
      bio: null,
      verified: chat.verified,
      unread: chat.unread,
      timer_secs: chat.timer_secs,
      read_receipts: chat.read_receipts,
      last_activity: chat.last_activity,
      last_item: last ? structuredClone(last) : null,
      alias: chat.alias,
      pinned: chat.pinned,
      archived: chat.archived,
      blocked: chat.blocked,
      state: chat.blocked || chat.group?.active === false ? "disconnected" : "connected",
      muted_until: chat.muted_until,
      block_saving: chat.block_saving,
      auto_download: chat.auto_download,
      members: chat.group ? chat.group.members.length : null,
    };
  }

  /** The relay returned the link's invitation (or refused it): the chat is made now, or never. */
  private join(id: ChatId, link: string): void {
    const reason = this.refusedLinks.get(link);
    if (reason !== undefined) {
      this.emit({ type: "join_failed", chat: id, reason, existing: this.linksOfContacts.get(link) ?? null });
      return;
    }
    const chat = emptyChat(id, `Contact ${id}`, this.now());
    this.requireProfile().chats.set(id, chat);
    this.emitChat(chat);
    this.notice(id, { type: "connected" });
    this.emit({ type: "contact_connected", chat: this.view(chat) });
  }

  /** Records `method`, changes the chat's fields and says so. */
  private change(method: string, chat: ChatId, fields: Partial<FakeChat>): void {
    this.record(method, chat, ...Object.values(fields));
    const target = this.requireChat(chat);
    Object.assign(target, fields);
    this.emitChat(target);
  }

  private emitChat(chat: FakeChat): void {
    this.emit({ type: "chat_changed", chat: this.view(chat) });
  }

  private requireProfile(): FakeProfile {
    if (!this.stored) throw fail("no-profile", "There is no profile in this browser.");
    return this.stored;
  }

  private requireUnlocked(): FakeProfile {
    const profile = this.requireProfile();
    if (!this.unlocked) throw fail("locked", "The profile is locked.");
    return profile;
  }

  private requireChat(id: ChatId): FakeChat {
    const chat = this.requireUnlocked().chats.get(id);
    if (!chat) throw fail("not-found", "No such chat.");
    return chat;
  }

  private requireGroup(id: ChatId): FakeChat & { group: NonNullable<FakeChat["group"]> } {
    const chat = this.requireChat(id);
    if (!chat.group) throw fail("not-found", "No such group.");
    return chat as FakeChat & { group: NonNullable<FakeChat["group"]> };
  }

  private requireMember(chat: { group: NonNullable<FakeChat["group"]> }, member: string): GroupMemberView {
    const found = chat.group.members.find((candidate) => candidate.id === member);
    if (!found) throw fail("not-found", "No such member.");
    return found;
  }

  private requireMessage(chat: FakeChat, number: MessageNumber): MessageItem {
    const item = chat.items.find((candidate) => candidate.number === number);
    if (!item || item.notice !== null) throw fail("not-found", "No such message.");
    return item;
  }
}
