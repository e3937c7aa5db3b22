// Search through the text of every message of every chat: the core looks
// (`search`, newest first) as the user types, and each result shows the
// chat's name, the time and the text with what matched marked. Opening a
// result opens its chat at that message.

import { useEffect, useState } from "preact/hooks";
import type { Backend, ChatId, MessageNumber, SearchHit } from "../backend";
import { errorMessage } from "../errors";
import { listStamp, matchParts } from "../format";

/** How many results are shown. */
export const SEARCH_LIMIT = 50;
/** Typing pauses this long before the core looks. */
const SEARCH_DELAY_MS = 120;
/** The core takes queries of at most this many bytes. */
const MAX_QUERY_BYTES = 256;

export interface SearchState {
  hits: SearchHit[];
  /** The query these hits answer. */
  query: string;
  error: string;
}

const NONE: SearchState = { hits: [], query: "", error: "" };

/** The messages matching `query`, looked up a moment after it stops changing. */
export function useMessageSearch(backend: Backend, query: string): SearchState {
  const [state, setState] = useState<SearchState>(NONE);
  useEffect(() => {
    const trimmed = query.trim();
    if (trimmed === "") {
      setState(NONE);
      return;
    }
    if (new TextEncoder().encode(trimmed).length > MAX_QUERY_BYTES) {
      setState({ hits: [], query: trimmed, error: "That is too long to search for: try a shorter part." });
      return;
    }
    let alive = true;
    const timer = window.setTimeout(() => {
      backend.search(trimmed, SEARCH_LIMIT).then(
        (hits) => alive && setState({ hits, query: trimmed, error: "" }),
        (caught: unknown) => alive && setState({ hits: [], query: trimmed, error: errorMessage(caught) }),
      );
    }, SEARCH_DELAY_MS);
    return () => {
      alive = false;
      window.clearTimeout(timer);
    };
  }, [backend, query]);
  return state;
}

/** The text around the first match, so that it shows in one line. */
export function excerpt(text: string, query: string, before = 24): string {
  const parts = matchParts(text.replace(/\s+/g, " "), query);
  const lead = parts[0] ?? "";
  if (parts.length < 2 || lead.length <= before) return parts.join("");
  return `…${lead.slice(lead.length - before)}${parts.slice(1).join("")}`;
}

export function SearchResults({
  state,
  names,
  onOpen,
}: {
  state: SearchState;
  /** The chats' shown names (told apart), by id; the core's name when missing. */
  names: ReadonlyMap<ChatId, string>;
  onOpen: (chat: ChatId, number: MessageNumber) => void;
}) {
  if (state.query === "") return null;
  const now = Date.now();
  return (
    <section class="search-results" aria-label="Messages found">
      <h2 class="list-heading">Messages</h2>
      {state.error ? (
        <p class="error list-empty" role="alert">
          {state.error}
        </p>
      ) : state.hits.length === 0 ? (
        <p class="muted list-empty">No message contains “{state.query}”.</p>
      ) : (
        <ul class="chat-list" aria-label="Messages found">
          {state.hits.map((hit) => {
            const parts = matchParts(excerpt(hit.item.text, state.query), state.query);
            return (
              <li key={`${hit.item.chat}:${hit.item.number}`}>
                <button type="button" class="search-hit" onClick={() => onOpen(hit.item.chat, hit.item.number)}>
                  <span class="chat-row-top">
                    <span dir="auto" class="chat-name private">
                      {names.get(hit.item.chat) ?? hit.chat_name}
                    </span>
                    <span class="stamp">{listStamp(hit.item.sent_at, now)}</span>
                  </span>
                  <span dir="auto" class="preview private">
                    {hit.item.direction === "outgoing" ? "You: " : ""}
                    {parts.map((part, index) => (index % 2 === 1 ? <mark key={index}>{part}</mark> : part))}
                  </span>
                </button>
              </li>
            );
          })}
        </ul>
      )}
      {state.hits.length === SEARCH_LIMIT && (
        <p class="muted small list-empty">The newest {SEARCH_LIMIT} are shown: add a word to narrow the search.</p>
      )}
    </section>
  );
}
