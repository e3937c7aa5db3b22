// Per-chat dialogs: the security code, and the chat's settings (disappearing
// timer, mute, read receipts).

import { useEffect, useState } from "preact/hooks";
import { TIMER_CHOICES, type Backend, type ChatView, type ReceiptSetting, type SecurityCode } from "../backend";
import type { ShownChat } from "../chat-state";
import { errorMessage } from "../errors";
import { chatName, groupDigits, timerLabel } from "../format";
import { parseInviteLink } from "../invite-link";
import { Dialog } from "./dialog";
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

export function ChatSettingsDialog({
  backend,
  chat,
  onMute,
  onClose,
  onOpenSecurity,
}: {
  backend: Backend;
  chat: ShownChat;
  /** Mutes the chat or not (a setting of the UI's, not the core's). */
  onMute: (muted: boolean) => Promise<void>;
  onClose: () => void;
  onOpenSecurity: () => void;
}) {
  const [error, setError] = useState("");
  async function run(task: Promise<void>) {
    setError("");
    try {
      await task;
    } catch (caught) {
      setError(errorMessage(caught));
    }
  }
  return (
    <Dialog title={`Chat with ${chatName(chat)}`} onClose={onClose}>
      <div class="stack">
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
                  onChange={() => run(backend.setTimer(chat.id, seconds))}
                />
                {timerLabel(seconds)}
              </label>
            ))}
          </div>
        </fieldset>
        <label class="switch">
          <input type="checkbox" checked={chat.muted} onChange={(e) => run(onMute(e.currentTarget.checked))} />
          Mute notifications
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
        <button type="button" onClick={onOpenSecurity}>
          Security code{chat.verified ? " (verified)" : ""}
        </button>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
      </div>
    </Dialog>
  );
}
