// Per-chat dialogs: the security code, and the contact info panel (names,
// verification, disappearing timer, notifications, read receipts, block,
// clear, delete).

import { useEffect, useState } from "preact/hooks";
import {
  MUTED_ALWAYS,
  TIMER_CHOICES,
  type Backend,
  type ChatId,
  type ChatView,
  type ReceiptSetting,
  type SecurityCode,
} from "../backend";
import type { ShownChat } from "../chat-state";
import { errorMessage } from "../errors";
import { chatName, groupDigits, mutedLabel, timerLabel } from "../format";
import { parseInviteLink } from "../invite-link";
import { Avatar } from "./avatar";
import { MUTE_CHOICES, type ChatAction } from "./chat-menu";
import { Dialog } from "./dialog";
import { MediaSettings } from "./media-settings";
import { QrCode } from "./qr-code";
import { QrScanner } from "./qr-scanner";

/** What scanning the contact's code showed. */
type ScanResult = "match" | "mismatch" | "link";

export function SecurityCodeDialog({
  backend,
  chat,
  onClose,
}: {
  backend: Backend;
  chat: ChatView;
  onClose: () => void;
}) {
  const [code, setCode] = useState<SecurityCode | null>(null);
  const [error, setError] = useState("");
  const [scanning, setScanning] = useState(false);
  const [scan, setScan] = useState<ScanResult | null>(null);
  useEffect(() => {
    backend.securityCode(chat.id).then(setCode, (caught: unknown) => setError(errorMessage(caught)));
  }, [backend, chat.id, chat.verified]);

  async function toggle() {
    if (!code) return;
    try {
      await backend.setVerified(chat.id, !code.verified);
      setCode({ ...code, verified: !code.verified });
    } catch (caught) {
      setError(errorMessage(caught));
    }
  }

  /** A code seen by the camera: compared by the core with this chat's own. */
  function scanned(text: string): boolean {
    setScanning(false);
    if (parseInviteLink(text)) {
      setScan("link");
      return true;
    }
    backend.securityCodeMatches(chat.id, text).then(
      (matches) => setScan(matches ? "match" : "mismatch"),
      (caught: unknown) => setError(errorMessage(caught)),
    );
    return true;
  }

  const name = chatName(chat);
  return (
    <Dialog title={`Security code with ${chatName(chat)}`} onClose={onClose}>
      <div class="stack">
        <p class="muted">
          Compare these numbers with {chatName(chat)}, in person or on a call, or scan each other's code. If they match,
          no one is in the middle of your conversation.
        </p>
        {code && (
          <>
            <p class="security-code mono" aria-label={`Security code: ${groupDigits(code.digits).join(" ")}`}>
              {groupDigits(code.digits).map((group, index) => (
                <span key={index}>{group}</span>
              ))}
            </p>
            <QrCode text={code.qrPayload} label="Security code QR code" />
            <p role="status">
              {code.verified ? `${chatName(chat)} is verified.` : `${chatName(chat)} is not verified.`}
            </p>
            {scanning && <QrScanner label={`Camera: ${name}'s security code`} onText={scanned} />}
            {scan === "match" && (
              <p class="success" role="alert">
                The codes match: this is {name}'s security code for this chat.
                {code.verified ? "" : " You can mark them as verified."}
              </p>
            )}
            {scan === "mismatch" && (
              <p class="warning" role="alert">
                The codes do not match. Either this is not {name}'s code for this chat, or someone is in the middle of
                your conversation. Do not mark {name} as verified; compare again in person.
              </p>
            )}
            {scan === "link" && (
              <p class="warning" role="alert">
                That QR code is an invitation or contact address, not a security code. Scan the code on {name}'s
                security code screen.
              </p>
            )}
            <div class="buttons">
              <button
                type="button"
                onClick={() => {
                  setScan(null);
                  setScanning(!scanning);
                }}
              >
                {scanning ? "Stop scanning" : `Scan ${name}'s code`}
              </button>
              <button type="button" class={(scan === "mismatch") === code.verified ? "primary" : ""} onClick={toggle}>
                {code.verified ? "Clear verification" : "Mark as verified"}
              </button>
            </div>
          </>
        )}
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
      </div>
    </Dialog>
  );
}

/** What the chat's notification setting shows: on, muted until a time, or always muted. */
function muteChoice(chat: ShownChat): string {
  if (!chat.muted) return "on";
  return chat.muted_until === null || chat.muted_until >= MUTED_ALWAYS ? "always" : "until";
}

/**
 * The contact info panel: who the chat is with (their name, the name given
 * on this device, their bio, verification), the chat's settings (timer,
 * receipts, notifications) and what can be done to it (block, clear, delete).
 */
export function ContactInfoDialog({
  backend,
  chat,
  onAction,
  onClose,
  onOpenSecurity,
}: {
  backend: Backend;
  chat: ShownChat;
  /** Mute, block, clear, delete: the chat list's own handling (with its confirmations). */
  onAction: (chat: ChatId, action: ChatAction) => void;
  onClose: () => void;
  onOpenSecurity: () => void;
}) {
  const [error, setError] = useState("");
  const [alias, setAlias] = useState(chat.alias ?? "");
  const [saved, setSaved] = useState("");
  async function run(task: Promise<void>) {
    setError("");
    try {
      await task;
    } catch (caught) {
      setError(errorMessage(caught));
    }
  }
  const name = chatName(chat);
  const mute = muteChoice(chat);
  return (
    <Dialog title="Contact info" onClose={onClose}>
      <div class="stack">
        <div class="contact-card">
          <Avatar name={name} />
          <div>
            <p dir="auto" class="contact-name private">
              {name}
            </p>
            {chat.alias !== null && (
              <p dir="auto" class="muted small private">
                Their name: {chat.name ?? "not known yet"}
              </p>
            )}
            {chat.bio && (
              <p dir="auto" class="contact-bio private">
                {chat.bio}
              </p>
            )}
            <p class="muted small">
              {chat.blocked ? "Blocked" : stateText(chat.state)} · {chat.verified ? "Verified" : "Not verified"}
            </p>
          </div>
        </div>
        <form
          class="inline-form"
          onSubmit={(event) => {
            event.preventDefault();
            setSaved("");
            void run(
              backend.setAlias(chat.id, alias.trim()).then(() => setSaved(alias.trim() ? "Saved." : "Removed.")),
            );
          }}
        >
          <label>
            Name on this device
            <input
              value={alias}
              maxLength={100}
              placeholder={chat.name ?? ""}
              onInput={(e) => setAlias(e.currentTarget.value)}
            />
          </label>
          <button type="submit">Save name</button>
          <span class="muted small" role="status">
            {saved}
          </span>
        </form>
        <p class="muted small">Only you see this name; {chat.name ?? "your contact"} is not told.</p>
        <button type="button" onClick={onOpenSecurity}>
          {chat.verified ? "Security code (verified)" : "Compare the security code"}
        </button>
        <fieldset>
          <legend>Disappearing messages</legend>
          <p class="muted small">New messages in this chat disappear for both of you this long after they are sent.</p>
          <div class="choices">
            {TIMER_CHOICES.map((seconds) => (
              <label key={String(seconds)} class="choice">
                <input
                  type="radio"
                  name="timer"
                  checked={chat.timer_secs === seconds}
                  disabled={chat.blocked}
                  onChange={() => run(backend.setTimer(chat.id, seconds))}
                />
                {timerLabel(seconds)}
              </label>
            ))}
          </div>
        </fieldset>
        <label>
          Notifications
          <select
            value={mute}
            onChange={(e) => {
              const value = e.currentTarget.value;
              const choice = MUTE_CHOICES.find((candidate) => candidate.label === value);
              if (value === "on") onAction(chat.id, { type: "unmute" });
              else if (value === "always") onAction(chat.id, { type: "mute", duration: null });
              else if (choice) onAction(chat.id, { type: "mute", duration: choice.duration });
            }}
          >
            <option value="on">On</option>
            {mute === "until" && <option value="until">{mutedLabel(chat.muted_until, Date.now())}</option>}
            {MUTE_CHOICES.filter((choice) => choice.duration !== null).map((choice) => (
              <option key={choice.label} value={choice.label}>
                Muted for {choice.label}
              </option>
            ))}
            <option value="always">Muted always</option>
          </select>
        </label>
        <label>
          Read receipts in this chat
          <select
            value={chat.read_receipts}
            onChange={(e) => run(backend.setChatReadReceipts(chat.id, e.currentTarget.value as ReceiptSetting))}
          >
            <option value="default">As in settings</option>
            <option value="on">On</option>
            <option value="off">Off</option>
          </select>
        </label>
        <MediaSettings backend={backend} chat={chat} run={(task) => void run(task)} />
        <div class="buttons">
          {chat.blocked ? (
            <button type="button" onClick={() => onAction(chat.id, { type: "unblock" })}>
              Unblock
            </button>
          ) : (
            <button type="button" class="danger" onClick={() => onAction(chat.id, { type: "block" })}>
              Block…
            </button>
          )}
          <button type="button" class="danger" onClick={() => onAction(chat.id, { type: "clear" })}>
            Clear history…
          </button>
          <button type="button" class="danger" onClick={() => onAction(chat.id, { type: "delete" })}>
            Delete chat…
          </button>
        </div>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
      </div>
    </Dialog>
  );
}

/** Where the connection stands, in words. */
export function stateText(state: ChatView["state"]): string {
  switch (state) {
    case "joining":
    case "accepting":
      return "Connecting";
    case "awaiting_confirmation":
      return "Waiting for them to confirm";
    case "connected":
      return "Connected";
    case "disconnected":
      return "Not connected";
  }
}
