// Development preview: the UI over the in-memory fake backend, seeded with
// 50 chats and one of 10,000 messages. Served by `vite` at /dev.html; never
// part of the production build (vite.config.ts rejects the fake backend).
// `?state=none` starts at the first visit, `?state=locked` at the lock screen,
// `?invite` as if opened with an invitation link.

import { render } from "preact";
import { FakeBackend } from "./fake-backend";
import { applyTheme } from "./theme";

applyTheme();
import { App } from "./ui/app";

const params = new URLSearchParams(window.location.search);
const backend = params.get("state") === "none" ? new FakeBackend() : FakeBackend.withProfile("correct horse", "Alice");
if (params.get("state") !== "none") {
  const names = ["Ada Lovelace", "Grace Hopper", "Alan Turing", "Katherine Johnson", "Claude Shannon", "Hedy Lamarr"];
  const big = backend.addChat("Ada Lovelace", 10_000);
  for (let index = 1; index < 50; index += 1) {
    backend.addChat(`${names[index % names.length]} ${index}`, index % 5, Date.now() - index * 3_600_000 * 7);
  }
  const question = backend.receive(big, "Did the relay drop anything last night?");
  backend.notice(big, { type: "skipped", first: 4, last: 5 });
  backend.notice(big, { type: "keys_changed" });
  void backend.sendText(big, { text: "Nothing that I can see. Compare the code?", replyTo: question.number });
  void backend.react(big, question.number, "👍");
  backend.request("Barbara Liskov");
  if (params.get("state") === "locked") void backend.lock();
}
const root = document.getElementById("app");
if (root) {
  render(
    <App
      backend={backend}
      initialInvite={
        params.has("invite") ? { kind: "invite", payload: "i1.AAAA", link: `${location.origin}/invite#i1.AAAA` } : null
      }
    />,
    root,
  );
}

// For poking at the preview from the browser console.
(window as unknown as { sottoDev: FakeBackend }).sottoDev = backend;
