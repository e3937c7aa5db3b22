// The production entry: load the core through the wasm bridge, then the UI.

import { render } from "preact";
import { loadBackend } from "./bridge";
import { errorMessage } from "./errors";
import { parseInviteLocation } from "./invite-link";
import { proposedRelay } from "./relay-choice";
import { applyTheme } from "./theme";
import { App } from "./ui/app";
import { RelayConfirm } from "./ui/relay-confirm";

applyTheme();
const root = document.getElementById("app");
if (root) {
  // Read the invitation from the fragment, then take it out of the address
  // bar and the history: it is a one-time secret. A relay named in the query
  // goes too: it is asked about once, below.
  const invite = parseInviteLocation(window.location);
  const relay = proposedRelay(window.location.search);
  if (invite) window.history.replaceState(null, "", "/");
  else if (relay) window.history.replaceState(null, "", window.location.pathname + window.location.hash);
  if (relay) render(<RelayConfirm address={relay} onChoose={(use) => start(root, use ? relay : null, invite)} />, root);
  else start(root, null, invite);
}

/** Loads the core (with the relay the user accepted from the URL, if any), then the UI. */
function start(root: HTMLElement, chosenRelay: string | null, invite: ReturnType<typeof parseInviteLocation>): void {
  loadBackend(chosenRelay).then(
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
