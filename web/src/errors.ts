import { isBackendError, type BackendErrorKind } from "./backend";

/** What to say for a kind of error whose own text is not fit to show. */
const SENTENCES: Partial<Record<BackendErrorKind, string>> = {
  // As the lock screen says it.
  "wrong-passphrase": "Wrong passphrase. Check it and try again.",
  locked: "Sotto is locked. Unlock it and try again.",
  "no-profile": "There is no profile in this browser.",
  "profile-exists": "A profile exists in this browser already.",
  "not-found": "That is no longer there: it may have been deleted.",
  "not-connected": "This chat is not connected yet, so nothing can be sent to it.",
  "invalid-input": "That cannot be used: check what you typed and try again.",
  network: "The relay could not be reached. Check the connection and try again.",
  internal: "Something went wrong inside Sotto. Try again; if it keeps happening, reload the page.",
};

/** A sentence: a capital first, a full stop (or ! or ?) last, and no code-like `word: detail` start. */
function isSentence(text: string): boolean {
  return /^\p{Lu}/u.test(text) && /[.!?…]$/.test(text.trim()) && !/^\S+: /.test(text);
}

/**
 * A message fit to show the user, as a sentence: the backend's own text when
 * it reads as one, else a sentence for its kind, else its text with a capital
 * and a full stop. Never a raw error string.
 */
export function errorMessage(error: unknown): string {
  if (!isBackendError(error)) return "Something went wrong. Please try again.";
  const text = error.message.trim();
  if (isSentence(text)) return text;
  const sentence = SENTENCES[error.kind];
  if (sentence || text === "" || /^\S+: /.test(text) || /error|exception|\bat\b.*\(/i.test(text))
    return sentence ?? "Something went wrong. Please try again.";
  return `${text.charAt(0).toLocaleUpperCase()}${text.slice(1)}.`;
}
