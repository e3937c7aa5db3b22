// What this user shows in one group — a name and a picture of this group's
// pseudonym, seen by its members only — changed in the group's info panel (any
// member), and the members' pictures as their avatars in its members list. The
// picture is made small in the page (a 64×64 WebP or JPEG thumbnail): it
// travels in the member's leaf of the group, at most 2048 bytes.

import { useEffect, useState } from "preact/hooks";
import type { Backend, ChatId, GroupMemberView } from "../backend";
import { errorMessage } from "../errors";
import { makeThumbnail } from "../files";
import { MAX_MEMBER_PICTURE_BYTES, MemberPictureUrls, pictureType } from "../group-pictures";
import { PictureAvatar } from "./group-pictures";

/** The most bytes a member's name in a group takes. */
const MAX_NAME_BYTES = 128;

/** A member picture made from an image file: small enough to travel in the group, or null. */
export function makeMemberPicture(file: Blob): Promise<Uint8Array | null> {
  return makeThumbnail(file, [64, 48, 32], MAX_MEMBER_PICTURE_BYTES);
}

/** The object URLs of the members' pictures, by member id, revoked when the list goes. */
export function useMemberPictures(members: readonly GroupMemberView[]): ReadonlyMap<string, string> {
  const [urls] = useState(() => new MemberPictureUrls());
  const [pictures, setPictures] = useState<ReadonlyMap<string, string>>(new Map());
  useEffect(() => setPictures((previous) => urls.update(members, previous)), [urls, members]);
  useEffect(() => () => urls.clear(), [urls]);
  return pictures;
}

/** A member's avatar: their picture in the group where it has one, else the initials of their name. */
export const MemberAvatar = PictureAvatar;

export function GroupSelfSection({
  backend,
  group,
  me,
  picture,
  onChanged,
}: {
  backend: Backend;
  group: ChatId;
  /** This user as the group shows them. */
  me: GroupMemberView;
  /** The object URL of this user's picture in the group, if it has one. */
  picture: string | undefined;
  /** The change was made: the members list is read again. */
  onChanged: () => void;
}) {
  const [editing, setEditing] = useState(false);
  const [name, setName] = useState("");
  const [chosen, setChosen] = useState<Uint8Array | null | undefined>(undefined);
  const [preview, setPreview] = useState<string | null>(null);
  const [error, setError] = useState("");
  const [status, setStatus] = useState("");
  useEffect(() => {
    if (!chosen) {
      setPreview(null);
      return;
    }
    const type = pictureType(chosen);
    if (!type) {
      setPreview(null);
      return;
    }
    const url = URL.createObjectURL(new Blob([new Uint8Array(chosen)], { type }));
    setPreview(url);
    return () => URL.revokeObjectURL(url);
  }, [chosen]);

  function start() {
    setName(me.name);
    setChosen(undefined);
    setError("");
    setStatus("");
    setEditing(true);
  }
  async function pick(file: File | undefined) {
    if (!file) return;
    setError("");
    const small = await makeMemberPicture(file);
    if (!small) {
      setError("That picture cannot be used: choose a JPEG, PNG or WebP image.");
      return;
    }
    setChosen(small);
  }
  async function save() {
    setError("");
    const change: { name?: string; picture?: Uint8Array | null } = {};
    if (name.trim() !== me.name) change.name = name.trim();
    if (chosen !== undefined) change.picture = chosen;
    if (change.name === undefined && change.picture === undefined) {
      setEditing(false);
      return;
    }
    try {
      await backend.setGroupSelf(group, change);
      setEditing(false);
      setStatus("Members see the change once the group has it.");
      onChanged();
    } catch (caught) {
      setError(errorMessage(caught));
    }
  }
  const tooLong = new TextEncoder().encode(name).length > MAX_NAME_BYTES;
  const shownPicture = chosen === undefined ? picture : (preview ?? undefined);
  return (
    <section class="group-self" aria-labelledby="group-self-heading">
      <h3 id="group-self-heading">Your name and picture in this group</h3>
      {!editing && (
        <div class="member-main">
          <MemberAvatar name={me.name} picture={picture} />
          <span dir="auto" class="member-name private">
            {me.name}
          </span>
          <button type="button" class="link small" onClick={start}>
            Change
          </button>
        </div>
      )}
      {editing && (
        <form
          class="stack"
          onSubmit={(event) => {
            event.preventDefault();
            void save();
          }}
        >
          <div class="member-main">
            <MemberAvatar name={name || me.name} picture={shownPicture} />
            <label>
              Name in this group
              <input value={name} required onInput={(event) => setName(event.currentTarget.value)} />
            </label>
          </div>
          <label>
            Picture
            <input type="file" accept="image/*" onChange={(event) => void pick(event.currentTarget.files?.[0])} />
          </label>
          {(chosen || (chosen === undefined && picture !== undefined)) && (
            <button type="button" class="link" onClick={() => setChosen(null)}>
              Remove the picture
            </button>
          )}
          {tooLong && (
            <p class="error" role="alert">
              The name may take 128 bytes.
            </p>
          )}
          <p class="muted small">Only this group's members see them; your other groups and contacts do not.</p>
          <div class="buttons">
            <button type="submit" class="primary" disabled={tooLong || name.trim() === ""}>
              Save
            </button>
            <button type="button" onClick={() => setEditing(false)}>
              Cancel
            </button>
          </div>
        </form>
      )}
      {status && <p class="muted small">{status}</p>}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}
