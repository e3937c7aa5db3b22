// Keyboard use, the inactivity lock and notifications, against the fake backend.

import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
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
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

async function settle(rounds = 5): Promise<void> {
  for (let round = 0; round < rounds; round += 1) {
    await act(async () => {
      await Promise.resolve();
      await new Promise((resolve) => setTimeout(resolve, 0));
    });
  }
}

async function mount(backend: FakeBackend): Promise<void> {
  await act(() => render(<App backend={backend} />, root));
  await settle();
}

async function press(target: EventTarget, init: KeyboardEventInit): Promise<void> {
  await act(() => {
    target.dispatchEvent(new KeyboardEvent("keydown", { bubbles: true, cancelable: true, ...init }));
  });
  await settle();
}

async function openFirstChat(): Promise<void> {
  await act(() => root.querySelector<HTMLElement>(".chat-row")!.click());
  await settle();
}

describe("keyboard", () => {
  it("moves through messages with the arrows and opens a message's actions with Enter", async () => {
    const backend = FakeBackend.withProfile();
    backend.addChat("Ada", 30);
    await mount(backend);
    await openFirstChat();
    const scroller = root.querySelector<HTMLElement>(".message-scroller")!;
    scroller.focus();
    await press(scroller, { key: "ArrowUp" });
    const focused = document.activeElement as HTMLElement;
    expect(focused.getAttribute("role")).toBe("listitem");
    await press(focused, { key: "ArrowUp" });
    const above = document.activeElement as HTMLElement;
    expect(Number(above.getAttribute("aria-posinset"))).toBe(Number(focused.getAttribute("aria-posinset")) - 1);
    await press(above, { key: "Enter" });
    const menu = root.querySelector("[role=menu]");
    expect(menu).not.toBeNull();
    expect(menu?.contains(document.activeElement)).toBe(true);
    await press(document.activeElement!, { key: "Escape" });
    expect(root.querySelector("[role=menu]")).toBeNull();
    // Esc in the menu closes the menu only, not the chat.
    expect(root.querySelector(".conversation")).not.toBeNull();
  });

  it("replies to a focused message with R", async () => {
    const backend = FakeBackend.withProfile();
    backend.addChat("Ada", 4);
    await mount(backend);
    await openFirstChat();
    const scroller = root.querySelector<HTMLElement>(".message-scroller")!;
    scroller.focus();
    await press(scroller, { key: "ArrowUp" });
    await press(document.activeElement!, { key: "r" });
    expect(root.textContent).toContain("Replying to");
    expect(document.activeElement?.tagName).toBe("TEXTAREA");
    await press(document.activeElement!, { key: "Escape" });
    expect(root.textContent).not.toContain("Replying to");
    expect(root.querySelector(".conversation")).not.toBeNull();
  });

  it("switches chats with Alt+arrows and leaves the chat with Esc", async () => {
    const backend = FakeBackend.withProfile();
    backend.addChat("Older", 1, Date.now() - 3_600_000);
    backend.addChat("Newer", 1, Date.now() - 60_000);
    await mount(backend);
    await press(document, { key: "ArrowDown", altKey: true });
    expect(root.querySelector(".conversation h2")?.textContent).toBe("Newer");
    await press(document, { key: "ArrowDown", altKey: true });
    expect(root.querySelector(".conversation h2")?.textContent).toBe("Older");
    await press(document, { key: "Escape" });
    expect(root.querySelector(".conversation")).toBeNull();
  });

  it("traps Tab inside a dialog and closes it with Esc, giving focus back", async () => {
    const backend = FakeBackend.withProfile();
    await mount(backend);
    const opener = root.querySelector<HTMLButtonElement>('[aria-label="Settings"]')!;
    opener.focus();
    await act(() => opener.click());
    await settle();
    const dialog = root.querySelector<HTMLElement>("[role=dialog]")!;
    expect(dialog.contains(document.activeElement)).toBe(true);
    const focusable = dialog.querySelectorAll<HTMLElement>("button, input, select");
    focusable[focusable.length - 1]!.focus();
    await press(document.activeElement!, { key: "Tab" });
    expect(document.activeElement).toBe(focusable[0]);
    await press(document.activeElement!, { key: "Escape" });
    expect(root.querySelector("[role=dialog]")).toBeNull();
    expect(document.activeElement).toBe(opener);
  });

  it("locks with Ctrl+Shift+L", async () => {
    const backend = FakeBackend.withProfile();
    await mount(backend);
    await press(document, { key: "L", ctrlKey: true, shiftKey: true });
    expect(root.textContent).toContain("Sotto is locked");
  });
});

async function advance(ms: number): Promise<void> {
  await act(async () => {
    await vi.advanceTimersByTimeAsync(ms);
  });
}

describe("app lock", () => {
  it("locks after the inactivity timeout", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    const backend = FakeBackend.withProfile();
    await backend.updateSettings({ lockAfterSeconds: 60 });
    await act(() => render(<App backend={backend} />, root));
    for (let round = 0; round < 5; round += 1) await advance(0);
    expect(root.textContent).not.toContain("Sotto is locked");
    await advance(30_000);
    document.dispatchEvent(new Event("pointerdown"));
    await advance(45_000);
    expect(root.textContent).not.toContain("Sotto is locked");
    await advance(20_000);
    expect(root.textContent).toContain("Sotto is locked");
    expect(await backend.profileState()).toBe("locked");
  });
});

describe("notifications", () => {
  it("keeps receiving while locked: a count and a notification that name nothing, then the messages on unlock", async () => {
    const shown: { title: string; body: string | undefined }[] = [];
    class FakeNotification {
      static permission = "granted";
      onclick: (() => void) | null = null;
      constructor(title: string, options?: NotificationOptions) {
        shown.push({ title, body: options?.body });
      }
      close(): void {}
    }
    vi.stubGlobal("Notification", FakeNotification);
    const visibility = vi.spyOn(document, "visibilityState", "get").mockReturnValue("hidden");
    const backend = FakeBackend.withProfile("correct horse");
    const ada = backend.addChat("Ada", 0);
    await backend.updateSettings({ notificationPreview: "name-and-text" });
    await backend.lock();
    await mount(backend);
    expect(document.title).toBe("Sotto");
    await act(() => {
      backend.receiveWhileLocked(ada, "the secret plan");
      backend.receiveWhileLocked(ada, "and another");
    });
    await settle();
    expect(shown).toEqual([
      { title: "New activity in Sotto", body: "Unlock Sotto to see it." },
      { title: "New activity in Sotto", body: "Unlock Sotto to see it." },
    ]);
    expect(root.querySelector(".held-notice")?.textContent).toBe("2 new deliveries while locked. Unlock to see them.");
    expect(document.title).toBe("(2) Sotto");
    expect(root.textContent).not.toContain("Ada");
    expect(root.textContent).not.toContain("secret");
    visibility.mockRestore();
    const input = root.querySelector<HTMLInputElement>("input[type=password]")!;
    await act(() => {
      input.value = "correct horse";
      input.dispatchEvent(new Event("input", { bubbles: true }));
    });
    await act(() => root.querySelector<HTMLFormElement>("form")!.requestSubmit());
    await settle();
    expect(root.textContent).toContain("Ada");
    expect(root.textContent).toContain("and another");
    expect(await backend.heldCount()).toBe(0);
    expect(document.title).toBe("(2) Sotto");
  });

  it("chimes while locked when notifications chime", async () => {
    let tones = 0;
    class FakeAudioContext {
      currentTime = 0;
      destination = {};
      createOscillator() {
        tones += 1;
        return { frequency: { value: 0 }, connect: (next: unknown) => next, start() {}, stop() {} };
      }
      createGain() {
        const gain = {
          setValueAtTime() {},
          exponentialRampToValueAtTime() {},
        };
        return { gain, connect: (next: unknown) => next };
      }
    }
    class FakeNotification {
      static permission = "granted";
      onclick: (() => void) | null = null;
      close(): void {}
    }
    vi.stubGlobal("AudioContext", FakeAudioContext);
    vi.stubGlobal("Notification", FakeNotification);
    const visibility = vi.spyOn(document, "visibilityState", "get").mockReturnValue("hidden");
    const backend = FakeBackend.withProfile();
    const ada = backend.addChat("Ada", 0);
    await backend.updateSettings({ notificationSound: true });
    await mount(backend);
    const lock = [...root.querySelectorAll("button")].find((b) => b.getAttribute("aria-label") === "Lock Sotto")!;
    await act(() => lock.click());
    await settle();
    await act(() => backend.receiveWhileLocked(ada, "hello"));
    await settle();
    expect(tones).toBeGreaterThan(0);
    visibility.mockRestore();
  });

  it("shows on the lock screen what was kept before the page opened", async () => {
    const backend = FakeBackend.withProfile();
    const ada = backend.addChat("Ada", 0);
    await backend.lock();
    backend.receiveWhileLocked(ada, "kept while the tab was closed");
    await mount(backend);
    expect(root.querySelector(".held-notice")?.textContent).toBe("1 new delivery while locked. Unlock to see it.");
    expect(document.title).toBe("(1) Sotto");
    // Applied by another tab meanwhile: counted again when this one is seen.
    backend.heldCount = async () => 0;
    await act(() => {
      window.dispatchEvent(new Event("focus"));
    });
    await settle();
    expect(root.querySelector(".held-notice")?.textContent).toBe("");
    expect(document.title).toBe("Sotto");
  });

  it("notifies while hidden, following the preview setting and mute", async () => {
    const shown: { title: string; body: string | undefined }[] = [];
    class FakeNotification {
      static permission = "granted";
      onclick: (() => void) | null = null;
      constructor(title: string, options?: NotificationOptions) {
        shown.push({ title, body: options?.body });
      }
      close(): void {}
    }
    vi.stubGlobal("Notification", FakeNotification);
    const visibility = vi.spyOn(document, "visibilityState", "get").mockReturnValue("hidden");
    const backend = FakeBackend.withProfile();
    const ada = backend.addChat("Ada", 0);
    const bob = backend.addChat("Bob", 0);
    await backend.updateSettings({ notificationPreview: "name-only" });
    await backend.updateSettings({ muted: [bob] });
    await mount(backend);
    await act(() => {
      backend.receive(ada, "the secret plan");
      backend.receive(bob, "muted chatter");
    });
    await settle();
    expect(shown).toEqual([{ title: "Ada", body: "New message" }]);
    expect(document.title).toBe("(1) Sotto");
    visibility.mockRestore();
  });

  it("notifies while the window is not focused, never for a chat muted for a while, and asks with a banner", async () => {
    const shown: string[] = [];
    class FakeNotification {
      static permission = "default";
      static requestPermission = vi.fn(async () => {
        FakeNotification.permission = "granted";
        return "granted";
      });
      onclick: (() => void) | null = null;
      constructor(title: string) {
        shown.push(title);
      }
      close(): void {}
    }
    vi.stubGlobal("Notification", FakeNotification);
    const focus = vi.spyOn(document, "hasFocus").mockReturnValue(false);
    const backend = FakeBackend.withProfile();
    const ada = backend.addChat("Ada", 0);
    const bob = backend.addChat("Bob", 0);
    await backend.setMuted(bob, Date.now() + 8 * 60 * 60 * 1000);
    await mount(backend);
    const allow = [...root.querySelectorAll("button")].find((b) => b.textContent === "Allow notifications")!;
    await act(() => allow.click());
    await settle();
    expect(FakeNotification.requestPermission).toHaveBeenCalled();
    expect(root.textContent).not.toContain("Get notified of new messages");
    await act(() => {
      backend.receive(ada, "hello");
      backend.receive(bob, "muted for eight hours");
    });
    await settle();
    expect(shown).toEqual(["Ada"]);
    focus.mockReturnValue(true);
    await act(() => {
      backend.receive(ada, "seen here");
    });
    await settle();
    expect(shown).toEqual(["Ada"]);
    focus.mockRestore();
    vi.unstubAllGlobals();
  });
});
