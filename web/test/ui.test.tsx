// UI flows against the in-memory fake backend, rendered into happy-dom.

import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { FakeBackend } from "../src/fake-backend";
import { App } from "../src/ui/app";
import type { ParsedLink } from "../src/invite-link";
import type { QrSource } from "../src/qr-scan";
import { QrSourceContext } from "../src/ui/qr-scanner";

let root: HTMLElement;

beforeEach(() => {
  root = document.createElement("div");
  document.body.append(root);
});

afterEach(() => {
  render(null, root);
  root.remove();
});

async function settle(rounds = 5): Promise<void> {
  for (let round = 0; round < rounds; round += 1) {
    await act(async () => {
      await new Promise((resolve) => setTimeout(resolve, 0));
    });
  }
}

/** The next animation frame, when the app applies the events that came since the last. */
async function nextFrame(): Promise<void> {
  await act(async () => {
    await new Promise((resolve) => requestAnimationFrame(resolve));
  });
}

async function mount(backend: FakeBackend, invite: ParsedLink | null = null, camera?: FakeCamera): Promise<void> {
  const app = <App backend={backend} initialInvite={invite} />;
  await act(() =>
    render(camera ? <QrSourceContext.Provider value={camera.source}>{app}</QrSourceContext.Provider> : app, root),
  );
  await settle();
}

/** The New chat dialog, scanning with a fake camera. */
async function scanInNewChat(): Promise<{ backend: FakeBackend; camera: FakeCamera }> {
  const backend = FakeBackend.withProfile();
  const camera = new FakeCamera();
  await mount(backend, null, camera);
  await click(button("New chat: invite someone"));
  await click(button("Scan a QR code"));
  expect(camera.running).toBe(true);
  return { backend, camera };
}

/** A camera for the scanner: the test decides what it sees (or that it fails). */
class FakeCamera {
  /** Where the code the camera "sees" goes, while it runs. */
  private onText: ((text: string) => void) | null = null;
  starts = 0;
  stops = 0;
  constructor(private readonly refusal: string | null = null) {}
  readonly source: QrSource = {
    start: async (_video, onText) => {
      if (this.refusal) throw this.refusal;
      this.starts += 1;
      this.onText = onText;
      return () => {
        this.stops += 1;
        this.onText = null;
      };
    },
  };
  get running(): boolean {
    return this.onText !== null;
  }
  async show(text: string): Promise<void> {
    await act(() => this.onText?.(text));
    await settle();
  }
}

function byLabel<T extends HTMLElement>(label: string): T {
  const element = root.querySelector<T>(`[aria-label="${label}"]`);
  if (element) return element;
  for (const candidate of root.querySelectorAll("label")) {
    if (candidate.textContent?.trim().startsWith(label)) {
      const control = candidate.querySelector<T>("input, select, textarea");
      if (control) return control;
    }
  }
  throw new Error(`no element labelled "${label}"`);
}

function button(text: string): HTMLButtonElement {
  const found = [...root.querySelectorAll<HTMLButtonElement>("button")].find(
    (candidate) => candidate.textContent?.trim() === text || candidate.getAttribute("aria-label") === text,
  );
  if (!found) throw new Error(`no button "${text}"`);
  return found;
}

async function type(element: HTMLInputElement | HTMLTextAreaElement, value: string): Promise<void> {
  await act(() => {
    element.value = value;
    element.dispatchEvent(new Event("input", { bubbles: true }));
  });
}

async function change(element: HTMLSelectElement, value: string): Promise<void> {
  await act(() => {
    element.value = value;
    element.dispatchEvent(new Event("change", { bubbles: true }));
  });
  await settle();
}

async function click(element: HTMLElement): Promise<void> {
  await act(() => element.click());
  await settle();
}

async function key(element: HTMLElement, init: KeyboardEventInit): Promise<void> {
  await act(() => {
    element.dispatchEvent(new KeyboardEvent("keydown", { bubbles: true, cancelable: true, ...init }));
  });
  await settle();
}

function text(): string {
  return root.textContent ?? "";
}

describe("first visit", () => {
  it("creates a profile with a passphrase", async () => {
    const backend = new FakeBackend();
    await mount(backend);
    expect(text()).toContain("Welcome to Sotto");
    await type(byLabel("Your name"), "Alice");
    await type(byLabel("Passphrase"), "correct horse");
    await type(byLabel("Passphrase again"), "correct horse");
    await click(button("Create profile"));
    expect(await backend.profileState()).toBe("unlocked");
    expect(text()).toContain("No chats yet");
  });

  it("shows the strength of the passphrase being chosen", async () => {
    const backend = new FakeBackend();
    await mount(backend);
    expect(root.querySelector(".strength")).toBeNull();
    await type(byLabel("Passphrase"), "password1");
    expect(root.querySelector(".strength-text")?.textContent).toContain("Strength: weak");
    await type(byLabel("Passphrase"), "maple river quartz lantern orbit");
    expect(root.querySelector(".strength-text")?.textContent).toContain("Strength: strong");
    // Only where a passphrase is chosen: not for the one typed again.
    expect(root.querySelectorAll(".strength").length).toBe(1);
  });

  it("refuses two different passphrases", async () => {
    const backend = new FakeBackend();
    await mount(backend);
    await type(byLabel("Your name"), "Alice");
    await type(byLabel("Passphrase"), "correct horse");
    await type(byLabel("Passphrase again"), "correct hose");
    await click(button("Create profile"));
    expect(root.querySelector("[role=alert]")?.textContent).toBe("The two passphrases differ.");
    expect(await backend.profileState()).toBe("none");
  });

  it("imports an archive", async () => {
    const source = FakeBackend.withProfile("archive pass");
    source.addChat("Grace", 3);
    const archive = await source.exportArchive("archive pass");
    const backend = new FakeBackend();
    await mount(backend);
    await click(button("Import an archive"));
    const input = root.querySelector<HTMLInputElement>("input[type=file]")!;
    Object.defineProperty(input, "files", { value: [new File([archive as Uint8Array<ArrayBuffer>], "profile.sotto")] });
    await act(() => {
      input.dispatchEvent(new Event("change", { bubbles: true }));
    });
    await type(byLabel("The archive's passphrase"), "archive pass");
    await click(button("Import"));
    await settle();
    expect(text()).toContain("Grace");
  });
});

describe("lock", () => {
  it("says clearly when the passphrase is wrong, then unlocks", async () => {
    const backend = FakeBackend.withProfile("correct horse");
    backend.addChat("Grace", 2);
    await backend.lock();
    await mount(backend);
    expect(text()).toContain("Sotto is locked");
    await type(byLabel("Passphrase"), "wrong");
    await click(button("Unlock"));
    expect(root.querySelector("[role=alert]")?.textContent).toBe("Wrong passphrase. Check it and try again.");
    await type(byLabel("Passphrase"), "correct horse");
    await click(button("Unlock"));
    expect(text()).toContain("Grace");
  });

  it("shows that it is unlocking while the key is derived", async () => {
    const backend = FakeBackend.withProfile("correct horse");
    backend.addChat("Grace", 1);
    await backend.lock();
    let derived = (): void => undefined;
    const derivation = new Promise<void>((resolve) => (derived = resolve));
    const unlock = backend.unlock.bind(backend);
    backend.unlock = async (passphrase) => {
      await derivation;
      return unlock(passphrase);
    };
    await mount(backend);
    await type(byLabel("Passphrase"), "correct horse");
    await click(button("Unlock"));
    const submit = root.querySelector<HTMLButtonElement>('button[type="submit"]');
    expect(submit?.textContent).toBe("Unlocking…");
    expect(submit?.getAttribute("aria-busy")).toBe("true");
    expect(submit?.disabled).toBe(true);
    expect(submit?.querySelector(".spinner")).not.toBeNull();
    derived();
    await settle();
    expect(text()).toContain("Grace");
  });

  it("imports an archive instead of unlocking", async () => {
    const source = FakeBackend.withProfile("archive pass");
    source.addChat("Grace", 1);
    const archive = await source.exportArchive("archive pass");
    const backend = FakeBackend.withProfile("old pass");
    await backend.lock();
    await mount(backend);
    await click(button("Import an archive instead"));
    expect(text()).toContain("replaces the profile in this browser");
    const input = root.querySelector<HTMLInputElement>("input[type=file]")!;
    Object.defineProperty(input, "files", { value: [new File([archive as Uint8Array<ArrayBuffer>], "profile.sotto")] });
    await act(() => {
      input.dispatchEvent(new Event("change", { bubbles: true }));
    });
    await type(byLabel("The archive's passphrase"), "wrong");
    await click(button("Import"));
    expect(root.querySelector("[role=alert]")?.textContent).toBe("Wrong passphrase.");
    await type(byLabel("The archive's passphrase"), "archive pass");
    await click(button("Import"));
    expect(text()).toContain("Grace");
  });

  it("locks by button and drops the chats from the page", async () => {
    const backend = FakeBackend.withProfile();
    backend.addChat("Grace", 2);
    await mount(backend);
    expect(text()).toContain("Grace");
    await click(button("Lock Sotto"));
    expect(await backend.profileState()).toBe("locked");
    expect(text()).toContain("Sotto is locked");
    expect(text()).not.toContain("Grace");
  });
});

describe("chats", () => {
  it("lists chats with last message and unread count, and searches them", async () => {
    const backend = FakeBackend.withProfile();
    const grace = backend.addChat("Grace Hopper", 1);
    backend.addChat("Alan Turing", 1);
    backend.receive(grace, "see you at the harbour");
    backend.receive(grace, "bring the tapes");
    await mount(backend);
    const rows = root.querySelectorAll(".chat-row");
    expect(rows.length).toBe(2);
    expect(rows[0]?.textContent).toContain("Grace Hopper");
    expect(rows[0]?.textContent).toContain("bring the tapes");
    expect(rows[0]?.textContent).toContain("2 unread");
    await type(byLabel("Search chats"), "alan");
    expect(root.querySelectorAll(".chat-row").length).toBe(1);
    await type(byLabel("Search chats"), "harbour");
    expect(root.querySelectorAll(".chat-row").length).toBe(0);
    await type(byLabel("Search chats"), "tapes");
    expect(root.querySelectorAll(".chat-row").length).toBe(1);
  });

  it("keeps the chat list up to date from events: preview, unread count, order, typing", async () => {
    const backend = FakeBackend.withProfile();
    const grace = backend.addChat("Grace Hopper", 1);
    const alan = backend.addChat("Alan Turing", 1);
    await mount(backend);
    const rows = () => [...root.querySelectorAll(".chat-row")].map((row) => row.textContent ?? "");
    await act(() => {
      backend.receive(alan, "the machine is ready");
    });
    await nextFrame();
    expect(rows()[0]).toContain("Alan Turing");
    expect(rows()[0]).toContain("the machine is ready");
    expect(rows()[0]).toContain("1 unread");
    await act(() => {
      backend.setTypingFromContact(grace, true);
    });
    await nextFrame();
    expect(rows()[1]).toContain("typing…");
    await act(() => {
      backend.receive(grace, "on my way");
    });
    await nextFrame();
    expect(rows()[0]).toContain("Grace Hopper");
    expect(rows()[0]).toContain("on my way");
    expect(rows()[0]).not.toContain("typing…");
    await act(() => {
      backend.receipt(alan, 1, "read");
    });
    await nextFrame();
    expect(rows()[1]).toContain("the machine is ready");
  });

  it("focuses search with Ctrl+K", async () => {
    const backend = FakeBackend.withProfile();
    await mount(backend);
    await key(document.body, { key: "k", ctrlKey: true });
    expect(document.activeElement).toBe(byLabel("Search chats"));
  });

  it("opens a chat of 10,000 messages rendering only a window of rows, and marks it read", async () => {
    const backend = FakeBackend.withProfile();
    const chat = backend.addChat("Ada", 10_000);
    backend.receive(chat, "newest");
    await mount(backend);
    await click(root.querySelector<HTMLElement>(".chat-row")!);
    const rows = root.querySelectorAll("[role=listitem]");
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.length).toBeLessThan(60);
    expect(rows[rows.length - 1]?.textContent).toContain("newest");
    expect(backend.calls.some((call) => call.method === "markRead")).toBe(true);
    expect(root.querySelector(".chat-row")?.textContent).not.toContain("unread");
  });

  it("sends with Enter, makes a newline with Shift+Enter, and shows incoming messages", async () => {
    const backend = FakeBackend.withProfile();
    const chat = backend.addChat("Ada", 3);
    await mount(backend);
    await click(root.querySelector<HTMLElement>(".chat-row")!);
    const box = byLabel<HTMLTextAreaElement>("Message to Ada");
    await type(box, "first line");
    await key(box, { key: "Enter", shiftKey: true });
    expect(backend.calls.filter((call) => call.method === "sendText")).toHaveLength(0);
    await type(box, "hello there");
    await key(box, { key: "Enter" });
    expect(backend.calls.find((call) => call.method === "sendText")?.args[1]).toEqual({ text: "hello there" });
    expect(text()).toContain("hello there");
    expect(root.querySelector('[aria-label="Read"], [aria-label="Sent"]')).not.toBeNull();
    await act(() => {
      backend.receive(chat, "an answer");
    });
    await settle();
    expect(text()).toContain("an answer");
  });

  it("replies, reacts, edits and deletes through the message menu", async () => {
    const backend = FakeBackend.withProfile();
    const chat = backend.addChat("Ada", 0);
    const incoming = backend.receive(chat, "question?");
    await mount(backend);
    await click(root.querySelector<HTMLElement>(".chat-row")!);

    await click(root.querySelector<HTMLElement>('[aria-label="Message actions"]')!);
    await click(button("Reply"));
    expect(text()).toContain("Replying to Ada");
    const box = byLabel<HTMLTextAreaElement>("Message to Ada");
    await type(box, "answer!");
    await key(box, { key: "Enter" });
    expect(backend.calls.find((call) => call.method === "sendText")?.args[1]).toEqual({
      text: "answer!",
      replyTo: incoming.number,
    });
    expect(root.querySelector(".quote")?.textContent).toContain("question?");

    await click(root.querySelector<HTMLElement>('[aria-label="Message actions"]')!);
    await click(button("React with 👍"));
    expect(root.querySelector(".reaction")?.textContent).toContain("👍");

    // Up in the empty box edits the last message sent.
    await key(box, { key: "ArrowUp" });
    expect(text()).toContain("Editing");
    await type(box, "answer, edited");
    await key(box, { key: "Enter" });
    expect(text()).toContain("answer, edited");
    expect(text()).toContain("edited");

    const own = [...root.querySelectorAll<HTMLElement>(".message.out")].pop()!;
    await click(own.querySelector<HTMLElement>('[aria-label="Message actions"]')!);
    window.confirm = () => true;
    await click(button("Delete for everyone"));
    expect(text()).toContain("You deleted this message.");
  });

  it("puts emoji from the picker where the cursor is, and reacts with any emoji", async () => {
    const backend = FakeBackend.withProfile();
    const chat = backend.addChat("Ada", 0);
    backend.receive(chat, "lunch?");
    await mount(backend);
    await click(root.querySelector<HTMLElement>(".chat-row")!);

    const box = byLabel<HTMLTextAreaElement>("Message to Ada");
    await type(box, "see you");
    box.setSelectionRange(3, 3);
    await click(button("Emoji"));
    const picker = root.querySelector<HTMLElement>('[role=dialog][aria-label="Emoji"]')!;
    expect(document.activeElement).toBe(byLabel("Search emoji"));
    await click(picker.querySelector<HTMLElement>('[data-emoji="👋"]')!);
    expect(box.value).toBe("see👋 you");
    // The picker stays open for more; its search finds by name.
    await type(byLabel<HTMLInputElement>("Search emoji"), "pizza");
    expect([...picker.querySelectorAll("[data-emoji]")].map((cell) => cell.getAttribute("data-emoji"))).toEqual(["🍕"]);
    await key(byLabel("Search emoji"), { key: "Enter" });
    expect(box.value).toBe("see👋🍕 you");
    await key(byLabel("Search emoji"), { key: "Escape" });
    expect(root.querySelector(".emoji-picker")).toBeNull();
    expect(document.activeElement).toBe(box);
    await key(box, { key: "Enter" });
    expect(backend.calls.find((call) => call.method === "sendText")?.args[1]).toEqual({ text: "see👋🍕 you" });

    // Any emoji as a reaction: one found in the picker, then one typed in its search.
    await click(root.querySelector<HTMLElement>('[aria-label="Message actions"]')!);
    await click(button("More reactions"));
    const reactions = root.querySelector<HTMLElement>('[role=dialog][aria-label="React with an emoji"]')!;
    await click(reactions.querySelector<HTMLElement>('[data-emoji="🎉"]')!);
    expect(root.querySelector(".emoji-picker")).toBeNull();
    expect(root.querySelector(".reaction")?.textContent).toContain("🎉");
    await click(root.querySelector<HTMLElement>('[aria-label="Message actions"]')!);
    await click(button("More reactions"));
    await type(byLabel<HTMLInputElement>("Search emoji"), "🫠");
    await click(button("Use 🫠"));
    expect(root.querySelector(".reaction")?.textContent).toContain("🫠");
    expect(backend.calls.filter((call) => call.method === "react").map((call) => call.args[2])).toEqual(["🎉", "🫠"]);
  });

  it("opens a chat at its first unread message, under a divider, paging older history in", async () => {
    const backend = FakeBackend.withProfile();
    const chat = backend.addChat("Ada", 10);
    for (let index = 0; index < 150; index += 1) backend.receive(chat, `unread ${index}`);
    await mount(backend);
    await click(root.querySelector<HTMLElement>(".chat-row")!);
    await settle(10);
    const divider = root.querySelector<HTMLElement>(".unread-divider");
    expect(divider?.textContent).toBe("150 new messages");
    expect(divider?.closest(".row")?.textContent).toContain("unread 0");
    expect(root.querySelectorAll(".unread-divider")).toHaveLength(1);
    // The composer keeps the focus, to answer at once.
    expect(document.activeElement).toBe(byLabel("Message to Ada"));
    // Read now: opened again, no divider.
    await click(button("Back to chats"));
    await click(root.querySelector<HTMLElement>(".chat-row")!);
    await settle(10);
    expect(root.querySelector(".unread-divider")).toBeNull();
  });

  it("jumps to a quoted message, loading older history until it is there", async () => {
    const backend = FakeBackend.withProfile();
    const chat = backend.addChat("Ada", 450);
    const first = (await backend.history(chat, { limit: 1000 })).items[0]!;
    backend.receive(chat, "about your very first message", first.number);
    await mount(backend);
    await click(root.querySelector<HTMLElement>(".chat-row")!);
    expect(root.querySelector('[aria-posinset="1"]')).toBeNull();
    await click(root.querySelector<HTMLElement>(".quote")!);
    await settle(10);
    expect(document.activeElement?.getAttribute("aria-posinset")).toBe("1");
    expect(document.activeElement?.textContent).toContain("Message 0");
  });

  it("shows integrity and key-change notices", async () => {
    const backend = FakeBackend.withProfile();
    const chat = backend.addChat("Ada", 2);
    backend.notice(chat, { type: "skipped", first: 3, last: 4 });
    backend.notice(chat, { type: "keys_changed" });
    await mount(backend);
    await click(root.querySelector<HTMLElement>(".chat-row")!);
    expect(text()).toContain("2 messages from Ada did not arrive");
    expect(text()).toContain("Ada's security code changed");
    await click(button("Compare the code"));
    expect(root.querySelector("[role=dialog]")?.textContent).toContain("Security code with Ada");
    await click(button("Mark as verified"));
    expect(text()).toContain("Ada is verified.");
  });

  it("compares a scanned security code with the chat's own", async () => {
    const backend = FakeBackend.withProfile();
    const chat = backend.addChat("Ada", 1);
    const code = await backend.securityCode(chat);
    const camera = new FakeCamera();
    await mount(backend, null, camera);
    await click(root.querySelector<HTMLElement>(".chat-row")!);
    await click(button("Security code"));
    await click(button("Scan Ada's code"));
    await camera.show("sotto-code:12345");
    expect(camera.running).toBe(false);
    const dialog = () => root.querySelector("[role=dialog]")!;
    expect(dialog().querySelector(".warning")?.textContent).toContain("The codes do not match.");
    expect(await backend.chats().then((chats) => chats[0]?.verified)).toBe(false);
    await click(button("Scan Ada's code"));
    await camera.show("https://relay.example/invite#EEEE");
    expect(dialog().querySelector(".warning")?.textContent).toContain("not a security code");
    await click(button("Scan Ada's code"));
    await camera.show(code.qrPayload);
    expect(dialog().querySelector(".success")?.textContent).toContain("The codes match");
    await click(button("Mark as verified"));
    expect(text()).toContain("Ada is verified.");
  });

  it("sets the disappearing timer and mutes a chat", async () => {
    const backend = FakeBackend.withProfile();
    backend.addChat("Ada", 1);
    await mount(backend);
    await click(root.querySelector<HTMLElement>(".chat-row")!);
    await click(button("Contact info"));
    const fiveMinutes = [...root.querySelectorAll("label.choice")].find((label) => label.textContent === "5 minutes");
    await click(fiveMinutes!.querySelector("input")!);
    expect(backend.calls.find((call) => call.method === "setTimer")?.args[1]).toBe(300);
    await change(byLabel<HTMLSelectElement>("Notifications"), "8 hours");
    expect(backend.calls.find((call) => call.method === "setMuted")?.args[1]).toBeGreaterThan(Date.now());
    await key(root.querySelector("[role=dialog]")!, { key: "Escape" });
    expect(root.querySelector("[role=dialog]")).toBeNull();
    expect(text()).toContain("Messages disappear after 5 minutes");
    expect(root.querySelector('.chat-row [aria-label="Muted"]')).not.toBeNull();
  });
});

describe("connections", () => {
  it("shows an invitation as a QR code and a link", async () => {
    const backend = FakeBackend.withProfile();
    await mount(backend);
    await click(button("New chat: invite someone"));
    expect(root.querySelector('svg[aria-label="Invitation QR code"] path')).not.toBeNull();
    expect(byLabel<HTMLInputElement>("Invitation link").value).toContain("/invite#");
  });

  it("offers to connect when opened with an invitation link", async () => {
    const backend = FakeBackend.withProfile();
    const link = "https://relay.example/invite#i1.abc";
    await mount(backend, { kind: "invite", payload: "i1.abc", link });
    expect(root.querySelector("[role=dialog]")?.textContent).toContain("Connect with this invitation?");
    await click(button("Connect"));
    expect(backend.calls.find((call) => call.method === "connect")?.args[0]).toBe(link);
    expect(root.querySelector("[role=dialog]")).toBeNull();
    expect(text()).toContain("You are connected with");
  });

  it("shows that a link is being opened until its chat exists, then opens it", async () => {
    const backend = FakeBackend.withProfile();
    backend.holdJoins = true;
    await mount(backend);
    await click(button("New chat: invite someone"));
    await type(byLabel("Invitation, contact address or group link"), "https://relay.example/invite#AAAA");
    await click(button("Connect"));
    expect(root.querySelector("[role=dialog]")?.textContent).toContain("Opening the link…");
    await act(() => backend.finishJoins());
    await settle();
    expect(root.querySelector("[role=dialog]")).toBeNull();
    expect(root.querySelector(".conversation")?.textContent).toContain("You are connected with");
  });

  it("says why a link cannot be used and leaves no chat", async () => {
    const backend = FakeBackend.withProfile();
    const link = "https://relay.example/invite#BBBB";
    backend.refusedLinks.set(link, "This invitation was already used.");
    await mount(backend);
    await click(button("New chat: invite someone"));
    await type(byLabel("Invitation, contact address or group link"), link);
    await click(button("Connect"));
    const dialog = root.querySelector("[role=dialog]");
    expect(dialog?.querySelector("[role=alert]")?.textContent).toBe("This invitation was already used.");
    expect(dialog?.textContent).not.toContain("Opening the link…");
    expect(await backend.chats()).toHaveLength(0);
    expect(root.querySelector(".chat-row")).toBeNull();
  });

  it("says why the link the page was opened with cannot be used", async () => {
    const backend = FakeBackend.withProfile();
    const link = "https://relay.example/contact#CCCC";
    backend.refusedLinks.set(link, "This contact address no longer exists.");
    await mount(backend, { kind: "contact", payload: "CCCC", link });
    await click(button("Connect"));
    const dialog = root.querySelector("[role=dialog]");
    expect(dialog?.querySelector("[role=alert]")?.textContent).toBe("This contact address no longer exists.");
    expect(await backend.chats()).toHaveLength(0);
    await click(button("Close"));
    expect(root.querySelector("[role=dialog]")).toBeNull();
  });

  it("closes the invitation and opens the chat when someone joins with it", async () => {
    const backend = FakeBackend.withProfile();
    const earlier = await backend.createInvitation();
    await mount(backend);
    await click(button("New chat: invite someone"));
    const shown = byLabel<HTMLInputElement>("Invitation link").value;
    // Another invitation's join does not close this one.
    await act(() => {
      backend.answerInvitation(earlier.id, "Olga");
    });
    await settle();
    expect(byLabel<HTMLInputElement>("Invitation link").value).toBe(shown);
    const id = Number(/(\d+)$/.exec(shown)?.[1]);
    await act(() => {
      backend.answerInvitation(id, "Nina");
    });
    await settle();
    expect(root.querySelector("[role=dialog]")).toBeNull();
    expect(root.querySelector("main")?.getAttribute("aria-label")).toBe("Chat with Nina");
  });

  it("connects with a scanned invitation and stops the camera", async () => {
    const { backend, camera } = await scanInNewChat();
    await camera.show("WIFI:S:home;T:WPA;P:secret;;");
    expect(root.querySelector("[role=dialog] [role=alert]")?.textContent).toBe(
      "This QR code is not a Sotto invitation or contact address.",
    );
    expect(camera.running).toBe(true);
    await camera.show("https://relay.example/invite#DDDD");
    expect(camera.running).toBe(false);
    expect(backend.calls.find((call) => call.method === "connect")?.args[0]).toBe("https://relay.example/invite#DDDD");
    expect(root.querySelector("[role=dialog]")).toBeNull();
    expect(root.querySelector(".conversation")?.textContent).toContain("You are connected with");
  });

  it("stops the camera when the dialog closes", async () => {
    const { camera } = await scanInNewChat();
    await key(root.querySelector("[role=dialog]")!, { key: "Escape" });
    expect(root.querySelector("[role=dialog]")).toBeNull();
    expect(camera.stops).toBe(1);
  });

  it("says so when there is no camera or it is refused", async () => {
    const backend = FakeBackend.withProfile();
    // happy-dom has no navigator.mediaDevices: the real camera source is used.
    await mount(backend);
    await click(button("New chat: invite someone"));
    await click(button("Scan a QR code"));
    expect(root.querySelector("[role=dialog] .scanner [role=alert]")?.textContent).toContain(
      "This browser cannot use a camera on this page.",
    );
    render(null, root);
    await mount(backend, null, new FakeCamera("denied"));
    await click(button("New chat: invite someone"));
    await click(button("Scan a QR code"));
    expect(root.querySelector("[role=dialog] .scanner [role=alert]")?.textContent).toContain(
      "Camera access was refused.",
    );
  });

  it("accepts and rejects contact requests", async () => {
    const backend = FakeBackend.withProfile();
    backend.request("Barbara");
    backend.request("Mallory");
    await mount(backend);
    await click(button("Contact address and requests, 2 waiting"));
    await click(button("Reject Mallory"));
    expect(await backend.requests()).toHaveLength(1);
    // The focused button is gone: Esc still closes the dialog, Tab comes back in.
    (document.activeElement as HTMLElement | null)?.blur();
    await key(document.body, { key: "Tab" });
    expect(root.querySelector("[role=dialog]")?.contains(document.activeElement)).toBe(true);
    (document.activeElement as HTMLElement | null)?.blur();
    await key(document.body, { key: "Escape" });
    expect(root.querySelector("[role=dialog]")).toBeNull();
    await click(button("Contact address and requests, 1 waiting"));
    await click(button("Accept Barbara"));
    expect(await backend.requests()).toHaveLength(0);
    expect(root.querySelector(".conversation")?.textContent).toContain("Barbara");
  });
});

describe("settings", () => {
  it("asks for a new passphrase twice", async () => {
    const backend = FakeBackend.withProfile("correct horse");
    await mount(backend);
    await click(button("Settings"));
    await click(button("Change passphrase"));
    await type(byLabel("Current passphrase"), "correct horse");
    await type(byLabel<HTMLInputElement>("New passphrase"), "a brand new passphrase");
    await type(byLabel("New passphrase again"), "a brand new passphrasE");
    await click(button("Change passphrase"));
    expect(text()).toContain("The two new passphrases differ.");
    await backend.lock();
    await expect(backend.unlock("a brand new passphrase")).rejects.toMatchObject({ kind: "wrong-passphrase" });
    await backend.unlock("correct horse");
  });

  it("edits the profile", async () => {
    const backend = FakeBackend.withProfile();
    await mount(backend);
    await click(button("Settings"));
    await type(byLabel("Name"), "Ada L.");
    await type(byLabel("Bio"), "counting engines");
    await click(button("Save profile"));
    expect(await backend.profile()).toEqual({ displayName: "Ada L.", bio: "counting engines" });
    expect(text()).toContain("Profile saved");
  });

  it("exports with the passphrase, then shows the profile as moved and can start over", async () => {
    const backend = FakeBackend.withProfile("correct horse");
    backend.addChat("Grace", 1);
    URL.createObjectURL = vi.fn(() => "blob:archive");
    URL.revokeObjectURL = vi.fn();
    await mount(backend);
    await click(button("Settings"));
    await type(byLabel("Passphrase for the archive"), "wrong");
    await click(button("Export archive"));
    expect(text()).toContain("Exporting moves the profile");
    await click(button("Export and move"));
    expect(byLabel("Passphrase for the archive").closest("form")!.textContent).toContain("Wrong passphrase");
    expect(byLabel<HTMLInputElement>("Passphrase for the archive").value).toBe("wrong");
    expect(await backend.profileState()).toBe("unlocked");
    await type(byLabel("Passphrase for the archive"), "correct horse");
    await click(button("Export archive"));
    await click(button("Export and move"));
    await settle();
    expect(URL.createObjectURL).toHaveBeenCalledTimes(1);
    expect(await backend.profileState()).toBe("moved");
    expect(text()).toContain("This profile was exported");
    expect(text()).not.toContain("Grace");
    await type(byLabel("Passphrase"), "correct horse");
    await click(button("Download the archive again"));
    expect(URL.createObjectURL).toHaveBeenCalledTimes(2);
    await click(button("Start over: a new profile or another archive"));
    expect(text()).toContain("Welcome to Sotto");
  });

  it("changes the notification preview and the privacy blur", async () => {
    const backend = FakeBackend.withProfile();
    await mount(backend);
    await click(button("Settings"));
    const nameOnly = [...root.querySelectorAll("label.choice")].find((label) => label.textContent === "Name only");
    await click(nameOnly!.querySelector("input")!);
    expect((await backend.settings()).notificationPreview).toBe("name-only");
    await click(byLabel("Blur names and messages until hovered or focused"));
    expect((await backend.settings()).privacyBlur).toBe(true);
    expect(root.querySelector(".app.blur-on")).not.toBeNull();
  });
});

describe("disappearing messages", () => {
  it("hides a message when its timer runs out", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    try {
      const backend = FakeBackend.withProfile();
      const chat = backend.addChat("Ada", 1);
      await backend.setTimer(chat, 30);
      await act(() => render(<App backend={backend} />, root));
      for (let round = 0; round < 5; round += 1) await advance(0);
      await act(() => root.querySelector<HTMLElement>(".chat-row")!.click());
      for (let round = 0; round < 5; round += 1) await advance(0);
      const box = byLabel<HTMLTextAreaElement>("Message to Ada");
      await type(box, "gone soon");
      await act(() => {
        box.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true, cancelable: true }));
      });
      for (let round = 0; round < 5; round += 1) await advance(0);
      expect(text()).toContain("gone soon");
      expect(root.querySelector('[aria-label="Disappears 30 seconds after sending"]')).not.toBeNull();
      const timeline = () => root.querySelector(".message-scroller")?.textContent ?? "";
      await advance(29_000);
      expect(timeline()).toContain("gone soon");
      await advance(1_500);
      expect(timeline()).not.toContain("gone soon");
    } finally {
      vi.useRealTimers();
    }
  });
});

async function advance(ms: number): Promise<void> {
  await act(async () => {
    await vi.advanceTimersByTimeAsync(ms);
  });
}

describe("managing chats", () => {
  /** Opens the menu of the chat list's row for `name`. */
  async function rowMenu(name: string): Promise<HTMLElement> {
    await click(button(`Menu of the chat with ${name}`));
    const menu = root.querySelector<HTMLElement>("[role=menu]");
    if (!menu) throw new Error("no menu");
    return menu;
  }
  function menuItem(menu: HTMLElement, label: string): HTMLElement {
    const item = [...menu.querySelectorAll<HTMLElement>("[role=menuitem]")].find(
      (candidate) => candidate.textContent?.trim() === label,
    );
    if (!item) throw new Error(`no menu item "${label}"`);
    return item;
  }
  const rowNames = () => [...root.querySelectorAll(".chat-row .chat-name")].map((name) => name.textContent);

  it("pins a chat above the others and archives one out of the list", async () => {
    const backend = FakeBackend.withProfile();
    backend.addChat("Ada", 1, Date.now() - 3_600_000);
    backend.addChat("Bob", 1);
    await mount(backend);
    expect(rowNames()).toEqual(["Bob", "Ada"]);
    await click(menuItem(await rowMenu("Ada"), "Pin"));
    expect(rowNames()).toEqual(["Ada", "Bob"]);
    expect(root.querySelector('.chat-row [aria-label="Pinned"]')).not.toBeNull();
    await click(menuItem(await rowMenu("Bob"), "Archive"));
    expect(rowNames()).toEqual(["Ada"]);
    await click(button("Archived (1)"));
    expect(rowNames()).toEqual(["Bob"]);
    await click(menuItem(await rowMenu("Bob"), "Move out of the archive"));
    await click(button("Back to chats"));
    expect(rowNames()).toEqual(["Ada", "Bob"]);
  });

  it("opens a row's menu with the keyboard and gives focus back", async () => {
    const backend = FakeBackend.withProfile();
    backend.addChat("Ada", 1);
    await mount(backend);
    const row = root.querySelector<HTMLElement>(".chat-row")!;
    row.focus();
    await key(row, { key: "F10", shiftKey: true });
    const menu = root.querySelector<HTMLElement>("[role=menu]")!;
    expect(document.activeElement?.textContent).toBe("Contact info");
    await key(menu, { key: "ArrowDown" });
    expect(document.activeElement?.textContent).toBe("Pin");
    await key(menu, { key: "Escape" });
    expect(root.querySelector("[role=menu]")).toBeNull();
    expect(document.activeElement).toBe(row);
  });

  it("renames a contact on this device and tells duplicate names apart", async () => {
    const backend = FakeBackend.withProfile();
    const first = backend.addChat("Ada", 1, Date.now() - 3_600_000);
    const second = backend.addChat("Ada", 1);
    await mount(backend);
    expect(rowNames()).toEqual([`Ada #${second}`, `Ada #${first}`]);
    await click(menuItem(await rowMenu(`Ada #${first}`), "Contact info"));
    await type(byLabel<HTMLInputElement>("Name on this device"), "Ada from work");
    await click(button("Save name"));
    expect(backend.calls.find((call) => call.method === "setAlias")?.args).toEqual([first, "Ada from work"]);
    expect(root.querySelector("[role=dialog]")?.textContent).toContain("Their name: Ada");
    await key(root.querySelector("[role=dialog]")!, { key: "Escape" });
    expect(rowNames()).toEqual(["Ada", "Ada from work"]);
  });

  it("asks before clearing, blocking and deleting", async () => {
    const backend = FakeBackend.withProfile();
    const ada = backend.addChat("Ada", 3);
    await mount(backend);
    await click(root.querySelector<HTMLElement>(".chat-row")!);
    expect(root.querySelectorAll(".message").length).toBe(3);
    await click(button("Chat menu"));
    await click(menuItem(root.querySelector("[role=menu]")!, "Clear history…"));
    expect(root.querySelector("[role=dialog]")?.textContent).toContain("Clear the history with Ada?");
    await click(button("Cancel"));
    expect(backend.calls.some((call) => call.method === "clearHistory")).toBe(false);
    await click(button("Chat menu"));
    await click(menuItem(root.querySelector("[role=menu]")!, "Clear history…"));
    await click(button("Clear history"));
    expect(root.querySelectorAll(".message").length).toBe(0);

    await click(button("Chat menu"));
    await click(menuItem(root.querySelector("[role=menu]")!, "Block…"));
    await click(button("Block"));
    expect(backend.calls.some((call) => call.method === "block")).toBe(true);
    expect(text()).toContain("You blocked Ada");
    expect(root.querySelector(".composer")).toBeNull();
    expect(root.querySelector(".chat-row .tag")?.textContent).toBe("Blocked");
    await click(button("Unblock"));
    expect(backend.calls.some((call) => call.method === "unblock")).toBe(true);

    await click(button("Chat menu"));
    await click(menuItem(root.querySelector("[role=menu]")!, "Delete chat…"));
    await click(button("Delete chat"));
    expect(backend.calls.find((call) => call.method === "deleteChat")?.args).toEqual([ada]);
    expect(root.querySelector(".chat-row")).toBeNull();
    expect(root.querySelector(".conversation")).toBeNull();
  });

  it("deletes a received message for me", async () => {
    const backend = FakeBackend.withProfile();
    const ada = backend.addChat("Ada", 0);
    backend.receive(ada, "forget this");
    await mount(backend);
    await click(root.querySelector<HTMLElement>(".chat-row")!);
    await click(root.querySelector<HTMLElement>(".message-menu")!);
    await click(menuItem(root.querySelector("[role=menu]")!, "Delete for me"));
    await click(root.querySelector<HTMLElement>("[role=dialog] button.danger")!);
    expect(backend.calls.find((call) => call.method === "deleteForMe")?.args).toEqual([ada, 1]);
    expect(text()).not.toContain("forget this");
  });
});

describe("message search", () => {
  /** Types a query and waits for the core's answer (the search waits for typing to pause). */
  async function search(query: string): Promise<void> {
    await type(byLabel<HTMLInputElement>("Search chats"), query);
    await act(async () => {
      await new Promise((resolve) => setTimeout(resolve, 200));
    });
    await settle();
  }

  it("finds messages in every chat, marks the match, and opens the chat at an old message", async () => {
    const backend = FakeBackend.withProfile();
    backend.addChat("Ada", 350);
    const bob = backend.addChat("Bob", 0);
    backend.receive(bob, "Shall we meet at the Café Müller?");
    await mount(backend);
    await search("café MÜLLER");
    const hits = [...root.querySelectorAll<HTMLElement>(".search-hit")];
    expect(hits.length).toBe(1);
    expect(hits[0]!.textContent).toContain("Bob");
    expect(hits[0]!.querySelector("mark")?.textContent).toBe("Café Müller");

    await search("Message 3:");
    const old = root.querySelector<HTMLElement>(".search-hit")!;
    expect(old.textContent).toContain("Ada");
    await click(old);
    // Three pages of history come in until message 4 (index 3) is loaded, then it is marked.
    await settle(20);
    expect(root.querySelector(".message.marked")?.textContent).toContain("Message 3:");
  });

  it("moves from the box to the results with the arrow keys", async () => {
    const backend = FakeBackend.withProfile();
    const ada = backend.addChat("Ada", 0);
    backend.receive(ada, "the harbour at dawn");
    await mount(backend);
    await search("harbour");
    await key(byLabel("Search chats"), { key: "ArrowDown" });
    // The chat whose preview matches first, then the message.
    expect(document.activeElement?.classList.contains("chat-row")).toBe(true);
    await key(document.activeElement as HTMLElement, { key: "ArrowDown" });
    expect(document.activeElement?.classList.contains("search-hit")).toBe(true);
    await key(document.activeElement as HTMLElement, { key: "Enter" });
    await click(document.activeElement as HTMLElement);
    expect(root.querySelector(".message.marked")?.textContent).toContain("harbour");
  });

  it("says when nothing matches and when the query is too long", async () => {
    const backend = FakeBackend.withProfile();
    backend.addChat("Ada", 3);
    await mount(backend);
    await search("zebra");
    expect(text()).toContain("No message contains “zebra”");
    await search("x".repeat(300));
    expect(text()).toContain("too long to search for");
  });
});

describe("connection status", () => {
  const status = () => root.querySelector(".connection")?.textContent ?? "";

  it("is online as soon as a message arrives, and says inside a chat when messages queue offline", async () => {
    const backend = FakeBackend.withProfile();
    const ada = backend.addChat("Ada", 1);
    await mount(backend);
    expect(status()).toBe("Connecting…");
    await act(() => {
      backend.receive(ada, "hello");
    });
    await settle();
    expect(status()).toBe("");
    await click(root.querySelector<HTMLElement>(".chat-row")!);
    expect(root.querySelector(".queue-bar")).toBeNull();
    const sent = backend.receive(ada, "from before");
    await act(() => backend.emit({ type: "connection", state: "offline" }));
    await settle();
    expect(status()).toBe("Offline");
    expect(root.querySelector(".queue-bar")?.textContent).toContain("You are offline. Messages you send wait here");
    await act(() =>
      backend.emit({
        type: "item_added",
        item: { ...sent, direction: "outgoing", status: "pending", number: 99 },
        unread: 0,
      }),
    );
    await settle();
    expect(root.querySelector(".queue-bar")?.textContent).toContain("1 message waits here");
    await act(() =>
      backend.emit({ type: "item_changed", item: { ...sent, direction: "outgoing", status: "sent", number: 99 } }),
    );
    await settle();
    expect(status()).toBe("");
    expect(root.querySelector(".queue-bar")).toBeNull();
  });
});

describe("drafts", () => {
  it("keeps what was typed in each chat until it is sent", async () => {
    const backend = FakeBackend.withProfile();
    backend.addChat("Ada", 1);
    backend.addChat("Bob", 1);
    await mount(backend);
    const rows = () => [...root.querySelectorAll<HTMLElement>(".chat-row")];
    const open = async (name: string) => click(rows().find((row) => row.textContent?.includes(name))!);
    await open("Ada");
    await type(byLabel<HTMLTextAreaElement>("Message to Ada"), "half a thought");
    await open("Bob");
    expect(byLabel<HTMLTextAreaElement>("Message to Bob").value).toBe("");
    await open("Ada");
    expect(byLabel<HTMLTextAreaElement>("Message to Ada").value).toBe("half a thought");
    await key(byLabel("Message to Ada"), { key: "Enter" });
    await open("Bob");
    await open("Ada");
    expect(byLabel<HTMLTextAreaElement>("Message to Ada").value).toBe("");
  });
});

describe("a link of someone already a contact", () => {
  it("offers to open the chat or to connect it again", async () => {
    const backend = FakeBackend.withProfile();
    const ada = backend.addChat("Ada", 1);
    const link = "https://relay.example/invite#i1.again";
    backend.refusedLinks.set(link, "You already have a chat with the person who made this link.");
    backend.linksOfContacts.set(link, ada);
    await mount(backend, { kind: "invite", payload: "i1.again", link });
    await click(button("Connect"));
    await settle();
    expect(text()).toContain("You already have a chat");
    await click(button("Connect again"));
    expect(backend.calls.find((call) => call.method === "reconnect")?.args).toEqual([ada, link]);
    expect(root.querySelector("main.pane")?.getAttribute("aria-label")).toBe("Chat with Ada");
  });
});
