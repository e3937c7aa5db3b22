// A profile that was exported: it no longer runs here. The archive can be
// downloaded again, or the browser can start over with a new or imported profile.

import type { Backend } from "../backend";
import { ExportArchiveForm } from "./export-archive";
import { Logo } from "./icons";

export function Moved({ backend, onStartOver }: { backend: Backend; onStartOver: () => void }) {
  return (
    <div class="center-screen">
      <main class="card unlock" aria-labelledby="moved-title">
        <Logo />
        <h1 id="moved-title">This profile was exported</h1>
        <p>
          It continues wherever the archive is imported, and no longer runs in this browser: two copies would reuse the
          same keys.
        </p>
        <ExportArchiveForm backend={backend} label="Passphrase" submitLabel="Download the archive again" />
        <button type="button" class="link" onClick={onStartOver}>
          Start over: a new profile or another archive
        </button>
      </main>
    </div>
  );
}
