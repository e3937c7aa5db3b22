// The compose box: Enter sends, Shift+Enter starts a new line, Esc cancels a
// reply or an edit, Up in an empty box edits the last message sent. It grows
// with its text, wrapped lines included, up to a limit, and keeps what was
// typed but not sent as the chat's draft. An emoji picker inserts emoji where
// the cursor is.

import type { RefObject } from "preact";
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import type { MessageItem } from "../backend";
import { EmojiPicker } from "./emoji-picker";
import { durationText, startRecording, type Recording } from "../files";
import { errorMessage } from "../errors";
import { IconAttach, IconClose, IconEmoji, IconMic, IconReply, IconSend } from "./icons";

export type ComposerMode = { type: "new" } | { type: "reply"; item: MessageItem } | { type: "edit"; item: MessageItem };

/** Stop "typing" this long after the last key. */
const TYPING_IDLE_MS = 4000;
const MAX_ROWS = 8;

/** Whether a key press in the compose box sends the message. */
export function sendsMessage(
  event: Pick<KeyboardEvent, "key" | "shiftKey" | "isComposing" | "altKey" | "ctrlKey" | "metaKey">,
): boolean {
  return event.key === "Enter" && !event.shiftKey && !event.isComposing && !event.altKey;
}

/** The "@name" being typed just before the cursor, if any: where it starts and what follows the @. */
export function mentionQuery(text: string, caret: number): { start: number; query: string } | null {
  const match = /(^|\s)@([^\s@]{0,32})$/.exec(text.slice(0, caret));
  if (!match) return null;
  return { start: caret - match[2]!.length - 1, query: match[2]! };
}

/** The members named with "@name" in `text`, among those picked while typing it. */
export function mentionedIn(text: string, picked: readonly { id: string; name: string }[]): string[] {
  return [...new Set(picked.filter((member) => text.includes(`@${member.name}`)).map((member) => member.id))];
}

export function Composer({
  inputRef,
  mode,
  contact,
  members,
  onCancel,
  onSend,
  onEditLast,
  onTyping,
  draft = "",
  onDraft,
  onFiles,
  onVoice,
  onError,
}: {
  inputRef: RefObject<HTMLTextAreaElement | null>;
  mode: ComposerMode;
  contact: string;
  /** In a group, the other members, offered when "@" is typed. */
  members?: readonly { id: string; name: string }[];
  onCancel: () => void;
  /** `mentions`: the members the text mentions (ids), in a group. */
  onSend: (text: string, mentions: string[]) => Promise<void>;
  onEditLast: () => void;
  onTyping: (typing: boolean) => void;
  /** What was typed in this chat before and not sent. */
  draft?: string;
  /** Keeps the text typed but not sent (not while editing a message). */
  onDraft?: (text: string) => void;
  /** Files picked with the attach button or pasted (an image copied, say): sent as they are. */
  onFiles?: (files: File[]) => void;
  /** A voice message recorded with the microphone button. */
  onVoice?: (recorded: Awaited<ReturnType<Recording["finish"]>>) => void;
  /** Says what went wrong (no microphone, say). */
  onError?: (message: string) => void;
}) {
  const picker = useRef<HTMLInputElement>(null);
  const [recording, setRecording] = useState<Recording | null>(null);
  const [elapsed, setElapsed] = useState(0);
  useEffect(() => {
    if (!recording) return;
    const tick = window.setInterval(() => setElapsed(recording.elapsed()), 200);
    return () => window.clearInterval(tick);
  }, [recording]);
  // A recording under way stops with the composer (another chat opened, say).
  useEffect(() => () => recording?.cancel(), [recording]);

  async function record() {
    try {
      setElapsed(0);
      setRecording(await startRecording());
    } catch (caught) {
      onError?.(
        caught instanceof DOMException && caught.name === "NotAllowedError"
          ? "The microphone is not allowed for this page: allow it in the browser to record a voice message."
          : caught instanceof DOMException
            ? "No microphone could be used to record a voice message."
            : errorMessage(caught),
      );
    }
  }

  async function finishRecording() {
    const current = recording;
    if (!current) return;
    setRecording(null);
    onVoice?.(await current.finish());
  }
  const [text, setText] = useState(draft);
  /** Members picked from the "@" list for this text. */
  const picked = useRef<{ id: string; name: string }[]>([]);
  /** The "@name" being typed, and the members it matches. */
  const [mention, setMention] = useState<{ start: number; query: string } | null>(null);
  const suggestions =
    mention && members
      ? members.filter((member) => member.name.toLowerCase().startsWith(mention.query.toLowerCase())).slice(0, 6)
      : [];

  /** Replaces the "@name" being typed with the member's full name. */
  function pickMention(member: { id: string; name: string }) {
    const box = inputRef.current;
    if (!mention) return;
    const end = box?.selectionStart ?? text.length;
    const inserted = `@${member.name} `;
    picked.current.push(member);
    caret.current = mention.start + inserted.length;
    setMention(null);
    onInput(text.slice(0, mention.start) + inserted + text.slice(end));
    box?.focus();
  }
  /** The emoji button, while its picker is open. */
  const [picking, setPicking] = useState<HTMLElement | null>(null);
  /** Where the cursor goes once an inserted emoji is in the box. */
  const caret = useRef<number | null>(null);

  useLayoutEffect(() => {
    const box = inputRef.current;
    if (caret.current === null || !box) return;
    box.setSelectionRange(caret.current, caret.current);
    caret.current = null;
  }, [text, inputRef]);

  /** Puts `emoji` where the cursor is (over the selection); the picker stays open for more. */
  function insertEmoji(emoji: string) {
    const box = inputRef.current;
    const start = box?.selectionStart ?? text.length;
    const end = box?.selectionEnd ?? text.length;
    caret.current = start + emoji.length;
    onInput(text.slice(0, start) + emoji + text.slice(end));
  }

  // The text as it wraps: the box takes its height, up to its CSS max-height.
  useLayoutEffect(() => {
    const box = inputRef.current;
    if (!box) return;
    box.style.height = "auto";
    box.style.height = `${box.scrollHeight + box.offsetHeight - box.clientHeight}px`;
  }, [text, inputRef]);

  const lastMode = useRef(mode.type);
  useEffect(() => {
    // An edit's text is the message's, not a draft.
    if (mode.type !== "edit" && lastMode.current !== "edit") onDraft?.(text);
    lastMode.current = mode.type;
  }, [text, mode.type, onDraft]);
  const typing = useRef<number | null>(null);

  // Before the browser paints or takes more input: a prefill left to a later
  // effect could overwrite what the user has started typing meanwhile.
  useLayoutEffect(() => {
    if (mode.type === "edit") setText(mode.item.text);
    inputRef.current?.focus();
  }, [mode, inputRef]);

  useEffect(() => () => stopTyping(), []);

  function stopTyping() {
    if (typing.current !== null) {
      window.clearTimeout(typing.current);
      typing.current = null;
      onTyping(false);
    }
  }

  function onInput(value: string, caretAt?: number) {
    setText(value);
    setMention(members && caretAt !== undefined ? mentionQuery(value, caretAt) : null);
    if (value === "") return stopTyping();
    if (typing.current === null) onTyping(true);
    else window.clearTimeout(typing.current);
    typing.current = window.setTimeout(stopTyping, TYPING_IDLE_MS);
  }

  async function submit() {
    const message = text.trim();
    if (message === "") return;
    stopTyping();
    const before = text;
    const mentions = mentionedIn(message, picked.current);
    setText("");
    setMention(null);
    try {
      await onSend(message, mentions);
      picked.current = [];
    } catch {
      setText(before);
    }
  }

  function onKeyDown(event: KeyboardEvent) {
    const first = suggestions[0];
    if (first && (event.key === "Tab" || (event.key === "Enter" && !event.shiftKey))) {
      event.preventDefault();
      pickMention(first);
      return;
    }
    if (mention && event.key === "Escape") {
      event.preventDefault();
      setMention(null);
      return;
    }
    if (sendsMessage(event)) {
      event.preventDefault();
      void submit();
    } else if (event.key === "Escape" && mode.type !== "new") {
      event.preventDefault();
      setText("");
      onCancel();
    } else if (event.key === "ArrowUp" && text === "" && mode.type === "new") {
      event.preventDefault();
      onEditLast();
    }
  }

  const rows = Math.min(MAX_ROWS, Math.max(1, text.split("\n").length));
  return (
    <form
      class="composer"
      onSubmit={(event) => {
        event.preventDefault();
        void submit();
      }}
    >
      {mode.type !== "new" && (
        <div class="composer-context">
          <IconReply />
          <div class="composer-context-text">
            <strong>
              {mode.type === "reply"
                ? `Replying to ${mode.item.direction === "outgoing" ? "yourself" : (mode.item.sender?.name ?? contact)}`
                : "Editing"}
            </strong>
            <span class="private" dir="auto">
              {mode.item.text}
            </span>
          </div>
          <button
            type="button"
            class="icon-button"
            aria-label={mode.type === "reply" ? "Cancel reply" : "Cancel edit"}
            onClick={() => {
              setText("");
              onCancel();
            }}
          >
            <IconClose />
          </button>
        </div>
      )}
      <div class="composer-row">
        <button
          type="button"
          class="icon-button emoji-button"
          aria-label="Emoji"
          aria-haspopup="dialog"
          aria-expanded={picking !== null}
          title="Emoji"
          onClick={(event) => setPicking(picking ? null : event.currentTarget)}
        >
          <IconEmoji />
        </button>
        {onFiles && (
          <>
            <button
              type="button"
              class="icon-button attach-button"
              aria-label="Attach files"
              title="Attach files"
              onClick={() => picker.current?.click()}
            >
              <IconAttach />
            </button>
            <input
              ref={picker}
              type="file"
              multiple
              hidden
              aria-label="Files to send"
              onChange={(event) => {
                const files = [...(event.currentTarget.files ?? [])];
                event.currentTarget.value = "";
                if (files.length > 0) onFiles(files);
              }}
            />
          </>
        )}
        {recording && (
          <div class="recording" role="status" aria-label="Recording a voice message">
            <span class="recording-dot" aria-hidden="true" />
            Recording {durationText(elapsed)}
            <button
              type="button"
              class="icon-button"
              aria-label="Cancel recording"
              onClick={() => {
                recording.cancel();
                setRecording(null);
              }}
            >
              <IconClose />
            </button>
            <button type="button" class="icon-button send" aria-label="Send voice message" onClick={finishRecording}>
              <IconSend />
            </button>
          </div>
        )}
        <textarea
          hidden={recording !== null}
          ref={inputRef}
          onPaste={(event) => {
            const files = [...(event.clipboardData?.files ?? [])];
            if (!onFiles || files.length === 0) return;
            // Files on the clipboard (an image copied, say) are sent; text pastes as text.
            event.preventDefault();
            onFiles(files);
          }}
          rows={rows}
          value={text}
          placeholder="Type a message"
          aria-label={`Message to ${contact}`}
          aria-keyshortcuts="Enter"
          onInput={(event) => onInput(event.currentTarget.value, event.currentTarget.selectionStart ?? undefined)}
          onKeyDown={onKeyDown}
        />
        {onVoice && text.trim() === "" && mode.type === "new" && !recording ? (
          <button
            type="button"
            class="icon-button"
            aria-label="Record a voice message"
            title="Record a voice message"
            onClick={() => void record()}
          >
            <IconMic />
          </button>
        ) : (
          !recording && (
            <button
              class="icon-button send"
              type="submit"
              aria-label={mode.type === "edit" ? "Save edit" : "Send"}
              disabled={text.trim() === ""}
            >
              <IconSend />
            </button>
          )
        )}
      </div>
      {suggestions.length > 0 && (
        <ul class="mention-list" role="listbox" aria-label="Members to mention">
          {suggestions.map((member, index) => (
            <li key={member.id} role="option" aria-selected={index === 0}>
              <button
                type="button"
                tabIndex={-1}
                onMouseDown={(event) => event.preventDefault()}
                onClick={() => pickMention(member)}
              >
                <span dir="auto" class="private">
                  {member.name}
                </span>
              </button>
            </li>
          ))}
        </ul>
      )}
      {picking && (
        <EmojiPicker
          label="Emoji"
          anchor={picking}
          side="left"
          returnFocus={inputRef.current}
          onPick={insertEmoji}
          onClose={() => setPicking(null)}
        />
      )}
    </form>
  );
}
