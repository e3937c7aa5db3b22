// An in-memory Backend for unit tests and the development preview page only.
// The production build refuses to bundle this file (see vite.config.ts).
// It keeps no secrets and encrypts nothing: it imitates the core's behaviour
// (states, errors, events) so that UI flows can be tested without wasm.

import {
  DEFAULT_SETTINGS,
  type Backend,
  type BackendError,
  type BackendErrorKind,
  type BackendEvent,
  type ChatId,
  type ChatReadReceipts,
  type ChatSummary,
  type ContactAddress,
  type ContactRequest,
  type CreateProfile,
  type HistoryPage,
  type HistoryQuery,
  type Invitation,
  type ItemId,
  type MessageItem,
  type Notice,
  type NoticeItem,
  type Profile,
  type ProfileState,
  type SecurityCode,
  type SendText,
  type Settings,
  type TimelineItem,
} from "./backend";

interface FakeChat {
  id: ChatId;
  displayName: string;
  items: TimelineItem[];
  unread: number;
  muted: boolean;
  timerSeconds: number | null;
  verified: boolean;
  readReceipts: ChatReadReceipts;
  typing: boolean;
  keyGeneration: number;
}

interface FakeProfile {
  passphrase: string;
  profile: Profile;
  settings: Settings;
  chats: Map<ChatId, FakeChat>;
  requests: ContactRequest[];
  address: ContactAddress | null;
}

function fail(kind: BackendErrorKind, message: string): BackendError {
  return { kind, message };
}

const ORIGIN = "https://relay.example";

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
    };
    backend.unlocked = true;
    return backend;
  }

  /** Adds a chat with `messages` alternating messages, oldest first, one minute apart. */
  addChat(displayName: string, messages = 0, start = this.now() - messages * 60_000): ChatId {
    const profile = this.requireProfile();
    const id = `chat-${this.nextId++}`;
    const chat: FakeChat = {
      id,
      displayName,
      items: [],
      unread: 0,
      muted: false,
      timerSeconds: null,
      verified: false,
      readReceipts: "default",
      typing: false,
      keyGeneration: 0,
    };
    for (let index = 0; index < messages; index += 1) {
      const direction = index % 2 === 0 ? "in" : "out";
      const text =
        index % 7 === 3
          ? `Message ${index}: a longer one that wraps over several lines to exercise the variable row heights of the virtual list, with a little more text.`
          : `Message ${index}`;
      chat.items.push(this.message(id, direction, text, start + index * 60_000));
    }
    profile.chats.set(id, chat);
    return id;
  }

  /** Simulates an incoming message from the contact. */
  receive(chat: ChatId, text: string, replyTo?: ItemId): MessageItem {
    const target = this.requireChat(chat);
    const item = this.message(chat, "in", text, this.now());
    if (replyTo) item.replyTo = this.quote(target, replyTo);
    target.items.push(item);
    target.unread += 1;
    target.typing = false;
    this.emit({ type: "item-added", item });
    this.emit({ type: "chat-updated", chat: this.summary(target) });
    return item;
  }

  /** Simulates a notice the core would add (integrity problem, key change). */
  notice(chat: ChatId, notice: Notice): NoticeItem {
    const target = this.requireChat(chat);
    const item: NoticeItem = { kind: "notice", id: `item-${this.nextId++}`, chat, at: this.now(), notice };
    if (notice.type === "key-change") {
      target.verified = false;
      target.keyGeneration += 1;
    }
    target.items.push(item);
    this.emit({ type: "item-added", item });
    this.emit({ type: "chat-updated", chat: this.summary(target) });
    return item;
  }

  /** Simulates a receipt from the contact. */
  receipt(chat: ChatId, id: ItemId, status: "delivered" | "read"): void {
    const item = this.requireMessage(this.requireChat(chat), id);
    item.status = status;
    this.emit({ type: "item-updated", item: { ...item } });
  }

  request(displayName: string): ContactRequest {
    const request = { id: `request-${this.nextId++}`, displayName, receivedAt: this.now() };
    this.requireProfile().requests.push(request);
    this.emit({ type: "request-received", request });
    return request;
  }

  setTypingFromContact(chat: ChatId, typing: boolean): void {
    const target = this.requireChat(chat);
    target.typing = typing;
    this.emit({ type: "chat-updated", chat: this.summary(target) });
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
    };
    this.unlocked = true;
  }

  async unlock(passphrase: string): Promise<void> {
    this.record("unlock");
    if (!this.stored) throw fail("no-profile", "There is no profile in this browser.");
    if (passphrase !== this.stored.passphrase) throw fail("wrong-passphrase", "Wrong passphrase.");
    this.unlocked = true;
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
    };
    this.unlocked = true;
  }

  async createInvitation(): Promise<Invitation> {
    this.requireUnlocked();
    const link = `${ORIGIN}/invite#i1.${"A".repeat(40)}${this.nextId++}`;
    return { link, qrPayload: link };
  }

  async connect(link: string): Promise<ChatId> {
    this.record("connect", link);
    this.requireUnlocked();
    if (!link.includes("/invite#") && !link.includes("/contact#")) {
      throw fail("invalid-invitation", "This is not a Sotto invitation link.");
    }
    const id = this.addChat(`Contact ${this.nextId}`);
    const chat = this.requireChat(id);
    this.notice(id, { type: "connected" });
    this.emit({ type: "chat-updated", chat: this.summary(chat) });
    return id;
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

  async contactRequests(): Promise<ContactRequest[]> {
    return [...this.requireProfile().requests];
  }

  async acceptRequest(id: string): Promise<ChatId> {
    const profile = this.requireProfile();
    const request = profile.requests.find((candidate) => candidate.id === id);
    if (!request) throw fail("not-found", "This request is gone.");
    profile.requests = profile.requests.filter((candidate) => candidate.id !== id);
    const chat = this.addChat(request.displayName);
    this.emit({ type: "chat-updated", chat: this.summary(this.requireChat(chat)) });
    return chat;
  }

  async rejectRequest(id: string): Promise<void> {
    const profile = this.requireProfile();
    profile.requests = profile.requests.filter((candidate) => candidate.id !== id);
  }

  async chats(): Promise<ChatSummary[]> {
    this.requireUnlocked();
    return [...this.requireProfile().chats.values()].map((chat) => this.summary(chat));
  }

  async history(chat: ChatId, query: HistoryQuery): Promise<HistoryPage> {
    this.requireUnlocked();
    const items = this.requireChat(chat).items;
    let end = items.length;
    if (query.before !== undefined) {
      end = items.findIndex((item) => item.id === query.before);
      if (end < 0) throw fail("not-found", "No such message.");
    }
    const start = Math.max(0, end - query.limit);
    return { items: items.slice(start, end).map((item) => structuredClone(item)), hasMore: start > 0 };
  }

  async sendText(chat: ChatId, message: SendText): Promise<MessageItem> {
    this.record("sendText", chat, message);
    const target = this.requireChat(chat);
    const item = this.message(chat, "out", message.text, this.now());
    item.status = "sent";
    if (message.replyTo) item.replyTo = this.quote(target, message.replyTo);
    if (target.timerSeconds !== null) item.expiresAt = this.now() + target.timerSeconds * 1000;
    target.items.push(item);
    this.emit({ type: "chat-updated", chat: this.summary(target) });
    return structuredClone(item);
  }

  async react(chat: ChatId, id: ItemId, emoji: string | null): Promise<void> {
    this.record("react", chat, id, emoji);
    const item = this.requireMessage(this.requireChat(chat), id);
    item.reactions = item.reactions.filter((reaction) => reaction.from !== "out");
    if (emoji !== null) item.reactions.push({ emoji, from: "out" });
    this.emit({ type: "item-updated", item: structuredClone(item) });
  }

  async edit(chat: ChatId, id: ItemId, text: string): Promise<void> {
    this.record("edit", chat, id, text);
    const item = this.requireMessage(this.requireChat(chat), id);
    item.text = text;
    item.editedAt = this.now();
    this.emit({ type: "item-updated", item: structuredClone(item) });
  }

  async deleteForEveryone(chat: ChatId, id: ItemId): Promise<void> {
    this.record("deleteForEveryone", chat, id);
    const item = this.requireMessage(this.requireChat(chat), id);
    item.text = "";
    item.deleted = true;
    item.reactions = [];
    this.emit({ type: "item-updated", item: structuredClone(item) });
  }

  async markRead(chat: ChatId, upTo: ItemId): Promise<void> {
    this.record("markRead", chat, upTo);
    const target = this.requireChat(chat);
    if (target.unread === 0) return;
    target.unread = 0;
    this.emit({ type: "chat-updated", chat: this.summary(target) });
  }

  async setTyping(chat: ChatId, typing: boolean): Promise<void> {
    this.record("setTyping", chat, typing);
  }

  async setTimer(chat: ChatId, seconds: number | null): Promise<void> {
    this.record("setTimer", chat, seconds);
    const target = this.requireChat(chat);
    target.timerSeconds = seconds;
    this.notice(chat, { type: "timer", seconds, by: "out" });
  }

  async setMuted(chat: ChatId, muted: boolean): Promise<void> {
    const target = this.requireChat(chat);
    target.muted = muted;
    this.emit({ type: "chat-updated", chat: this.summary(target) });
  }

  async setChatReadReceipts(chat: ChatId, value: ChatReadReceipts): Promise<void> {
    const target = this.requireChat(chat);
    target.readReceipts = value;
    this.emit({ type: "chat-updated", chat: this.summary(target) });
  }

  async securityCode(chat: ChatId): Promise<SecurityCode> {
    const target = this.requireChat(chat);
    let seed = target.keyGeneration * 7919 + target.id.length * 104729;
    let digits = "";
    for (let index = 0; index < 60; index += 1) {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      digits += String(seed % 10);
    }
    return { digits, qrPayload: `sotto-code:${digits}`, verified: target.verified };
  }

  async setVerified(chat: ChatId, verified: boolean): Promise<void> {
    const target = this.requireChat(chat);
    target.verified = verified;
    this.notice(chat, { type: "verified", verified });
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

  private message(chat: ChatId, direction: "in" | "out", text: string, at: number): MessageItem {
    return {
      kind: "message",
      id: `item-${this.nextId++}`,
      chat,
      direction,
      text,
      deleted: false,
      sentAt: at,
      editedAt: null,
      replyTo: null,
      reactions: [],
      status: direction === "out" ? "read" : null,
      expiresAt: null,
    };
  }

  private quote(chat: FakeChat, id: ItemId): MessageItem["replyTo"] {
    const quoted = this.requireMessage(chat, id);
    return { id, direction: quoted.direction, text: quoted.text, deleted: quoted.deleted };
  }

  private summary(chat: FakeChat): ChatSummary {
    const last = chat.items[chat.items.length - 1];
    return {
      id: chat.id,
      displayName: chat.displayName,
      lastItem: last ? structuredClone(last) : null,
      unread: chat.unread,
      muted: chat.muted,
      timerSeconds: chat.timerSeconds,
      verified: chat.verified,
      readReceipts: chat.readReceipts,
      typing: chat.typing,
    };
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

  private requireMessage(chat: FakeChat, id: ItemId): MessageItem {
    const item = chat.items.find((candidate) => candidate.id === id);
    if (!item || item.kind !== "message") throw fail("not-found", "No such message.");
    return item;
  }
}
