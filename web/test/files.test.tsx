// Files in the UI, against the in-memory fake backend: what a file is sent
// as, the card of a file offered, downloaded and saved, files dropped on a
// chat or picked, and the helpers behind them.

import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FakeBackend } from "../src/fake-backend";
import { durationText, pastedName, sendName, sendType, voiceName, waveformBytes, WAVEFORM_SAMPLES } from "../src/files";
import { App } from "../src/ui/app";
import { fileSize } from "../src/user-text";

let root: HTMLElement;

beforeEach(() => {
  root = document.createElement("div");
  document.body.append(root);
});

afterEach(() => {
  render(null, root);
  root.remove();
});

async function settle(rounds = 6): Promise<void> {
  for (let round = 0; round < rounds; round += 1) {
    await act(async () => {
      await new Promise((resolve) => setTimeout(resolve, 0));
    });
  }
}

function button(text: string): HTMLButtonElement {
  const found = [...root.querySelectorAll<HTMLButtonElement>("button")].find(
    (candidate) => candidate.textContent?.trim() === text || candidate.getAttribute("aria-label") === text,
  );
  if (!found) throw new Error(`no button "${text}"`);
  return found;
}

async function click(element: HTMLElement): Promise<void> {
  await act(() => element.click());
  await settle();
}

/** The app with a chat with Bob open. */
async function openBob(): Promise<{ backend: FakeBackend; chat: number }> {
  const backend = FakeBackend.withProfile();
  const chat = backend.addChat("Bob");
  await act(() => render(<App backend={backend} initialInvite={null} />, root));
  await settle();
  await click(root.querySelector<HTMLElement>(".chat-row")!);
  return { backend, chat };
}

describe("files", () => {
  it("names and types what is sent within a message's bounds", () => {
    expect(sendName(new File(["x"], "report.pdf"), "fallback")).toBe("report.pdf");
    expect(sendName(new Blob(["x"]), "pasted.png")).toBe("pasted.png");
    const long = sendName(new File(["x"], `${"é".repeat(200)}.txt`), "f");
    expect(new TextEncoder().encode(long).length).toBeLessThanOrEqual(255);
    expect(sendType(new Blob(["x"], { type: "audio/webm;codecs=opus" }))).toBe("audio/webm");
    expect(sendType(new Blob(["x"]))).toBe("application/octet-stream");
    expect(pastedName("image/png", new Date("2026-12-06T10:20:30Z"))).toBe("pasted-20261206-102030.png");
    expect(voiceName("audio/ogg", new Date("2026-12-06T10:20:30Z"))).toBe("voice-20261206-102030.ogg");
    expect(fileSize(512)).toBe("512 B");
    expect(fileSize(3 * 1024 * 1024)).toBe("3.0 MB");
    expect(durationText(61_400)).toBe("1:01");
  });

  it("scales a recording's levels to 64 waveform bytes, the loudest at 255", () => {
    const levels = Array.from({ length: 300 }, (_, i) => (i === 150 ? 0.5 : 0.1));
    const waveform = waveformBytes(levels);
    expect(waveform.length).toBe(WAVEFORM_SAMPLES);
    expect(Math.max(...waveform)).toBe(255);
    expect(Math.min(...waveform)).toBe(51);
    expect(waveformBytes([]).length).toBe(0);
  });

  it("offers a received file, downloads it on request and saves it", async () => {
    const { backend, chat } = await openBob();
    await act(() => {
      backend.receiveFile(chat, new Blob(["hello file"]), "notes.txt", "text/plain");
    });
    await settle();
    const card = root.querySelector<HTMLElement>('[aria-label="File notes.txt"]')!;
    expect(card.textContent).toContain("notes.txt");
    expect(card.textContent).toContain("10 B · text/plain");
    await click(button("Download notes.txt"));
    expect(backend.calls.some((call) => call.method === "downloadFile")).toBe(true);
    const written: Uint8Array[] = [];
    (window as unknown as { showSaveFilePicker: unknown }).showSaveFilePicker = async () => ({
      createWritable: async () => ({
        write: async (data: Uint8Array) => {
          written.push(data);
        },
        close: async () => undefined,
        abort: async () => undefined,
      }),
    });
    await click(button("Save"));
    expect(new TextDecoder().decode(written[0])).toBe("hello file");
    delete (window as unknown as { showSaveFilePicker?: unknown }).showSaveFilePicker;
  });

  it("blocks saving a chat's media from its info panel: the file still shows, Save is gone and refused", async () => {
    const { backend, chat } = await openBob();
    await act(() => {
      backend.receiveFile(chat, new Blob(["hello file"]), "notes.txt", "text/plain");
    });
    await settle();
    await click(button("Download notes.txt"));
    expect(button("Save")).toBeTruthy();
    await click(button("Contact info"));
    const block = [...root.querySelectorAll("label.choice")].find((label) =>
      label.textContent?.includes("Block saving media"),
    );
    await click(block!.querySelector("input")!);
    expect(backend.calls.find((call) => call.method === "setBlockSaving")?.args).toEqual([chat, true]);
    const downloads = [...root.querySelectorAll("label")]
      .find((label) => label.textContent?.startsWith("Automatic downloads in this chat"))!
      .querySelector("select")!;
    await act(() => {
      downloads.value = "off";
      downloads.dispatchEvent(new Event("change"));
    });
    await settle();
    expect(backend.calls.find((call) => call.method === "setChatAutoDownload")?.args).toEqual([chat, "off"]);
    await click(button("Close"));
    expect(root.textContent).toContain("notes.txt");
    expect(() => button("Save")).toThrow();
    await expect(backend.readFile(chat, 1, () => undefined, true)).rejects.toMatchObject({ kind: "saving-blocked" });
  });

  it("sends files dropped on the chat, and files picked", async () => {
    const { backend } = await openBob();
    const conversation = root.querySelector<HTMLElement>(".conversation")!;
    const files = [new File(["a"], "a.txt", { type: "text/plain" }), new File(["bb"], "b.bin")];
    const dataTransfer = { types: ["Files"], files, dropEffect: "none" };
    await act(() => {
      const drop = new Event("drop", { bubbles: true, cancelable: true });
      Object.defineProperty(drop, "dataTransfer", { value: dataTransfer });
      conversation.dispatchEvent(drop);
    });
    await settle();
    const sent = backend.calls.filter((call) => call.method === "sendFile").map((call) => call.args[1]);
    expect(sent).toEqual(["a.txt", "b.bin"]);
    expect(root.querySelector('[aria-label="File b.bin"]')?.textContent).toContain("application/octet-stream");
    const picker = root.querySelector<HTMLInputElement>('input[type="file"]')!;
    Object.defineProperty(picker, "files", { value: [new File(["c"], "c.txt")], configurable: true });
    await act(() => {
      picker.dispatchEvent(new Event("change", { bubbles: true }));
    });
    await settle();
    expect(backend.calls.filter((call) => call.method === "sendFile").length).toBe(3);
  });
});
