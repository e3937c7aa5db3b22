// Global settings, the profile, notifications, passphrase and the archive.

import { AUTO_DOWNLOAD_CHOICES } from "../files";
import { fileSize } from "../user-text";
import { useEffect, useState } from "preact/hooks";
import type { Backend, NotificationPreview, Profile, Settings } from "../backend";
import { errorMessage } from "../errors";
import { notificationsSupported } from "../notifications";
import { chooseTheme, storedTheme, type Theme } from "../theme";
import { Dialog } from "./dialog";
import { ExportArchiveForm } from "./export-archive";
import { BusyLabel } from "./busy";
import { MIN_PASSPHRASE, PassphraseField } from "./passphrase";

const LOCK_CHOICES: [number, string][] = [
  [60, "1 minute"],
  [5 * 60, "5 minutes"],
  [15 * 60, "15 minutes"],
  [60 * 60, "1 hour"],
  [0, "Never"],
];

const PREVIEWS: [NotificationPreview, string][] = [
  ["name-and-text", "Name and message"],
  ["name-only", "Name only"],
  ["nothing", "No name or message"],
];

export function SettingsDialog({
  backend,
  settings,
  onChange,
  onClose,
}: {
  backend: Backend;
  settings: Settings;
  onChange: (patch: Partial<Settings>) => Promise<void>;
  onClose: () => void;
}) {
  const [error, setError] = useState("");
  const [theme, setTheme] = useState<Theme>(storedTheme);
  const [permission, setPermission] = useState(notificationsSupported() ? Notification.permission : "denied");

  function change(patch: Partial<Settings>) {
    setError("");
    onChange(patch).catch((caught: unknown) => setError(errorMessage(caught)));
  }

  return (
    <Dialog title="Settings" onClose={onClose} wide>
      <div class="stack">
        <ProfileEditor backend={backend} />
        <section class="stack" aria-labelledby="privacy-heading">
          <h3 id="privacy-heading">Privacy</h3>
          <label class="switch">
            <input
              type="checkbox"
              checked={settings.readReceipts}
              onChange={(e) => change({ readReceipts: e.currentTarget.checked })}
            />
            Send read receipts
          </label>
          <label class="switch">
            <input
              type="checkbox"
              checked={settings.typingIndicator}
              onChange={(e) => change({ typingIndicator: e.currentTarget.checked })}
            />
            Send and show typing indicators
          </label>
          <label class="switch">
            <input
              type="checkbox"
              checked={settings.privacyBlur}
              onChange={(e) => change({ privacyBlur: e.currentTarget.checked })}
            />
            Blur names and messages until hovered or focused
          </label>
          <label>
            Who can add me to groups
            <select
              value={settings.groupAdds}
              onChange={(e) => change({ groupAdds: e.currentTarget.value as Settings["groupAdds"] })}
            >
              <option value="contacts">My contacts</option>
              <option value="nobody">Nobody: I accept or decline each invitation</option>
            </select>
          </label>
        </section>
        <section class="stack" aria-labelledby="appearance-heading">
          <h3 id="appearance-heading">Appearance</h3>
          <label>
            Theme
            <select
              value={theme}
              onChange={(e) => {
                const next = e.currentTarget.value as Theme;
                setTheme(next);
                chooseTheme(next);
              }}
            >
              <option value="system">As the system</option>
              <option value="light">Light</option>
              <option value="dark">Dark</option>
            </select>
          </label>
        </section>
        <section class="stack" aria-labelledby="notifications-heading">
          <h3 id="notifications-heading">Notifications</h3>
          <p class="muted small">
            Shown while Sotto is not in front: its tab hidden, or another window focused. Muted chats notify only when
            someone mentions you in a group.
          </p>
          {permission !== "granted" && notificationsSupported() && (
            <button
              type="button"
              onClick={() => Notification.requestPermission().then(setPermission)}
              disabled={permission === "denied"}
            >
              {permission === "denied" ? "Notifications are blocked in this browser" : "Allow notifications"}
            </button>
          )}
          <fieldset>
            <legend>Notifications show</legend>
            {PREVIEWS.map(([value, label]) => (
              <label key={value} class="choice">
                <input
                  type="radio"
                  name="preview"
                  checked={settings.notificationPreview === value}
                  onChange={() => change({ notificationPreview: value })}
                />
                {label}
              </label>
            ))}
          </fieldset>
          <label class="switch">
            <input
              type="checkbox"
              checked={settings.notificationSound}
              onChange={(e) => change({ notificationSound: e.currentTarget.checked })}
            />
            Play a sound with each notification
          </label>
        </section>
        <section class="stack" aria-labelledby="files-heading">
          <h3 id="files-heading">Files</h3>
          <label>
            Download files automatically
            <select
              value={String(settings.autoDownloadLimit ?? "")}
              onChange={(e) =>
                change({ autoDownloadLimit: e.currentTarget.value === "" ? null : Number(e.currentTarget.value) })
              }
            >
              {AUTO_DOWNLOAD_CHOICES.map((limit) => (
                <option key={String(limit)} value={String(limit ?? "")}>
                  {limit === null ? "Never" : `Up to ${fileSize(limit)}`}
                </option>
              ))}
            </select>
          </label>
        </section>
        <section class="stack" aria-labelledby="lock-heading">
          <h3 id="lock-heading">App lock</h3>
          <label>
            Lock after inactivity
            <select
              value={String(settings.lockAfterSeconds)}
              onChange={(e) => change({ lockAfterSeconds: Number(e.currentTarget.value) })}
            >
              {LOCK_CHOICES.map(([seconds, label]) => (
                <option key={seconds} value={String(seconds)}>
                  {label}
                </option>
              ))}
            </select>
          </label>
          <ChangePassphrase backend={backend} />
        </section>
        <section class="stack" aria-labelledby="archive-heading">
          <h3 id="archive-heading">Archive</h3>
          <p class="muted small">
            The whole profile as one encrypted file, sealed with your passphrase. Import it in another browser or in the
            <code> sotto</code> command to continue there. This copy then stops: two copies would reuse the same keys.
          </p>
          <ExportArchiveForm backend={backend} label="Passphrase for the archive" submitLabel="Export archive" moves />
        </section>
        <section class="stack" aria-labelledby="keys-heading">
          <h3 id="keys-heading">Keyboard</h3>
          <dl class="shortcuts">
            <dt>Ctrl+K</dt>
            <dd>Search chats</dd>
            <dt>Alt+↑ / Alt+↓</dt>
            <dd>Previous / next chat</dd>
            <dt>Enter / Shift+Enter</dt>
            <dd>Send / new line</dd>
            <dt>↑ in an empty message box</dt>
            <dd>Edit your last message</dd>
            <dt>↑ / ↓ in the messages</dt>
            <dd>Move between messages; Enter opens a message's actions, R replies, E edits</dd>
            <dt>Esc</dt>
            <dd>Close, cancel, or leave the chat</dd>
            <dt>Ctrl+Shift+L</dt>
            <dd>Lock</dd>
          </dl>
        </section>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
      </div>
    </Dialog>
  );
}

/** The name and bio contacts see; a change goes to every contact. */
function ProfileEditor({ backend }: { backend: Backend }) {
  const [profile, setProfile] = useState<Profile | null>(null);
  const [message, setMessage] = useState("");
  useEffect(() => {
    backend.profile().then(setProfile, (caught: unknown) => setMessage(errorMessage(caught)));
  }, [backend]);
  async function submit(event: Event) {
    event.preventDefault();
    if (!profile) return;
    setMessage("");
    try {
      await backend.updateProfile({ displayName: profile.displayName.trim(), bio: profile.bio.trim() });
      setMessage("Profile saved and sent to your contacts.");
    } catch (caught) {
      setMessage(errorMessage(caught));
    }
  }
  return (
    <section class="stack" aria-labelledby="profile-heading">
      <h3 id="profile-heading">Profile</h3>
      <p class="muted small">Only your contacts see it, end to end.</p>
      {profile && (
        <form class="stack" onSubmit={submit}>
          <label>
            Name
            <input
              value={profile.displayName}
              onInput={(e) => setProfile({ ...profile, displayName: e.currentTarget.value })}
              maxLength={64}
              required
            />
          </label>
          <label>
            Bio
            <input
              value={profile.bio}
              onInput={(e) => setProfile({ ...profile, bio: e.currentTarget.value })}
              maxLength={280}
            />
          </label>
          <button type="submit">Save profile</button>
        </form>
      )}
      <p role="status">{message}</p>
    </section>
  );
}

function ChangePassphrase({ backend }: { backend: Backend }) {
  const [open, setOpen] = useState(false);
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [again, setAgain] = useState("");
  const [message, setMessage] = useState("");
  const [busy, setBusy] = useState(false);
  if (!open) {
    return (
      <button type="button" onClick={() => setOpen(true)}>
        Change passphrase
      </button>
    );
  }
  async function submit(event: Event) {
    event.preventDefault();
    if (next.length < MIN_PASSPHRASE)
      return setMessage(`The new passphrase needs at least ${MIN_PASSPHRASE} characters.`);
    if (next !== again) return setMessage("The two new passphrases differ.");
    setBusy(true);
    setMessage("");
    try {
      await backend.changePassphrase(current, next);
      setMessage("Passphrase changed.");
      setCurrent("");
      setNext("");
      setAgain("");
    } catch (caught) {
      setMessage(errorMessage(caught));
    }
    setBusy(false);
  }
  return (
    <form class="stack" onSubmit={submit}>
      <PassphraseField
        label="Current passphrase"
        value={current}
        onInput={setCurrent}
        autocomplete="current-password"
      />
      <PassphraseField label="New passphrase" value={next} onInput={setNext} autocomplete="new-password" strength />
      <PassphraseField label="New passphrase again" value={again} onInput={setAgain} autocomplete="new-password" />
      <p role="status">{message}</p>
      <button type="submit" disabled={busy} aria-busy={busy}>
        <BusyLabel busy={busy} label="Change passphrase" busyLabel="Changing…" />
      </button>
    </form>
  );
}
