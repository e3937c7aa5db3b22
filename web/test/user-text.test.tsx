// Names and messages from other people: bidirectional controls dropped, and
// the elements that show them isolated.

import { readFileSync } from "node:fs";
import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ChatView, FileItem, ItemView } from "../src/backend";
import { FakeBackend } from "../src/fake-backend";
import { App } from "../src/ui/app";
import { cleanChat, cleanEvent, cleanItem, cleanRequest, withoutBidiControls } from "../src/user-text";

/** Every bidirectional control the CLI drops too. */
const CONTROLS = "\u061C\u200E\u200F\u202A\u202B\u202C\u202D\u202E\u2066\u2067\u2068\u2069";
/** A name that reads "Invoice.exe" as "Invoiceexe.pdf" with a right-to-left override. */
const SPOOFED = "Invoice\u202Efdp.exe";

describe("withoutBidiControls", () => {
  it("drops marks, embeddings, overrides and isolates, and nothing else", () => {
    expect(withoutBidiControls(`a${CONTROLS}b`)).toBe("ab");
    expect(withoutBidiControls(SPOOFED)).toBe("Invoicefdp.exe");
    // Right-to-left text itself is kept: only the controls go.
    expect(withoutBidiControls("שלום עולם 👋")).toBe("שלום עולם 👋");
    expect(withoutBidiControls("line\nbreak\ttab")).toBe("line\nbreak\ttab");
  });

  it("cleans every user-chosen string of chats, items, requests and events", () => {
    const item: ItemView = {
      chat: 1,
      number: 2,
      direction: "incoming",
      seq: 2,
      sent_at: 0,
      at: 0,
      status: "delivered",
      text: `hi${CONTROLS}`,
      reply_to: 1,
      quoted: { number: 1, direction: "outgoing", text: `q\u202Eq`, deleted: false },
      notice: null,
      edited: false,
      deleted: false,
      reactions: [{ mine: false, emoji: "\u202E👍" }],
      expires_at: null,
      file: null,
    };
    const chat: ChatView = {
      id: 1,
      name: SPOOFED,
      bio: `b${CONTROLS}io`,
      state: "connected",
      verified: false,
      unread: 1,
      timer_secs: null,
      read_receipts: "default",
      last_activity: 0,
      last_item: item,
      alias: `Bo${CONTROLS}b`,
      pinned: false,
      archived: false,
      blocked: false,
      muted_until: null,
      block_saving: false,
      auto_download: "default",
      members: null,
    };
    const cleaned = cleanChat(chat);
    expect(cleaned.name).toBe("Invoicefdp.exe");
    expect(cleaned.bio).toBe("bio");
    expect(cleaned.alias).toBe("Bob");
    const last = cleaned.last_item as ItemView;
    expect(last.text).toBe("hi");
    expect(last.quoted?.text).toBe("qq");
    expect(last.reactions[0]?.emoji).toBe("👍");
    expect(cleanItem(item)).toEqual(last);
    expect(cleanRequest({ id: 3, name: SPOOFED, bio: null, received_at: 0 }).name).toBe("Invoicefdp.exe");
    const added = cleanEvent({ type: "item_added", item, unread: 1 });
    expect(added.type === "item_added" && added.item.text).toBe("hi");
    const changed = cleanEvent({ type: "chat_changed", chat });
    expect(changed.type === "chat_changed" && changed.chat.name).toBe("Invoicefdp.exe");
  });
});

describe("isolation in the page", () => {
  let root: HTMLElement;
  beforeEach(() => {
    root = document.createElement("div");
    document.body.append(root);
  });
  afterEach(() => {
    render(null, root);
    root.remove();
  });

  it("shows names and messages in elements of their own direction", async () => {
    const backend = FakeBackend.withProfile();
    const chat = backend.addChat("שרה", 0);
    backend.receive(chat, "مرحبا");
    await act(() => render(<App backend={backend} initialInvite={null} />, root));
    for (let round = 0; round < 5; round += 1)
      await act(async () => {
        await new Promise((resolve) => setTimeout(resolve, 0));
      });
    const name = root.querySelector(".chat-name");
    expect(name?.textContent).toBe("שרה");
    expect(name?.getAttribute("dir")).toBe("auto");
    const preview = root.querySelector(".chat-row .preview");
    expect(preview?.getAttribute("dir")).toBe("auto");
    await act(() => root.querySelector<HTMLElement>(".chat-row")?.click());
    for (let round = 0; round < 5; round += 1)
      await act(async () => {
        await new Promise((resolve) => setTimeout(resolve, 0));
      });
    expect(root.querySelector("#conversation-title")?.getAttribute("dir")).toBe("auto");
    const text = [...root.querySelectorAll(".message .text")].find((element) => element.textContent === "مرحبا");
    expect(text?.getAttribute("dir")).toBe("auto");
  });
});

describe("the stylesheet", () => {
  it("isolates every element that shows a name or a message", () => {
    const css = readFileSync(`${process.cwd()}/src/styles.css`, "utf8");
    expect(css).toMatch(/\.private,\s*\.quote-author\s*\{\s*unicode-bidi: isolate;/);
  });

  it("shows a file message, which the web client cannot open yet, as text naming it", () => {
    const file: FileItem = {
      chat: 1,
      number: 3,
      direction: "incoming",
      seq: 3,
      sent_at: 0,
      at: 0,
      status: "delivered",
      text: null,
      reply_to: null,
      quoted: null,
      notice: null,
      edited: false,
      deleted: false,
      reactions: [],
      expires_at: null,
      file: {
        name: `report${CONTROLS}.pdf`,
        size: 3 * 1024 * 1024,
        media_type: "application/pdf",
        state: "available",
        failure: null,
        preview: null,
        duration_ms: null,
        waveform: [],
      },
    };
    expect(cleanItem(file).text).toBe("📎 report.pdf (3.0 MB)");
  });
});
