// Making contact: a one-time invitation (QR + link), connecting with a link
// (typed, pasted or scanned), the long-term contact address and the requests
// it received.

import { useEffect, useRef, useState } from "preact/hooks";
import {
  isBackendError,
  type Backend,
  type ChatId,
  type ContactAddress,
  type Invitation,
  type RequestView,
} from "../backend";
import { errorMessage } from "../errors";
import { listStamp } from "../format";
import { parseInviteLink, type ParsedLink } from "../invite-link";
import { joinWithLink } from "../join";
import { BusyLabel } from "./busy";
import { CopyButton } from "./copy-button";
import { Dialog } from "./dialog";
import { QrCode } from "./qr-code";
import { QrScanner } from "./qr-scanner";

const NOT_A_LINK = "This is not a Sotto invitation, contact address or group link.";

/**
 * Joining with a link from a dialog: `opening` until the chat exists (then
 * `onConnected`) or the link is refused (then `error` holds the reason).
 * Closing the dialog stops the wait; the chat may still appear later.
 */
function useJoin(backend: Backend, onConnected: (chat: ChatId) => void) {
  const [opening, setOpening] = useState(false);
  const [error, setError] = useState("");
  /** The link is of someone the user has this chat with: open it, or connect it again with the link. */
  const [existing, setExisting] = useState<{ chat: ChatId; link: string } | null>(null);
  const waiting = useRef<AbortController | null>(null);
  useEffect(() => () => waiting.current?.abort(), []);
  async function join(link: string) {
    waiting.current?.abort();
    const controller = new AbortController();
    waiting.current = controller;
    setOpening(true);
    setError("");
    setExisting(null);
    try {
      const chat = await joinWithLink(backend, link, controller.signal);
      onConnected(chat);
    } catch (caught) {
      if (controller.signal.aborted) return;
      setError(errorMessage(caught));
      const chat = isBackendError(caught) ? caught.existing : null;
      if (chat !== undefined && chat !== null) setExisting({ chat, link });
      setOpening(false);
    }
  }
  async function reconnect() {
    if (!existing) return;
    setError("");
    try {
      await backend.reconnect(existing.chat, existing.link);
      onConnected(existing.chat);
    } catch (caught) {
      setError(errorMessage(caught));
    }
  }
  const choice = existing && (
    <div class="buttons">
      <button type="button" onClick={() => onConnected(existing.chat)}>
        Open chat
      </button>
      <button type="button" class="primary" onClick={() => void reconnect()}>
        Connect again
      </button>
    </div>
  );
  return { opening, error, setError, join, choice };
}

/** Shown while a link is being opened (the relay is asked for the invitation). */
function Opening() {
  return (
    <p role="status" class="muted">
      Opening the link…
    </p>
  );
}

export function InviteDialog({
  backend,
  onClose,
  onConnected,
  onGroupLink,
}: {
  backend: Backend;
  onClose: () => void;
  onConnected: (chat: ChatId) => void;
  /** A group link was given: joining the group is asked in a dialog of its own. */
  onGroupLink: (link: ParsedLink) => void;
}) {
  const [invitation, setInvitation] = useState<Invitation | null>(null);
  const [error, setError] = useState("");

  useEffect(() => {
    backend.createInvitation().then(setInvitation, (caught: unknown) => setError(errorMessage(caught)));
  }, [backend]);

  // Someone joined with this invitation: show the chat with them.
  const latest = useRef(onConnected);
  latest.current = onConnected;
  useEffect(() => {
    if (!invitation) return;
    return backend.subscribe((event) => {
      if (event.type === "invitation_used" && event.invitation === invitation.id) latest.current(event.chat);
    });
  }, [backend, invitation]);

  return (
    <Dialog title="New chat" onClose={onClose} wide>
      <section class="stack" aria-labelledby="invite-heading">
        <h3 id="invite-heading">Invite someone</h3>
        <p class="muted">
          Show this QR code or send the link over a channel you trust. It works once; the keys in it let only the person
          who uses it reach you.
        </p>
        {invitation ? (
          <>
            <QrCode text={invitation.qrPayload} label="Invitation QR code" />
            <div class="link-row">
              <input
                readOnly
                value={invitation.link}
                aria-label="Invitation link"
                class="mono"
                onFocus={(e) => e.currentTarget.select()}
              />
              <CopyButton text={invitation.link} />
            </div>
          </>
        ) : (
          !error && <p role="status">Creating an invitation…</p>
        )}
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
      </section>
      <hr />
      <ConnectForm backend={backend} onConnected={onConnected} onGroupLink={onGroupLink} />
    </Dialog>
  );
}

function ConnectForm({
  backend,
  onConnected,
  onGroupLink,
}: {
  backend: Backend;
  onConnected: (chat: ChatId) => void;
  onGroupLink: (link: ParsedLink) => void;
}) {
  const [link, setLink] = useState("");
  const [scanning, setScanning] = useState(false);
  const { opening, error, setError, join, choice } = useJoin(backend, onConnected);
  function submit(event: Event) {
    event.preventDefault();
    const parsed = parseInviteLink(link);
    if (!parsed) return setError(NOT_A_LINK);
    setScanning(false);
    if (parsed.kind === "group") return onGroupLink(parsed);
    void join(parsed.link);
  }
  /** A scanned code: a Sotto link connects at once; anything else is said and scanning goes on. */
  function scanned(text: string): boolean {
    const parsed = parseInviteLink(text);
    if (!parsed) {
      setError("This QR code is not a Sotto invitation or contact address.");
      return false;
    }
    setScanning(false);
    setLink(parsed.link);
    if (parsed.kind === "group") onGroupLink(parsed);
    else void join(parsed.link);
    return true;
  }
  return (
    <form class="stack" onSubmit={submit} aria-labelledby="connect-heading">
      <h3 id="connect-heading">Connect with a link you received</h3>
      <label>
        Invitation, contact address or group link
        <input
          value={link}
          onInput={(e) => setLink(e.currentTarget.value)}
          placeholder="https://…/invite#…"
          class="mono"
          disabled={opening}
        />
      </label>
      {scanning && <QrScanner label="Camera: invitation QR code" onText={scanned} />}
      {opening && <Opening />}
      <p class="error" role="alert">
        {error}
      </p>
      {choice}
      <div class="buttons">
        <button
          type="button"
          onClick={() => {
            setError("");
            setScanning(!scanning);
          }}
          disabled={opening}
        >
          {scanning ? "Stop scanning" : "Scan a QR code"}
        </button>
        <button type="submit" class="primary" disabled={opening || link.trim() === ""}>
          <BusyLabel busy={opening} label="Connect" busyLabel="Connecting…" />
        </button>
      </div>
    </form>
  );
}

/** Offered when the page was opened with `/invite#…` or `/contact#…` (`/group#…` opens `JoinGroupDialog`). */
export function ConnectInvitation({
  backend,
  invite,
  onClose,
  onConnected,
}: {
  backend: Backend;
  invite: ParsedLink;
  onClose: () => void;
  onConnected: (chat: ChatId) => void;
}) {
  const { opening, error, join, choice } = useJoin(backend, onConnected);
  return (
    <Dialog
      title={invite.kind === "invite" ? "Connect with this invitation?" : "Send a contact request?"}
      onClose={onClose}
    >
      <div class="stack">
        <p>
          {invite.kind === "invite"
            ? "You opened a one-time Sotto invitation. Connecting creates an end-to-end encrypted chat with the person who made it."
            : "You opened a Sotto contact address. Its owner will see your name and can accept or reject the request."}
        </p>
        {opening && <Opening />}
        <p class="error" role="alert">
          {error}
        </p>
        {choice}
        <div class="buttons">
          <button type="button" onClick={onClose}>
            {error ? "Close" : "Not now"}
          </button>
          <button type="button" class="primary" onClick={() => void join(invite.link)} disabled={opening} autoFocus>
            <BusyLabel busy={opening} label="Connect" busyLabel="Connecting…" />
          </button>
        </div>
      </div>
    </Dialog>
  );
}

export function ContactAddressDialog({
  backend,
  requests,
  onRequestsChange,
  onClose,
  onAccepted,
}: {
  backend: Backend;
  requests: RequestView[];
  onRequestsChange: (requests: RequestView[]) => void;
  onClose: () => void;
  onAccepted: (chat: ChatId) => void;
}) {
  const [address, setAddress] = useState<ContactAddress | null | undefined>(undefined);
  const [error, setError] = useState("");

  useEffect(() => {
    backend.contactAddress().then(setAddress, (caught: unknown) => setError(errorMessage(caught)));
  }, [backend]);

  async function run(task: () => Promise<void>) {
    setError("");
    try {
      await task();
    } catch (caught) {
      setError(errorMessage(caught));
    }
  }

  const now = Date.now();
  return (
    <Dialog title="Contact address and requests" onClose={onClose} wide>
      <section class="stack" aria-labelledby="requests-heading">
        <h3 id="requests-heading">Contact requests</h3>
        {requests.length === 0 ? (
          <p class="muted">No requests waiting.</p>
        ) : (
          <ul class="requests">
            {requests.map((request) => (
              <li key={request.id}>
                <span dir="auto" class="private">
                  {request.name}
                </span>
                <span class="muted small">{listStamp(request.received_at, now)}</span>
                <button
                  type="button"
                  onClick={() =>
                    run(async () => {
                      await backend.rejectRequest(request.id);
                      onRequestsChange(requests.filter((other) => other.id !== request.id));
                    })
                  }
                  aria-label={`Reject ${request.name}`}
                >
                  Reject
                </button>
                <button
                  type="button"
                  class="primary"
                  onClick={() =>
                    run(async () => {
                      const chat = await backend.acceptRequest(request.id);
                      onRequestsChange(requests.filter((other) => other.id !== request.id));
                      onAccepted(chat);
                    })
                  }
                  aria-label={`Accept ${request.name}`}
                >
                  Accept
                </button>
              </li>
            ))}
          </ul>
        )}
      </section>
      <hr />
      <section class="stack" aria-labelledby="address-heading">
        <h3 id="address-heading">Your contact address</h3>
        <p class="muted">
          A long-term link anyone can use to send you a contact request. Share it where you like; delete it to stop new
          requests, and make a new one whenever you want.
        </p>
        {address === undefined ? null : address === null ? (
          <button
            type="button"
            class="primary"
            onClick={() => run(async () => setAddress(await backend.createContactAddress()))}
          >
            Create a contact address
          </button>
        ) : (
          <>
            <QrCode text={address.qrPayload} label="Contact address QR code" />
            <div class="link-row">
              <input
                readOnly
                value={address.link}
                aria-label="Contact address link"
                class="mono"
                onFocus={(e) => e.currentTarget.select()}
              />
              <CopyButton text={address.link} />
            </div>
            <button
              type="button"
              class="danger"
              onClick={() =>
                window.confirm("Delete this contact address? Nobody will be able to send a request to it again.") &&
                run(async () => {
                  await backend.deleteContactAddress();
                  setAddress(null);
                })
              }
            >
              Delete address
            </button>
          </>
        )}
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
      </section>
    </Dialog>
  );
}
