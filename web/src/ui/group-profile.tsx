// A group's own profile in its info panel: its description for everyone (its
// picture is the panel's avatar), and for owners and admins a form to change the name, the
// description and the picture (made small in the page: it travels inside the
// group, at most 8192 bytes).

import { useEffect, useState } from "preact/hooks";
import type { Backend, ChatId, GroupView } from "../backend";
import { errorMessage } from "../errors";
import { makePreview } from "../files";

/** The most bytes a group's name takes. */
const MAX_NAME_BYTES = 64;
/** The most bytes a group's description takes. */
const MAX_DESCRIPTION_BYTES = 512;

function bytes(text: string): number {
  return new TextEncoder().encode(text).length;
}

export function GroupProfileSection({
  backend,
  group,
  manages,
  version,
}: {
  backend: Backend;
  group: ChatId;
  /** This user is an owner or admin: the profile may be changed here. */
  manages: boolean;
  /** Changes when the group's chat does, to read the profile again. */
  version: unknown;
}) {
  const [view, setView] = useState<GroupView | null>(null);
  const [editing, setEditing] = useState(false);
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [picture, setPicture] = useState<Uint8Array | null | undefined>(undefined);
  const [error, setError] = useState("");
  useEffect(() => {
    let alive = true;
    backend.groups().then(
      (groups) => alive && setView(groups.find((candidate) => candidate.id === group) ?? null),
      (caught: unknown) => alive && setError(errorMessage(caught)),
    );
    return () => {
      alive = false;
    };
  }, [backend, group, version]);
  if (!view) return error ? <p class="error">{error}</p> : null;

  function start() {
    if (!view) return;
    setName(view.name);
    setDescription(view.description);
    setPicture(undefined);
    setError("");
    setEditing(true);
  }
  async function pick(file: File | undefined) {
    if (!file) return;
    const small = await makePreview(file);
    if (!small) {
      setError("That picture cannot be used: choose a JPEG, PNG or WebP image.");
      return;
    }
    setPicture(small);
  }
  async function save() {
    if (!view) return;
    setError("");
    try {
      const current = view.picture ? Uint8Array.from(atob(view.picture), (char) => char.charCodeAt(0)) : null;
      await backend.setGroupProfile(group, name.trim(), description.trim(), picture === undefined ? current : picture);
      setEditing(false);
      const groups = await backend.groups();
      setView(groups.find((candidate) => candidate.id === group) ?? null);
    } catch (caught) {
      setError(errorMessage(caught));
    }
  }
  const tooLong = bytes(name) > MAX_NAME_BYTES || bytes(description) > MAX_DESCRIPTION_BYTES;
  return (
    <section class="group-profile" aria-label="About the group">
      {view.description ? (
        <p dir="auto" class="group-description private">
          {view.description}
        </p>
      ) : (
        <p class="muted small">No description.</p>
      )}
      {manages && !editing && (
        <button type="button" onClick={start}>
          Edit group
        </button>
      )}
      {editing && (
        <form
          class="stack"
          onSubmit={(event) => {
            event.preventDefault();
            void save();
          }}
        >
          <label>
            Group name
            <input value={name} required onInput={(event) => setName(event.currentTarget.value)} />
          </label>
          <label>
            Description
            <textarea value={description} rows={3} onInput={(event) => setDescription(event.currentTarget.value)} />
          </label>
          <label>
            Picture
            <input type="file" accept="image/*" onChange={(event) => void pick(event.currentTarget.files?.[0])} />
          </label>
          {(picture || (picture === undefined && view.picture)) && (
            <button type="button" class="link" onClick={() => setPicture(null)}>
              Remove the picture
            </button>
          )}
          {tooLong && (
            <p class="error" role="alert">
              The name may take 64 bytes and the description 512.
            </p>
          )}
          <p class="muted small">Every member sees the change.</p>
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
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}
