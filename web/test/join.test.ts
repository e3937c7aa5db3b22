// Joining waits for the chat the link makes, or for the reason it makes none,
// whether the event comes before or after `connect` names the chat.

import { describe, expect, it } from "vitest";
import type { Backend, BackendEvent, ChatView } from "../src/backend";
import { joinWithLink } from "../src/join";

function chatView(id: number): ChatView {
  return {
    id,
    name: null,
    bio: null,
    state: "joining",
    verified: false,
    unread: 0,
    timer_secs: null,
    read_receipts: "default",
    last_activity: 0,
    last_item: null,
    alias: null,
    pinned: false,
    archived: false,
    blocked: false,
    muted_until: null,
    block_saving: false,
    auto_download: "default",
    members: null,
  };
}

/** A backend whose `connect` returns chat 7 and emits `during` before returning. */
function backendEmitting(during: BackendEvent[]) {
  const listeners = new Set<(event: BackendEvent) => void>();
  const backend = {
    subscribe(listener: (event: BackendEvent) => void) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async connect() {
      for (const event of during) listeners.forEach((listener) => listener(event));
      return 7;
    },
  } as unknown as Backend;
  const emit = (event: BackendEvent) => listeners.forEach((listener) => listener(event));
  return { backend, emit, listening: () => listeners.size };
}

describe("joinWithLink", () => {
  it("resolves with a chat made during the call, not another chat's change", async () => {
    const { backend, listening } = backendEmitting([
      { type: "chat_changed", chat: chatView(3) },
      { type: "chat_changed", chat: chatView(7) },
    ]);
    await expect(joinWithLink(backend, "link")).resolves.toBe(7);
    expect(listening()).toBe(0);
  });

  it("waits for the relay, then rejects with the core's reason", async () => {
    const { backend, emit, listening } = backendEmitting([]);
    const joining = joinWithLink(backend, "link");
    await Promise.resolve();
    emit({ type: "join_failed", chat: 8, reason: "not this one", existing: null });
    emit({ type: "join_failed", chat: 7, reason: "This link was already used.", existing: null });
    await expect(joining).rejects.toEqual({
      kind: "link-refused",
      message: "This link was already used.",
      existing: null,
    });
    expect(listening()).toBe(0);
  });

  it("stops listening when told to", async () => {
    const { backend, listening } = backendEmitting([]);
    const stop = new AbortController();
    void joinWithLink(backend, "link", stop.signal);
    await Promise.resolve();
    expect(listening()).toBe(1);
    stop.abort();
    expect(listening()).toBe(0);
  });
});
