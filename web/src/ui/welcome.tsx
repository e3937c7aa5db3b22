// First visit: create a profile, or import an exported archive.

import { useState } from "preact/hooks";
import type { Backend } from "../backend";
import { errorMessage } from "../errors";
import { BusyLabel } from "./busy";
import { Logo } from "./icons";
import { MIN_PASSPHRASE, PassphraseField } from "./passphrase";

export function Welcome({ backend, onReady }: { backend: Backend; onReady: () => void }) {
  const [mode, setMode] = useState<"create" | "import">("create");
  return (
    <div class="center-screen">
      <main class="card welcome" aria-labelledby="welcome-title">
        <Logo />
        <h1 id="welcome-title">Welcome to Sotto</h1>
        <p class="muted">
          Private messages, end-to-end encrypted in this browser. No phone number, no account: your profile and its keys
          stay here, sealed with your passphrase.
        </p>
        <div class="tabs" role="tablist" aria-label="How to start">
          <button
            role="tab"
            id="tab-create"
            aria-selected={mode === "create"}
            aria-controls="welcome-panel"
            onClick={() => setMode("create")}
          >
            New profile
          </button>
          <button
            role="tab"
            id="tab-import"
            aria-selected={mode === "import"}
            aria-controls="welcome-panel"
            onClick={() => setMode("import")}
          >
            Import an archive
          </button>
        </div>
        <div id="welcome-panel" role="tabpanel" aria-labelledby={`tab-${mode}`}>
          {mode === "create" ? (
            <CreateProfile backend={backend} onReady={onReady} />
          ) : (
            <ImportArchive backend={backend} onReady={onReady} />
          )}
        </div>
      </main>
    </div>
  );
}

function CreateProfile({ backend, onReady }: { backend: Backend; onReady: () => void }) {
  const [name, setName] = useState("");
  const [passphrase, setPassphrase] = useState("");
  const [confirm, setConfirm] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);

  async function submit(event: Event) {
    event.preventDefault();
    if (name.trim() === "") return setError("Choose a name your contacts will see.");
    if (passphrase.length < MIN_PASSPHRASE)
      return setError(`The passphrase needs at least ${MIN_PASSPHRASE} characters.`);
    if (passphrase !== confirm) return setError("The two passphrases differ.");
    setBusy(true);
    setError("");
    try {
      await backend.createProfile({ displayName: name.trim(), passphrase });
      onReady();
    } catch (caught) {
      setError(errorMessage(caught));
      setBusy(false);
    }
  }

  return (
    <form class="stack" onSubmit={submit}>
      <label>
        Your name
        <input
          value={name}
          onInput={(e) => setName(e.currentTarget.value)}
          autocomplete="nickname"
          maxLength={64}
          required
          autoFocus
        />
        <span class="hint">Only your contacts see it, end to end.</span>
      </label>
      <PassphraseField
        label="Passphrase"
        value={passphrase}
        onInput={setPassphrase}
        autocomplete="new-password"
        hint="It cannot be recovered. Without it, the profile in this browser is unreadable."
        strength
      />
      <PassphraseField label="Passphrase again" value={confirm} onInput={setConfirm} autocomplete="new-password" />
      <p class="error" role="alert">
        {error}
      </p>
      <button class="primary" type="submit" disabled={busy} aria-busy={busy}>
        <BusyLabel busy={busy} label="Create profile" busyLabel="Creating…" />
      </button>
    </form>
  );
}

export function ImportArchive({ backend, onReady }: { backend: Backend; onReady: () => void }) {
  const [file, setFile] = useState<File | null>(null);
  const [passphrase, setPassphrase] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);

  async function submit(event: Event) {
    event.preventDefault();
    if (!file) return setError("Choose the archive file first.");
    setBusy(true);
    setError("");
    try {
      const archive = new Uint8Array(await file.arrayBuffer());
      await backend.importArchive(archive, passphrase);
      onReady();
    } catch (caught) {
      setError(errorMessage(caught));
      setBusy(false);
    }
  }

  return (
    <form class="stack" onSubmit={submit}>
      <p class="muted">
        An archive exported from Sotto in another browser or from the <code>sotto</code> command continues every
        conversation here. The old copy must not be used again.
      </p>
      <label>
        Archive file
        <input type="file" onChange={(e) => setFile(e.currentTarget.files?.[0] ?? null)} />
      </label>
      <PassphraseField
        label="The archive's passphrase"
        value={passphrase}
        onInput={setPassphrase}
        autocomplete="current-password"
      />
      <p class="error" role="alert">
        {error}
      </p>
      <button class="primary" type="submit" disabled={busy} aria-busy={busy}>
        <BusyLabel busy={busy} label="Import" busyLabel="Importing…" />
      </button>
    </form>
  );
}
