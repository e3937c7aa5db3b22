// Group links: an owner's or admin's "Invite via link" (the link, its QR
// code, approval by an admin or automatic, replace, delete) and "Requests to
// join" in the group info panel; joining with a group link (the group's name,
// the name to show in it, then waiting for an admin); the joins waiting.

import { useEffect, useRef, useState } from "preact/hooks";
import type {
  Backend,
  ChatId,
  GroupJoinRequestView,
  GroupLinkJoinId,
  GroupLinkJoinView,
  GroupLinkView,
} from "../backend";
import { errorMessage } from "../errors";
import { listStamp } from "../format";
import { pictureType } from "../group-pictures";
import { BusyLabel } from "./busy";
import { CopyButton } from "./copy-button";
import { Dialog } from "./dialog";
import { MemberAvatar, makeMemberPicture } from "./group-self";
import { QrCode } from "./qr-code";

/** The group's link as this device made it: shown, made, replaced, deleted, its approval changed. */
export function GroupLinkSection({ backend, group }: { backend: Backend; group: ChatId }) {
  /**
   * `undefined` while it loads (the approval choice waits for it, with neither
   * answer checked: the default would pass for the link's own), `null` for none.
   */
  const [link, setLink] = useState<GroupLinkView | null | undefined>(undefined);
  const [automatic, setAutomatic] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  useEffect(() => {
    let alive = true;
    backend.groupLink(group).then(
      (view) => {
        if (!alive) return;
        setLink(view);
        if (view) setAutomatic(view.automatic);
      },
      (caught: unknown) => alive && setError(errorMessage(caught)),
    );
    return () => {
      alive = false;
    };
  }, [backend, group]);
  async function run(task: () => Promise<void>) {
    setBusy(true);
    setError("");
    try {
      await task();
    } catch (caught) {
      setError(errorMessage(caught));
    }
    setBusy(false);
  }
  const make = () =>
    run(async () => {
      const view = await backend.createGroupLink(group, automatic);
      setLink(view);
    });
  return (
    <section class="stack" aria-labelledby="group-link-heading">
      <h3 id="group-link-heading">Invite via link</h3>
      <p class="muted small">
        Anyone with the link can ask to join under a name of their choice; it names no one and only this device receives
        the requests.
      </p>
      <fieldset>
        <legend>Who lets them in</legend>
        <div class="choices">
          <label class="choice">
            <input
              type="radio"
              name="link-approval"
              checked={link !== undefined && !automatic}
              disabled={busy || link === undefined}
              onChange={() => {
                setAutomatic(false);
                if (link) void run(() => backend.setGroupLinkApproval(group, false));
              }}
            />
            An admin approves each request
          </label>
          <label class="choice">
            <input
              type="radio"
              name="link-approval"
              checked={link !== undefined && automatic}
              disabled={busy || link === undefined}
              onChange={() => {
                setAutomatic(true);
                if (link) void run(() => backend.setGroupLinkApproval(group, true));
              }}
            />
            Automatically
          </label>
        </div>
      </fieldset>
      {link?.link ? (
        <>
          <QrCode text={link.link} label="Group link QR code" />
          <div class="link-row">
            <input
              readOnly
              value={link.link}
              aria-label="Group link"
              class="mono"
              onFocus={(e) => e.currentTarget.select()}
            />
            <CopyButton text={link.link} />
          </div>
          <div class="buttons">
            <button
              type="button"
              disabled={busy}
              onClick={() => window.confirm("Replace the link? The current one stops working.") && void make()}
            >
              Replace link
            </button>
            <button
              type="button"
              class="danger"
              disabled={busy}
              onClick={() =>
                window.confirm("Delete the link? Nobody can ask to join with it any more.") &&
                void run(async () => {
                  await backend.deleteGroupLink(group);
                  setLink(null);
                })
              }
            >
              Delete link
            </button>
          </div>
        </>
      ) : (
        link !== undefined && (
          <div class="buttons">
            <button type="button" class="primary" disabled={busy} onClick={() => void make()}>
              <BusyLabel busy={busy} label="Create link" busyLabel="Creating…" />
            </button>
          </div>
        )
      )}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}

/** The requests to join through the group's link, to approve or decline. */
export function JoinRequestsSection({
  backend,
  group,
  onChange,
}: {
  backend: Backend;
  group: ChatId;
  /** How many wait for a decision now. */
  onChange?: ((waiting: number) => void) | undefined;
}) {
  const [requests, setRequests] = useState<GroupJoinRequestView[]>([]);
  const [error, setError] = useState("");
  const latest = useRef(onChange);
  latest.current = onChange;
  useEffect(() => {
    let alive = true;
    const load = () =>
      backend.groupJoinRequests(group).then(
        (list) => {
          if (!alive) return;
          setRequests(list);
          latest.current?.(list.filter((request) => !request.approved).length);
        },
        (caught: unknown) => alive && setError(errorMessage(caught)),
      );
    void load();
    const unsubscribe = backend.subscribe((event) => {
      if (
        (event.type === "group_join_requested" && event.request.group === group) ||
        (event.type === "chat_changed" && event.chat.id === group)
      )
        void load();
    });
    return () => {
      alive = false;
      unsubscribe();
    };
  }, [backend, group]);
  async function decide(request: GroupJoinRequestView, approve: boolean) {
    setError("");
    try {
      await (approve ? backend.approveGroupJoin(request.id) : backend.declineGroupJoin(request.id));
      const list = await backend.groupJoinRequests(group);
      setRequests(list);
      latest.current?.(list.filter((other) => !other.approved).length);
    } catch (caught) {
      setError(errorMessage(caught));
    }
  }
  const waiting = requests.filter((request) => !request.approved).length;
  const now = Date.now();
  return (
    <section class="stack" aria-labelledby="join-requests-heading">
      <h3 id="join-requests-heading">
        Requests to join{" "}
        {waiting > 0 && (
          <span class="tag" aria-label={`${waiting} waiting`}>
            {waiting}
          </span>
        )}
      </h3>
      {requests.length === 0 ? (
        <p class="muted small">No requests waiting.</p>
      ) : (
        <ul class="requests" aria-label="Requests to join">
          {requests.map((request) => (
            <li key={request.id}>
              <span dir="auto" class="private">
                {request.name}
              </span>
              <span class="muted small">{listStamp(request.received_at, now)}</span>
              {request.approved ? (
                <span class="muted small">Approved: joining…</span>
              ) : (
                <>
                  <button
                    type="button"
                    onClick={() => void decide(request, false)}
                    aria-label={`Decline ${request.name}`}
                  >
                    Decline
                  </button>
                  <button
                    type="button"
                    class="primary"
                    onClick={() => void decide(request, true)}
                    aria-label={`Approve ${request.name}`}
                  >
                    Approve
                  </button>
                </>
              )}
            </li>
          ))}
        </ul>
      )}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}

/**
 * Joining a group with its link: the group's name, the name to show in it,
 * then "waiting for approval" until the welcome (`onJoined`) or a refusal.
 */
export function JoinGroupDialog({
  backend,
  link,
  onClose,
  onJoined,
}: {
  backend: Backend;
  link: string;
  onClose: () => void;
  onJoined: (group: ChatId) => void;
}) {
  const [group, setGroup] = useState<string | null>(null);
  /** The profile's name is offered as the name in the group. */
  const [name, setName] = useState("");
  /** The picture to show in the group, made small in the page; none when null. */
  const [picture, setPicture] = useState<Uint8Array | null>(null);
  const [pictureUrl, setPictureUrl] = useState<string | undefined>(undefined);
  const [join, setJoin] = useState<number | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  useEffect(() => {
    const type = picture && pictureType(picture);
    if (!picture || !type) return setPictureUrl(undefined);
    const url = URL.createObjectURL(new Blob([new Uint8Array(picture)], { type }));
    setPictureUrl(url);
    return () => URL.revokeObjectURL(url);
  }, [picture]);
  async function pick(file: File | undefined) {
    if (!file) return;
    setError("");
    const small = await makeMemberPicture(file);
    if (!small) return setError("That picture cannot be used: choose a JPEG, PNG or WebP image.");
    setPicture(small);
  }
  useEffect(() => {
    backend.groupLinkName(link).then(setGroup, (caught: unknown) => setError(errorMessage(caught)));
    backend.profile().then(
      (profile) => setName((typed) => typed || profile.displayName),
      () => undefined,
    );
  }, [backend, link]);
  // The answer: a welcome (the join is no longer waiting) or a refusal of this join.
  const latest = useRef(onJoined);
  latest.current = onJoined;
  useEffect(() => {
    if (join === null) return;
    return backend.subscribe((event) => {
      if (event.type === "group_join_refused" && event.join === join) {
        setJoin(null);
        setError(`The request was refused: ${event.reason}.`);
      } else if (event.type === "group_joined") {
        const group = event.group;
        backend.groupLinkJoins().then(
          (joins) => !joins.some((other) => other.id === join) && latest.current(group),
          () => undefined,
        );
      }
    });
  }, [backend, join]);
  async function ask() {
    setBusy(true);
    setError("");
    try {
      setJoin(await backend.joinGroupByLink(link, name.trim(), picture ?? undefined));
    } catch (caught) {
      setError(errorMessage(caught));
    }
    setBusy(false);
  }
  async function cancel() {
    if (join !== null) {
      try {
        await backend.cancelGroupLinkJoin(join);
      } catch (caught) {
        return setError(errorMessage(caught));
      }
    }
    onClose();
  }
  return (
    <Dialog title="Join a group" onClose={onClose}>
      <form
        class="stack"
        onSubmit={(event) => {
          event.preventDefault();
          void ask();
        }}
      >
        {group !== null && (
          <p>
            You opened the link of the group{" "}
            <strong dir="auto" class="private">
              {group}
            </strong>
            . Its members see only the name and picture you give here, never your other contacts or groups.
          </p>
        )}
        {join === null ? (
          <>
            <label>
              Your name in this group
              <input
                value={name}
                maxLength={64}
                onInput={(e) => setName(e.currentTarget.value)}
                disabled={busy || group === null}
              />
            </label>
            <div class="member-main">
              <MemberAvatar name={name || "?"} picture={pictureUrl} />
              <label>
                Your picture in this group (optional)
                <input
                  type="file"
                  accept="image/*"
                  onChange={(e) => void pick(e.currentTarget.files?.[0])}
                  disabled={busy || group === null}
                />
              </label>
            </div>
            {picture && (
              <button type="button" class="link small" onClick={() => setPicture(null)}>
                Remove the picture
              </button>
            )}
            {error && (
              <p class="error" role="alert">
                {error}
              </p>
            )}
            <div class="buttons">
              <button type="button" onClick={onClose}>
                Not now
              </button>
              <button type="submit" class="primary" disabled={busy || group === null || name.trim() === ""}>
                <BusyLabel busy={busy} label="Ask to join" busyLabel="Asking…" />
              </button>
            </div>
          </>
        ) : (
          <>
            <p role="status">Waiting for an admin's approval… You may close this: the group appears once you are in.</p>
            <div class="buttons">
              <button type="button" class="danger" onClick={() => void cancel()}>
                Cancel request
              </button>
              <button type="button" onClick={onClose}>
                Close
              </button>
            </div>
          </>
        )}
      </form>
    </Dialog>
  );
}

/** A join through a group link that ended without joining (`group_join_refused`). */
export interface RefusedJoin {
  join: GroupLinkJoinId;
  name: string;
  reason: string;
}

/** The joins through group links waiting for an admin, and those refused, as a bar above the chat list. */
export function WaitingJoins({
  backend,
  joins,
  refused,
  onChange,
  onDismiss,
}: {
  backend: Backend;
  joins: readonly GroupLinkJoinView[];
  /** Joins refused since (declined, or the link gone), until dismissed. */
  refused: readonly RefusedJoin[];
  onChange: () => void;
  onDismiss: (join: GroupLinkJoinId) => void;
}) {
  const [error, setError] = useState("");
  if (joins.length === 0 && refused.length === 0) return null;
  return (
    <section class="group-invitations" aria-label="Asked to join">
      {refused.map((join) => (
        <div key={join.join} class="group-invitation">
          <p>
            Your request to join{" "}
            <strong dir="auto" class="private">
              {join.name}
            </strong>{" "}
            was refused: {join.reason}.
          </p>
          <div class="buttons">
            <button type="button" onClick={() => onDismiss(join.join)}>
              Dismiss
            </button>
          </div>
        </div>
      ))}
      {joins.map((join) => (
        <div key={join.id} class="group-invitation">
          <p>
            Asked to join{" "}
            <strong dir="auto" class="private">
              {join.name}
            </strong>
            : waiting for approval
          </p>
          <div class="buttons">
            <button
              type="button"
              onClick={() => {
                setError("");
                backend
                  .cancelGroupLinkJoin(join.id)
                  .then(onChange, (caught: unknown) => setError(errorMessage(caught)));
              }}
            >
              Cancel request
            </button>
          </div>
        </div>
      ))}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}
