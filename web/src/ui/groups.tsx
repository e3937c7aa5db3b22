// Groups: a new group (its name, the contacts to add), the group info panel
// (members with their roles and security codes; promote and remove for
// admins; block a member for me; add members, by invitation or the group's
// link and its requests to join; leave; the group's timer and receipts),
// and the group invitations waiting for a decision ("who can add me to
// groups" is "nobody").

import { useEffect, useState } from "preact/hooks";
import type { Backend, ChatId, GroupInvitationView, GroupMemberView, GroupRole, ReceiptSetting } from "../backend";
import { TIMER_CHOICES } from "../backend";
import type { ShownChat } from "../chat-state";
import { errorMessage } from "../errors";
import { chatName, timerLabel } from "../format";
import { ChatAvatar } from "./group-pictures";
import type { ChatAction } from "./chat-menu";
import { Dialog } from "./dialog";
import { GroupLinkSection, JoinRequestsSection } from "./group-links";
import { GroupProfileSection } from "./group-profile";
import { GroupSelfSection, MemberAvatar, useMemberPictures } from "./group-self";
import { memberColour } from "./message-row";

/** The contacts that can be added to a group: connected direct chats, not blocked. */
export function addableContacts(chats: readonly ShownChat[], members: readonly GroupMemberView[] = []): ShownChat[] {
  const names = new Set(members.map((member) => member.name));
  return chats.filter(
    (chat) =>
      (chat.members === null || chat.members === undefined) &&
      chat.state === "connected" &&
      !chat.blocked &&
      !names.has(chatName(chat)),
  );
}

function roleText(role: GroupRole): string {
  return role === "owner" ? "Owner" : role === "admin" ? "Admin" : "Member";
}

/** Contacts to pick, as checkboxes. */
function ContactPicker({
  contacts,
  picked,
  onChange,
}: {
  contacts: readonly ShownChat[];
  picked: ReadonlySet<ChatId>;
  onChange: (picked: Set<ChatId>) => void;
}) {
  if (contacts.length === 0) return <p class="muted small">No contact to add yet: connect with someone first.</p>;
  return (
    <ul class="contact-picker" aria-label="Contacts">
      {contacts.map((contact) => (
        <li key={contact.id}>
          <label class="choice">
            <input
              type="checkbox"
              checked={picked.has(contact.id)}
              onChange={(event) => {
                const next = new Set(picked);
                if (event.currentTarget.checked) next.add(contact.id);
                else next.delete(contact.id);
                onChange(next);
              }}
            />
            <span dir="auto" class="private">
              {chatName(contact)}
            </span>
          </label>
        </li>
      ))}
    </ul>
  );
}

export function NewGroupDialog({
  backend,
  chats,
  onClose,
  onCreated,
}: {
  backend: Backend;
  chats: readonly ShownChat[];
  onClose: () => void;
  onCreated: (group: ChatId) => void;
}) {
  const [name, setName] = useState("");
  const [picked, setPicked] = useState<Set<ChatId>>(new Set());
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  const contacts = addableContacts(chats);
  async function create() {
    if (name.trim() === "") return setError("Give the group a name.");
    setBusy(true);
    setError("");
    try {
      onCreated(await backend.createGroup(name.trim(), [...picked]));
    } catch (caught) {
      setError(errorMessage(caught));
      setBusy(false);
    }
  }
  return (
    <Dialog title="New group" onClose={onClose}>
      <form
        class="stack"
        onSubmit={(event) => {
          event.preventDefault();
          void create();
        }}
      >
        <label>
          Group name
          <input value={name} maxLength={64} required onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <fieldset>
          <legend>Add contacts</legend>
          <p class="muted small">
            Each joins once their device answers the invitation; the group never learns who else they know.
          </p>
          <ContactPicker contacts={contacts} picked={picked} onChange={setPicked} />
        </fieldset>
        <div class="buttons">
          <button type="submit" class="primary" disabled={busy}>
            {busy ? "Creating…" : "Create group"}
          </button>
        </div>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
      </form>
    </Dialog>
  );
}

export function GroupInfoDialog({
  backend,
  chat,
  chats,
  onAction,
  onClose,
  onJoinRequests,
}: {
  backend: Backend;
  chat: ShownChat;
  chats: readonly ShownChat[];
  onAction: (chat: ChatId, action: ChatAction) => void;
  onClose: () => void;
  /** How many requests to join through the group's link wait for a decision now. */
  onJoinRequests?: (waiting: number) => void;
}) {
  const [members, setMembers] = useState<GroupMemberView[]>([]);
  const [error, setError] = useState("");
  const [status, setStatus] = useState("");
  const [codes, setCodes] = useState<ReadonlyMap<string, string>>(new Map());
  const [adding, setAdding] = useState(false);
  const [picked, setPicked] = useState<Set<ChatId>>(new Set());
  // Read again when the group's chat changes (a member's new name or picture comes with `chat_changed`).
  const [reads, setReads] = useState(0);
  useEffect(
    () =>
      backend.subscribe((event) => {
        if (event.type === "chat_changed" && event.chat.id === chat.id) setReads((count) => count + 1);
      }),
    [backend, chat.id],
  );
  useEffect(() => {
    let alive = true;
    backend.groupMembers(chat.id).then(
      (list) => alive && setMembers(list),
      (caught: unknown) => alive && setError(errorMessage(caught)),
    );
    return () => {
      alive = false;
    };
  }, [backend, chat.id, chat.members, chat.last_activity, reads]);
  const pictures = useMemberPictures(members);
  async function run(task: Promise<void>, done = "") {
    setError("");
    setStatus("");
    try {
      await task;
      setStatus(done);
    } catch (caught) {
      setError(errorMessage(caught));
    }
  }
  async function showCode(member: GroupMemberView) {
    try {
      const code = await backend.groupSecurityCode(chat.id, member.id);
      setCodes((previous) => new Map(previous).set(member.id, code.digits.replace(/(\d{5})(?=\d)/g, "$1 ")));
    } catch (caught) {
      setError(errorMessage(caught));
    }
  }
  const me = members.find((member) => member.me);
  // A group deleted (or whose log is gone) ends for everyone: its chat is disconnected.
  const ended = chat.state === "disconnected";
  const active = me !== undefined && !ended;
  const manages = active && me.role !== "member";
  const name = chatName(chat);
  return (
    <Dialog title="Group info" onClose={onClose} wide>
      <div class="stack">
        <div class="contact-card">
          <ChatAvatar chat={chat} name={name} />
          <div>
            <p dir="auto" class="contact-name private">
              {name}
            </p>
            <p class="muted small">
              {active
                ? `Group · ${members.length} members`
                : me !== undefined
                  ? "This group no longer exists."
                  : "You are no longer a member of this group."}
            </p>
          </div>
        </div>
        <GroupProfileSection
          backend={backend}
          group={chat.id}
          manages={manages && active}
          version={`${chat.last_activity} ${chat.name ?? ""}`}
        />
        {active && (
          <GroupSelfSection
            backend={backend}
            group={chat.id}
            me={me}
            picture={pictures.get(me.id)}
            onChanged={() => setReads((count) => count + 1)}
          />
        )}
        <section aria-labelledby="members-heading">
          <h3 id="members-heading">Members</h3>
          <ul class="member-list">
            {members.map((member) => (
              <li key={member.id} class="member">
                <span class="member-main">
                  <MemberAvatar name={member.name} picture={pictures.get(member.id)} />
                  <span dir="auto" class="member-name private" style={{ color: memberColour(member.id) }}>
                    {member.me ? `${member.name} (you)` : member.name}
                  </span>
                  <span class="tag">{roleText(member.role)}</span>
                  {member.blocked && <span class="tag">Blocked</span>}
                </span>
                {!member.me && (
                  <span class="member-actions">
                    <button type="button" class="link small" onClick={() => void showCode(member)}>
                      Security code
                    </button>
                    <button
                      type="button"
                      class="link small"
                      onClick={() =>
                        void run(
                          backend
                            .blockGroupMember(chat.id, member.id, !member.blocked)
                            .then(() =>
                              setMembers((list) =>
                                list.map((other) =>
                                  other.id === member.id ? { ...other, blocked: !member.blocked } : other,
                                ),
                              ),
                            ),
                          member.blocked
                            ? `${member.name}'s new messages show again.`
                            : `${member.name}'s messages are hidden, on this device only; no one is told.`,
                        )
                      }
                    >
                      {member.blocked ? `Unblock` : `Block`}
                    </button>
                    {manages && member.role !== "owner" && (
                      <button
                        type="button"
                        class="link small"
                        onClick={() =>
                          void run(
                            backend.setGroupRole(chat.id, member.id, member.role === "admin" ? "member" : "admin"),
                            member.role === "admin"
                              ? `${member.name} will be a member once the group has the change.`
                              : `${member.name} will be an admin once the group has the change.`,
                          )
                        }
                      >
                        {member.role === "admin" ? "Dismiss as admin" : "Make admin"}
                      </button>
                    )}
                    {manages && member.role !== "owner" && (
                      <button
                        type="button"
                        class="link small danger"
                        onClick={() =>
                          void run(
                            backend.removeGroupMember(chat.id, member.id),
                            `${member.name} is removed once the group has the change.`,
                          )
                        }
                      >
                        Remove
                      </button>
                    )}
                  </span>
                )}
                {codes.get(member.id) && (
                  <p class="security-digits small" aria-label={`Security code with ${member.name}`}>
                    {codes.get(member.id)}
                  </p>
                )}
              </li>
            ))}
          </ul>
          <p class="muted small">
            Compare a member's security code with them (in person or on a call): the same digits on both sides mean no
            one is in the middle. Codes differ in every group.
          </p>
        </section>
        {manages && (
          <section aria-labelledby="add-heading">
            {adding ? (
              <>
                <h3 id="add-heading">Add members</h3>
                <ContactPicker contacts={addableContacts(chats, members)} picked={picked} onChange={setPicked} />
                <div class="buttons">
                  <button
                    type="button"
                    class="primary"
                    disabled={picked.size === 0}
                    onClick={() =>
                      void run(
                        Promise.all([...picked].map((contact) => backend.inviteToGroup(chat.id, contact))).then(() => {
                          setPicked(new Set());
                          setAdding(false);
                        }),
                        "Invited: each joins once their device answers.",
                      )
                    }
                  >
                    Invite
                  </button>
                  <button type="button" onClick={() => setAdding(false)}>
                    Cancel
                  </button>
                </div>
              </>
            ) : (
              <button type="button" onClick={() => setAdding(true)}>
                Add members…
              </button>
            )}
          </section>
        )}
        {manages && <GroupLinkSection backend={backend} group={chat.id} />}
        {manages && <JoinRequestsSection backend={backend} group={chat.id} onChange={onJoinRequests} />}
        {active && (
          <fieldset>
            <legend>Disappearing messages</legend>
            <p class="muted small">New messages in this group disappear for everyone this long after they are sent.</p>
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
        )}
        <label>
          Read receipts in this group
          <select
            value={chat.read_receipts}
            onChange={(e) => run(backend.setChatReadReceipts(chat.id, e.currentTarget.value as ReceiptSetting))}
          >
            <option value="default">As in settings</option>
            <option value="on">On</option>
            <option value="off">Off</option>
          </select>
        </label>
        <div class="buttons">
          {active && (
            <button
              type="button"
              class="danger"
              onClick={() => void run(backend.leaveGroup(chat.id), "You leave once an admin's device has it.")}
            >
              Leave group
            </button>
          )}
          {active && me.role === "owner" && (
            <button
              type="button"
              class="danger"
              onClick={() =>
                window.confirm(
                  "Delete the group for everyone? No one can write to it or read it any more; each device keeps the history it has.",
                ) && void run(backend.deleteGroup(chat.id), "Deleted for everyone.")
              }
            >
              Delete group…
            </button>
          )}
          <button type="button" class="danger" onClick={() => onAction(chat.id, { type: "clear" })}>
            Clear history…
          </button>
        </div>
        <p class="muted small" role="status">
          {status}
        </p>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
      </div>
    </Dialog>
  );
}

/** The group invitations waiting for a decision, as a bar above the chat list. */
export function GroupInvitations({
  backend,
  invitations,
  names,
  onChange,
}: {
  backend: Backend;
  invitations: readonly GroupInvitationView[];
  /** Contacts' names, by chat. */
  names: ReadonlyMap<ChatId, string>;
  onChange: () => void;
}) {
  const [error, setError] = useState("");
  if (invitations.length === 0) return null;
  async function decide(task: Promise<void>) {
    setError("");
    try {
      await task;
    } catch (caught) {
      setError(errorMessage(caught));
    }
    onChange();
  }
  return (
    <section class="group-invitations" aria-label="Group invitations">
      {invitations.map((invitation) => (
        <div key={invitation.id} class="group-invitation">
          <p>
            <span dir="auto" class="private">
              {names.get(invitation.contact) ?? "A contact"}
            </span>{" "}
            invites you to{" "}
            <strong dir="auto" class="private">
              {invitation.name}
            </strong>
          </p>
          <div class="buttons">
            <button type="button" onClick={() => void decide(backend.declineGroupInvitation(invitation.id))}>
              Decline
            </button>
            <button
              type="button"
              class="primary"
              onClick={() => void decide(backend.acceptGroupInvitation(invitation.id))}
            >
              Join
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
