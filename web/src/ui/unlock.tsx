// The lock screen: the passphrase re-derives the database key.

import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { isBackendError, type Backend } from "../backend";
import { errorMessage } from "../errors";
import { heldNotice, LOCKED_NOTIFICATION, lockedTitle, notify } from "../notifications";
import { BusyLabel } from "./busy";
import { Logo } from "./icons";
import { ImportArchive } from "./welcome";

export function Unlock({
  backend,
  onUnlocked,
  sound = false,
}: {
  backend: Backend;
  onUnlocked: () => void;
  /** Whether notifications chime (the setting as last unlocked here). */
  sound?: boolean;
}) {
  const [passphrase, setPassphrase] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const [importing, setImporting] = useState(false);
  const input = useRef<HTMLInputElement>(null);

  const chime = useRef(sound);
  chime.current = sound;
  /** Deliveries kept while locked: counted, never named or shown. */
  const [held, setHeld] = useState(0);

  // Before the first paint: keys typed as soon as the lock screen shows go
  // into the passphrase field, not to the page.
  useLayoutEffect(() => input.current?.focus(), []);

  useEffect(() => {
    let live = true;
    backend.heldCount().then(
      (count) => live && setHeld((current) => Math.max(current, count)),
      () => undefined,
    );
    const unsubscribe = backend.subscribe((event) => {
      if (event.type !== "held") return;
      setHeld(event.count);
      notify(LOCKED_NOTIFICATION, "sotto-locked", () => input.current?.focus(), chime.current);
    });
    // Another tab that unlocked meanwhile applied (and deleted) what was kept.
    const recount = () => {
      if (document.visibilityState === "visible")
        backend.heldCount().then(
          (count) => live && setHeld(count),
          () => undefined,
        );
    };
    document.addEventListener("visibilitychange", recount);
    window.addEventListener("focus", recount);
    return () => {
      live = false;
      unsubscribe();
      document.removeEventListener("visibilitychange", recount);
      window.removeEventListener("focus", recount);
    };
  }, [backend]);

  useEffect(() => {
    document.title = lockedTitle(held);
    return () => {
      document.title = "Sotto";
    };
  }, [held]);

  async function submit(event: Event) {
    event.preventDefault();
    setBusy(true);
    setError("");
    try {
      await backend.unlock(passphrase);
      setPassphrase("");
      onUnlocked();
    } catch (caught) {
      setError(
        isBackendError(caught) && caught.kind === "wrong-passphrase"
          ? "Wrong passphrase. Check it and try again."
          : errorMessage(caught),
      );
      setBusy(false);
      setPassphrase("");
      input.current?.focus();
    }
  }

  if (importing) {
    return (
      <div class="center-screen">
        <main class="card unlock" aria-labelledby="import-title">
          <Logo />
          <h1 id="import-title">Import an archive</h1>
          <p class="warning">The archive replaces the profile in this browser. Export that one first if you need it.</p>
          <ImportArchive backend={backend} onReady={onUnlocked} />
          <button type="button" onClick={() => setImporting(false)}>
            Back to unlock
          </button>
        </main>
      </div>
    );
  }

  return (
    <div class="center-screen">
      <main class="card unlock" aria-labelledby="unlock-title">
        <Logo />
        <h1 id="unlock-title">Sotto is locked</h1>
        <p class="held-notice" role="status" aria-live="polite">
          {heldNotice(held)}
        </p>
        <form class="stack" onSubmit={submit}>
          <label>
            Passphrase
            <input
              ref={input}
              type="password"
              value={passphrase}
              onInput={(e) => setPassphrase(e.currentTarget.value)}
              autocomplete="current-password"
              aria-invalid={error !== ""}
              aria-describedby="unlock-error"
              required
            />
          </label>
          <p class="error" id="unlock-error" role="alert">
            {error}
          </p>
          <button class="primary" type="submit" disabled={busy} aria-busy={busy}>
            <BusyLabel busy={busy} label="Unlock" busyLabel="Unlocking…" />
          </button>
        </form>
        <button type="button" class="link" onClick={() => setImporting(true)}>
          Import an archive instead
        </button>
      </main>
    </div>
  );
}
