// Joining with a link: the core answers `connect` with a chat id at once, but
// with a short link the chat exists only once the link's relay returned the
// invitation (`chat_changed` for that id), or never (`join_failed` for that
// id). Events can come before `connect` resolves, so they are listened to
// from before the call.

import type { Backend, BackendError, BackendEvent, ChatId } from "./backend";

/** What an event says of the join of `chat`. */
interface Outcome {
  chat: ChatId;
  /** The chat that opens (another one when the link connects an existing chat again). */
  opens: ChatId;
  failure: string | null;
  /** The chat the user already has with the link's maker. */
  existing: ChatId | null;
}

/** The chat `event` shows to exist, or that could not be made, if any. */
function outcome(event: BackendEvent): Outcome | null {
  switch (event.type) {
    case "chat_changed":
    case "contact_connected":
      return { chat: event.chat.id, opens: event.chat.id, failure: null, existing: null };
    case "joined_existing":
      return { chat: event.chat, opens: event.existing, failure: null, existing: null };
    case "join_failed":
      return { chat: event.chat, opens: event.existing ?? event.chat, failure: event.reason, existing: event.existing };
    default:
      return null;
  }
}

/**
 * Connects with `link`; resolves with the chat once it exists, rejects with
 * the backend's error or, when the link cannot be used, a `link-refused`
 * error whose message is the core's reason (and `existing`, the chat, when
 * the link is of someone the user has a chat with already). `signal` stops waiting (the
 * dialog closed): the promise then never settles.
 */
export function joinWithLink(backend: Backend, link: string, signal?: AbortSignal): Promise<ChatId> {
  return new Promise((resolve, reject) => {
    /** Outcomes heard before `connect` named the chat (only these few kinds are kept). */
    let early: Outcome[] | null = [];
    let chat: ChatId | null = null;
    const settle = (heard: Outcome): boolean => {
      if (heard.chat !== chat) return false;
      stop();
      if (heard.failure === null) resolve(heard.opens);
      else reject({ kind: "link-refused", message: heard.failure, existing: heard.existing } satisfies BackendError);
      return true;
    };
    const unsubscribe = backend.subscribe((event) => {
      const heard = outcome(event);
      if (!heard) return;
      if (early) early.push(heard);
      else settle(heard);
    });
    const stop = () => {
      unsubscribe();
      signal?.removeEventListener("abort", stop);
    };
    signal?.addEventListener("abort", stop);
    backend.connect(link).then(
      (id) => {
        chat = id;
        const heard = early ?? [];
        early = null;
        heard.some(settle);
      },
      (error: unknown) => {
        stop();
        if (!signal?.aborted) reject(error);
      },
    );
  });
}
