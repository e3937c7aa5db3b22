// The production entry: load the core through the wasm bridge, then the UI.

import { render } from "preact";
import { loadBackend } from "./bridge";
import { errorMessage } from "./errors";
import { parseInviteLocation } from "./invite-link";
import { App } from "./ui/app";

const root = document.getElementById("app");
if (root) {
  // Read the invitation from the fragment, then take it out of the address
  // bar and the history: it is a one-time secret.
  const invite = parseInviteLocation(window.location);
  if (invite) window.history.replaceState(null, "", "/");
  loadBackend().then(
    (backend) => render(<App backend={backend} initialInvite={invite} />, root),
    (error: unknown) =>
      render(
        <div class="center-screen">
          <div class="card" role="alert">
            <h1>Sotto cannot start</h1>
            <p>{errorMessage(error)}</p>
          </div>
        </div>,
        root,
      ),
  );
}
