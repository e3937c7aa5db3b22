// axe-core over the main screens, rendered against the fake backend. Rules
// that need real layout (colour contrast, target size) are left to the browser
// tests.

import axe from "axe-core";
import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FakeBackend } from "../src/fake-backend";
import { App } from "../src/ui/app";

let root: HTMLElement;

beforeEach(() => {
  root = document.createElement("div");
  document.body.append(root);
});

afterEach(() => {
  render(null, root);
  root.remove();
});

async function settle(): Promise<void> {
  for (let round = 0; round < 5; round += 1) {
    await act(async () => {
      await new Promise((resolve) => setTimeout(resolve, 0));
    });
  }
}

async function violations(): Promise<string[]> {
  const result = await axe.run(root, {
    rules: {
      "color-contrast": { enabled: false },
      "target-size": { enabled: false },
      // The test renders into a div, not a whole page.
      region: { enabled: false },
    },
  });
  return result.violations.map(
    (violation) => `${violation.id}: ${violation.nodes.map((node) => node.target.join(" ")).join(", ")}`,
  );
}

async function show(backend: FakeBackend): Promise<void> {
  await act(() => render(<App backend={backend} />, root));
  await settle();
}

async function click(selector: string): Promise<void> {
  await act(() => root.querySelector<HTMLElement>(selector)!.click());
  await settle();
}

describe("accessibility", () => {
  it("first visit", async () => {
    await show(new FakeBackend());
    expect(await violations()).toEqual([]);
  });

  it("lock screen", async () => {
    const backend = FakeBackend.withProfile();
    const chat = backend.addChat("Ada", 1);
    await backend.lock();
    await show(backend);
    expect(await violations()).toEqual([]);
    // With what arrived while locked counted.
    await act(() => backend.receiveWhileLocked(chat, "hello"));
    await settle();
    expect(root.querySelector(".held-notice")?.textContent).not.toBe("");
    expect(await violations()).toEqual([]);
  });

  it("chat list and conversation", async () => {
    const backend = FakeBackend.withProfile();
    const chat = backend.addChat("Ada", 20);
    const question = backend.receive(chat, "question?");
    backend.notice(chat, { type: "keys_changed" });
    await backend.sendText(chat, { text: "answer", replyTo: question.number });
    await backend.react(chat, question.number, "👍");
    await backend.setTimer(chat, 300);
    backend.addChat("Grace", 2);
    await show(backend);
    expect(await violations()).toEqual([]);
    await click(".chat-row");
    expect(await violations()).toEqual([]);
    await click('[aria-label="Message actions"]');
    expect(await violations()).toEqual([]);
    // The emoji pickers: for a reaction, and in the message box.
    await click('[aria-label="More reactions"]');
    expect(root.querySelector(".emoji-picker")).not.toBeNull();
    expect(await violations()).toEqual([]);
    await act(() => {
      root
        .querySelector(".emoji-picker")!
        .dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true, cancelable: true }));
    });
    await settle();
    expect(root.querySelector(".emoji-picker")).toBeNull();
    await click('[aria-label="Emoji"]');
    expect(await violations()).toEqual([]);
    // axe over the pickers' hundreds of buttons takes a few seconds.
  }, 30_000);

  it("dialogs", async () => {
    const backend = FakeBackend.withProfile();
    backend.addChat("Ada", 2);
    backend.request("Barbara");
    await show(backend);
    for (const opener of ['[aria-label^="New chat"]', '[aria-label^="Contact address"]', '[aria-label="Settings"]']) {
      await click(opener);
      expect(await violations()).toEqual([]);
      await click('[role=dialog] [aria-label="Close"]');
    }
    // Scanning, where the camera cannot be used: the message takes the picture's place.
    await click('[aria-label^="New chat"]');
    await click('[role=dialog] form .buttons button[type="button"]');
    expect(root.querySelector(".scanner [role=alert]")).not.toBeNull();
    expect(await violations()).toEqual([]);
    await click('[role=dialog] [aria-label="Close"]');
    await click(".chat-row");
    for (const opener of ['[aria-label="Security code"]', '[aria-label="Contact info"]']) {
      await click(opener);
      expect(await violations()).toEqual([]);
      await click('[role=dialog] [aria-label="Close"]');
    }
  });
});
