// The form that exports the profile as an encrypted archive and offers it as a
// download: in the settings, and on the screen of a profile already exported.

import { useState } from "preact/hooks";
import type { Backend } from "../backend";
import { errorMessage } from "../errors";
import { BusyLabel } from "./busy";
import { ConfirmDialog } from "./confirm";
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

/**
 * Asks for the passphrase and exports; when the export `moves` the profile
 * (a live one: it stops here), says so and asks to confirm first. A failure
 * (a wrong passphrase) keeps what was typed and shows the error under the
 * field; a success clears it.
 */
export function ExportArchiveForm({
  backend,
  label,
  submitLabel,
  moves = false,
}: {
  backend: Backend;
  label: string;
  submitLabel: string;
  moves?: boolean;
}) {
  const [passphrase, setPassphrase] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const [confirming, setConfirming] = useState(false);

  function submit(event: Event) {
    event.preventDefault();
    if (moves) setConfirming(true);
    else void run();
  }

  async function run() {
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
    <form class="stack" onSubmit={submit}>
      <PassphraseField label={label} value={passphrase} onInput={setPassphrase} autocomplete="current-password" />
      <p class="error" role="alert">
        {error}
      </p>
      <button type="submit" disabled={busy} aria-busy={busy}>
        <BusyLabel busy={busy} label={submitLabel} busyLabel="Exporting…" />
      </button>
      {confirming && (
        <ConfirmDialog
          title="Export and move this profile?"
          action="Export and move"
          onConfirm={async () => {
            void run();
          }}
          onClose={() => setConfirming(false)}
        >
          <p>
            Exporting moves the profile: once the archive is saved, Sotto stops using it in this browser, because two
            copies would reuse the same keys. Import the archive in another browser or in the <code>sotto</code> command
            to go on there.
          </p>
        </ConfirmDialog>
      )}
    </form>
  );
}
