// A profile that was exported: it no longer runs here. The archive can be
// downloaded again, or the browser can start over with a new or imported profile.

import { useState } from "preact/hooks";
import type { Backend } from "../backend";
import { errorMessage } from "../errors";
import { BusyLabel } from "./busy";
import { Logo } from "./icons";
import { PassphraseField } from "./passphrase";

/** Offers `archive` as a file download. */
export function downloadArchive(archive: Uint8Array): void {
  const url = URL.createObjectURL(new Blob([archive as Uint8Array<ArrayBuffer>], { type: "application/octet-stream" }));
  const link = document.createElement("a");
  link.href = url;
  link.download = `sotto-${new Date().toISOString().slice(0, 10)}.sotto`;
  link.click();
  window.setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function Moved({ backend, onStartOver }: { backend: Backend; onStartOver: () => void }) {
  const [passphrase, setPassphrase] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);

  async function exportAgain(event: Event) {
    event.preventDefault();
    setBusy(true);
    setError("");
    try {
      downloadArchive(await backend.exportArchive(passphrase));
      setPassphrase("");
    } catch (caught) {
      setError(errorMessage(caught));
    }
    setBusy(false);
  }

  return (
    <div class="center-screen">
      <main class="card unlock" aria-labelledby="moved-title">
        <Logo />
        <h1 id="moved-title">This profile was exported</h1>
        <p>
          It continues wherever the archive is imported, and no longer runs in this browser: two copies would reuse the
          same keys.
        </p>
        <form class="stack" onSubmit={exportAgain}>
          <PassphraseField
            label="Passphrase"
            value={passphrase}
            onInput={setPassphrase}
            autocomplete="current-password"
          />
          <p class="error" role="alert">
            {error}
          </p>
          <button type="submit" disabled={busy} aria-busy={busy}>
            <BusyLabel busy={busy} label="Download the archive again" busyLabel="Exporting…" />
          </button>
        </form>
        <button type="button" class="link" onClick={onStartOver}>
          Start over: a new profile or another archive
        </button>
      </main>
    </div>
  );
}
