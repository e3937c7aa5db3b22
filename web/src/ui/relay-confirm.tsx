// The question asked before a relay named in the page's URL (`?relay=`) is
// used: it decides where new queues are created, so a link must not change it
// silently (src/relay-choice.ts).

import { relayAddressProblem } from "../relay-choice";

export function RelayConfirm({ address, onChoose }: { address: string; onChoose: (use: boolean) => void }) {
  const problem = relayAddressProblem(address);
  return (
    <div class="center-screen">
      <div
        class="card stack"
        role="alertdialog"
        aria-labelledby="relay-confirm-title"
        aria-describedby="relay-confirm-why"
      >
        <h1 id="relay-confirm-title">Use another relay?</h1>
        <p id="relay-confirm-why">
          This link asks Sotto to use this relay for the queues it creates from now on. Contacts would then reach you
          through it, and it would see when you send and receive. Accept only a relay you trust.
        </p>
        <code class="relay-address" dir="ltr">
          {address}
        </code>
        {problem && (
          <p class="error" role="alert">
            {problem}
          </p>
        )}
        <div class="buttons">
          {!problem && (
            <button type="button" class="primary" onClick={() => onChoose(true)}>
              Use this relay
            </button>
          )}
          <button type="button" onClick={() => onChoose(false)} autoFocus>
            Keep the current relay
          </button>
        </div>
      </div>
    </div>
  );
}
