// Files between two browsers and the `sotto` command through a real relay:
// several files dropped on a chat at once (one of 100 MB), downloaded and
// saved on the other side with every byte checked; an image pasted into the
// composer, its preview shown before it is downloaded, then inline and in the
// lightbox; a voice message recorded from Chromium's fake microphone, sent
// with its duration and waveform and played on the other side; a download
// cancelled, an upload cancelled; a download stopped by a reload resumed
// after the unlock; two files dropped on the command's chat (one of 100 MB)
// downloaded by the command, and one from the command downloaded by the
// browser. Screenshots of each step go to the printed
// directory.
//
// Run by `cargo xtask test` after the production build (see harness.mjs), with
//   SOTTO_CLI   the sotto binary

import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import {
  artifactsDir,
  connectWith,
  createProfile,
  invitationLink,
  launchBrowser,
  openChat,
  openPage,
  required,
  startRelay,
  timeout,
  unlock,
} from "./harness.mjs";

const run = promisify(execFile);
const cli = required("SOTTO_CLI");
const shots = artifactsDir("files");
const shot = (page, name) => page.screenshot({ path: join(shots, `${name}.png`) });
const step = (what) => console.log(`files: ${what}: ok`);
const passphrase = "passphrase of Carl";
const MB = 1024 * 1024;
/** A transfer of 100 MB through a loopback relay, with room for a slow machine. */
const bigTimeout = 300_000;

/** Runs `sotto --json …` on `profile`; resolves with the parsed output. */
async function sotto(profile, ...args) {
  const { stdout } = await run(cli, ["--profile", profile, "--json", "--timeout", "10", ...args], {
    env: { ...process.env, SOTTO_PASSPHRASE: passphrase },
    maxBuffer: 16 * MB,
  });
  return JSON.parse(stdout);
}

/** The byte at `index` of test file `seed`: a pattern that a shifted or swapped piece breaks. */
const patternByte = (seed, index) => (index * 31 + seed * 7 + (index >> 16)) & 0xff;

/** Test file `seed` of `size` bytes, as node bytes. */
function patternBytes(seed, size) {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = patternByte(seed, i);
  return bytes;
}

/**
 * In the page: a stand-in for the browser's save dialog (headless Chromium has
 * none to click) whose file checks every byte against the pattern as it is
 * written, holding none of it; `window.saved` tells what each save got.
 */
function installSaveChecker(page) {
  return page.evaluate(() => {
    window.saved = {};
    window.showSaveFilePicker = async ({ suggestedName }) => {
      const match = /^pattern-(\d+)-/.exec(suggestedName);
      const seed = match ? Number(match[1]) : -1;
      const result = { bytes: 0, wrong: 0, closed: false };
      window.saved[suggestedName] = result;
      return {
        createWritable: async () => ({
          write: async (data) => {
            for (let i = 0; i < data.length; i++) {
              const index = result.bytes + i;
              const expected = (index * 31 + seed * 7 + (index >> 16)) & 0xff;
              if (data[i] !== expected) result.wrong++;
            }
            result.bytes += data.length;
          },
          close: async () => {
            result.closed = true;
          },
          abort: async () => undefined,
        }),
      };
    };
  });
}

/** Drops `files` ({seed, size, name, type}), made in the page, on the open conversation. */
function dropFiles(page, files) {
  return page.evaluate((files) => {
    const transfer = new DataTransfer();
    for (const { seed, size, name, type } of files) {
      const bytes = new Uint8Array(size);
      for (let i = 0; i < size; i++) bytes[i] = (i * 31 + seed * 7 + (i >> 16)) & 0xff;
      transfer.items.add(new File([bytes], name, { type }));
    }
    const target = document.querySelector(".conversation");
    for (const type of ["dragenter", "dragover", "drop"])
      target.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: transfer }));
  }, files);
}

/** The file card of `name` in `chat`. */
const card = (chat, name) => chat.getByLabel(`File ${name}`, { exact: true });

const work = mkdtempSync(join(tmpdir(), "sotto-e2e-files-"));
const { relay, address, web } = await startRelay(join(work, "relay"));
const browser = await launchBrowser(["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]);
try {
  const alice = await openPage(browser, web);
  const bob = await openPage(browser, web);
  for (const page of [alice, bob]) page.on("dialog", (dialog) => dialog.accept());
  await createProfile(alice, "Alice");
  await createProfile(bob, "Bob");
  await connectWith(bob, await invitationLink(alice));
  await alice.getByText("Bob").first().waitFor({ timeout });
  await bob.keyboard.press("Escape");
  const aliceChat = await openChat(alice, "Bob");
  const bobChat = await openChat(bob, "Alice");
  await installSaveChecker(bob);
  step("two browsers connected");

  // Several files dropped at once, one of 100 MB.
  const dropped = [
    { seed: 1, size: 200_000, name: "pattern-1-notes.txt", type: "text/plain" },
    { seed: 2, size: 100 * MB, name: "pattern-2-video.bin", type: "application/octet-stream" },
    { seed: 3, size: 5_000, name: "pattern-3-small.pdf", type: "application/pdf" },
  ];
  await dropFiles(alice, dropped);
  await card(aliceChat, "pattern-1-notes.txt").waitFor({ timeout });
  await shot(alice, "dropped-uploading");
  for (const file of dropped) {
    await card(bobChat, file.name)
      .getByRole("button", { name: `Download ${file.name}` })
      .waitFor({ timeout: bigTimeout });
  }
  await shot(bob, "offered");
  step("three files dropped at once reach the other browser");

  for (const file of dropped)
    await card(bobChat, file.name)
      .getByRole("button", { name: `Download ${file.name}` })
      .click();
  await bobChat.getByRole("progressbar").first().waitFor({ timeout });
  await shot(bob, "downloading");
  for (const file of dropped) {
    const saveButton = card(bobChat, file.name).getByRole("button", { name: "Save" });
    await saveButton.waitFor({ timeout: bigTimeout });
    await saveButton.click();
    await bob.waitForFunction((name) => window.saved[name]?.closed, file.name, { timeout: bigTimeout });
    const saved = await bob.evaluate((name) => window.saved[name], file.name);
    if (saved.bytes !== file.size || saved.wrong !== 0)
      throw new Error(`${file.name} saved ${saved.bytes} bytes, ${saved.wrong} wrong`);
  }
  await shot(bob, "received");
  step("downloaded, checked and saved byte for byte (100 MB included)");

  // An image pasted into the composer: its preview travels in the message.
  await alice.evaluate(async () => {
    const canvas = document.createElement("canvas");
    canvas.width = 320;
    canvas.height = 200;
    const context = canvas.getContext("2d");
    context.fillStyle = "#2f6f62";
    context.fillRect(0, 0, 320, 200);
    context.fillStyle = "#ffffff";
    context.font = "32px sans-serif";
    context.fillText("pasted image", 40, 110);
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
    const transfer = new DataTransfer();
    transfer.items.add(new File([blob], "image.png", { type: "image/png" }));
    const box = document.querySelector(".composer textarea");
    box.dispatchEvent(new ClipboardEvent("paste", { bubbles: true, cancelable: true, clipboardData: transfer }));
  });
  await bobChat.locator("img.file-preview").waitFor({ timeout: bigTimeout });
  await shot(bob, "image-preview");
  await card(bobChat, "image.png").getByRole("button", { name: "Download image.png" }).click();
  const bobImage = bobChat.locator(".file-image img");
  await bobImage.waitFor({ timeout: bigTimeout });
  await shot(bob, "image-inline");
  await bobChat.locator(".file-image").click();
  await bob.getByRole("dialog").locator(".lightbox-image").waitFor({ timeout });
  await shot(bob, "image-lightbox");
  await bob.keyboard.press("Escape");
  step("an image pasted, shown inline and in the lightbox");

  // A voice message recorded from the fake microphone, downloaded by itself and played.
  await bob.getByRole("button", { name: "Settings" }).click();
  await bob.getByLabel("Download files automatically").selectOption({ label: "Up to 5.0 MB" });
  await bob.keyboard.press("Escape");
  await aliceChat.getByRole("button", { name: "Record a voice message" }).click();
  await aliceChat.getByRole("status", { name: "Recording a voice message" }).waitFor({ timeout });
  await alice.waitForTimeout(3000);
  await shot(alice, "voice-recording");
  await aliceChat.getByRole("button", { name: "Send voice message" }).click();
  const voice = bobChat.locator(".voice").last();
  await voice.waitFor({ timeout: bigTimeout });
  await voice.locator("audio").waitFor({ state: "attached", timeout: bigTimeout });
  await voice.getByRole("button", { name: "Play voice message" }).click();
  await bob.waitForFunction(
    () => [...document.querySelectorAll(".voice audio")].some((audio) => audio.currentTime > 0.5),
    null,
    {
      timeout,
    },
  );
  await shot(bob, "voice-playing");
  await voice.getByRole("button", { name: "Pause voice message" }).click();
  await voice.getByRole("slider", { name: "Voice message position" }).click({ position: { x: 5, y: 5 } });
  const duration = await bob.evaluate(() => document.querySelector(".voice audio").duration);
  const waveform = await voice.locator(".waveform span").count();
  if (!(waveform === 64 && (duration > 2 || !Number.isFinite(duration))))
    throw new Error(`voice message: ${waveform} waveform bars, ${duration} s`);
  step("a voice message recorded, sent and played");

  // A download cancelled halfway.
  await dropFiles(alice, [
    { seed: 4, size: 60 * MB, name: "pattern-4-cancelled.bin", type: "application/octet-stream" },
  ]);
  const cancelled = card(bobChat, "pattern-4-cancelled.bin");
  await cancelled.getByRole("button", { name: "Download pattern-4-cancelled.bin" }).click({ timeout: bigTimeout });
  await cancelled.getByRole("button", { name: "Cancel pattern-4-cancelled.bin" }).click({ timeout });
  await cancelled.locator(".file-failure", { hasText: "Cancelled." }).waitFor({ timeout });
  await shot(bob, "cancelled");
  step("a download cancelled");

  // An upload cancelled by its sender.
  await dropFiles(alice, [
    { seed: 9, size: 60 * MB, name: "pattern-9-withdrawn.bin", type: "application/octet-stream" },
  ]);
  const withdrawn = card(aliceChat, "pattern-9-withdrawn.bin");
  await withdrawn.getByRole("button", { name: "Cancel pattern-9-withdrawn.bin" }).click({ timeout: bigTimeout });
  await withdrawn.locator(".file-failure", { hasText: "Cancelled." }).waitFor({ timeout });
  await shot(alice, "upload-cancelled");
  step("an upload cancelled");

  // A download stopped by a reload goes on from its last whole chunk once unlocked.
  await dropFiles(alice, [{ seed: 8, size: 40 * MB, name: "pattern-8-resumed.bin", type: "application/octet-stream" }]);
  const resumed = card(bobChat, "pattern-8-resumed.bin");
  await resumed.getByRole("button", { name: "Download pattern-8-resumed.bin" }).click({ timeout: bigTimeout });
  await bob.waitForFunction(
    () => {
      const bar = document.querySelector('[aria-label="File pattern-8-resumed.bin"] progress');
      return bar !== null && Number(bar.value) >= 15;
    },
    null,
    { timeout: bigTimeout },
  );
  await bob.reload();
  await unlock(bob, "passphrase of Bob");
  const bobAgain = await openChat(bob, "Alice");
  await installSaveChecker(bob);
  const resumedSave = card(bobAgain, "pattern-8-resumed.bin").getByRole("button", { name: "Save" });
  await resumedSave.click({ timeout: bigTimeout });
  await bob.waitForFunction(() => window.saved["pattern-8-resumed.bin"]?.closed, null, { timeout: bigTimeout });
  const resumedBytes = await bob.evaluate(() => window.saved["pattern-8-resumed.bin"]);
  if (resumedBytes.bytes !== 40 * MB || resumedBytes.wrong !== 0) throw new Error("the resumed download differs");
  step("a download resumed after a reload");

  // An upload stopped by its sender's reload goes on from its last whole chunk once unlocked.
  await openChat(alice, "Bob");
  await dropFiles(alice, [
    { seed: 10, size: 40 * MB, name: "pattern-10-reloaded.bin", type: "application/octet-stream" },
  ]);
  await alice.waitForFunction(
    () => {
      const bar = document.querySelector('[aria-label="File pattern-10-reloaded.bin"] progress');
      return bar !== null && Number(bar.value) >= 15;
    },
    null,
    { timeout: bigTimeout },
  );
  await alice.reload();
  await unlock(alice, "passphrase of Alice");
  await openChat(alice, "Bob");
  const reloaded = card(bobAgain, "pattern-10-reloaded.bin");
  await reloaded.getByRole("button", { name: "Download pattern-10-reloaded.bin" }).click({ timeout: bigTimeout });
  await reloaded.getByRole("button", { name: "Save" }).click({ timeout: bigTimeout });
  await bob.waitForFunction(() => window.saved["pattern-10-reloaded.bin"]?.closed, null, { timeout: bigTimeout });
  const reloadedBytes = await bob.evaluate(() => window.saved["pattern-10-reloaded.bin"]);
  if (reloadedBytes.bytes !== 40 * MB || reloadedBytes.wrong !== 0) throw new Error("the resumed upload differs");
  step("an upload resumed after its sender reloaded");

  // Saving blocked by one side holds for both: the file still shows, nothing offers to save it.
  await alice.getByRole("button", { name: "Contact info" }).click();
  await alice.getByRole("checkbox", { name: "Block saving media" }).check();
  await alice.keyboard.press("Escape");
  await bobAgain.getByText("Alice blocked saving and exporting media in this chat.").waitFor({ timeout });
  await card(bobAgain, "pattern-10-reloaded.bin").getByRole("button", { name: "Save" }).waitFor({
    state: "detached",
    timeout,
  });
  await shot(bob, "saving-blocked");
  await alice.getByRole("button", { name: "Contact info" }).click();
  await alice.getByRole("checkbox", { name: "Block saving media" }).uncheck();
  await alice.keyboard.press("Escape");
  await card(bobAgain, "pattern-10-reloaded.bin").getByRole("button", { name: "Save" }).waitFor({ timeout });
  step("saving blocked by one side, then allowed again");

  // The browser's files reach the command, and the command's the browser.
  const carl = join(work, "carl");
  await sotto(carl, "init", "--name", "Carl", "--relay", address);
  await sotto(carl, "connect", await invitationLink(alice));
  await alice.getByRole("complementary", { name: "Chats" }).getByText("Carl", { exact: true }).waitFor({ timeout });
  const deadline = Date.now() + timeout;
  for (;;) {
    await sotto(carl, "receive");
    const { contacts } = await sotto(carl, "contacts");
    if (contacts.some((contact) => contact.name === "Alice" && contact.state === "connected")) break;
    if (Date.now() > deadline) throw new Error("the command never connected");
  }
  const carlChat = await openChat(alice, "Carl");
  await dropFiles(alice, [
    { seed: 5, size: 100 * MB, name: "pattern-5-for-carl.bin", type: "application/octet-stream" },
    { seed: 6, size: 10_000, name: "pattern-6-for-carl.txt", type: "text/plain" },
  ]);
  await card(carlChat, "pattern-6-for-carl.txt").getByRole("button", { name: "Save" }).waitFor({ timeout: bigTimeout });
  await card(carlChat, "pattern-5-for-carl.bin").getByRole("button", { name: "Save" }).waitFor({ timeout: bigTimeout });
  const downloads = join(work, "downloads");
  mkdirSync(downloads);
  const until = Date.now() + bigTimeout;
  for (;;) {
    await sotto(carl, "receive");
    await sotto(carl, "download", "--all", "--dir", downloads).catch(() => undefined);
    const names = (() => {
      try {
        return readdirSync(downloads);
      } catch {
        return [];
      }
    })();
    if (names.includes("pattern-5-for-carl.bin") && names.includes("pattern-6-for-carl.txt")) break;
    if (Date.now() > until) throw new Error(`the command downloaded only ${names.join(", ")}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  for (const [seed, size, name] of [
    [5, 100 * MB, "pattern-5-for-carl.bin"],
    [6, 10_000, "pattern-6-for-carl.txt"],
  ]) {
    const got = createHash("sha256")
      .update(readFileSync(join(downloads, name)))
      .digest("hex");
    const want = createHash("sha256").update(patternBytes(seed, size)).digest("hex");
    if (got !== want) throw new Error(`${name} differs at the command`);
  }
  await shot(alice, "sent-to-cli");
  step("files from the browser downloaded by the command");

  const fromCarl = join(work, "pattern-7-from-carl.bin");
  writeFileSync(fromCarl, patternBytes(7, 2 * MB + 123));
  await sotto(carl, "send-file", "Alice", fromCarl);
  await installSaveChecker(alice);
  const carlCard = card(carlChat, "pattern-7-from-carl.bin");
  await carlCard.getByRole("button", { name: "Download pattern-7-from-carl.bin" }).click({ timeout: bigTimeout });
  await carlCard.getByRole("button", { name: "Save" }).click({ timeout: bigTimeout });
  await alice.waitForFunction(() => window.saved["pattern-7-from-carl.bin"]?.closed, null, { timeout });
  const saved = await alice.evaluate(() => window.saved["pattern-7-from-carl.bin"]);
  if (saved.bytes !== 2 * MB + 123 || saved.wrong !== 0) throw new Error("the command's file differs in the browser");
  await shot(alice, "received-from-cli");
  step("a file from the command downloaded by the browser");

  // A block set in the browser binds the command too.
  await alice.getByRole("button", { name: "Contact info" }).click();
  await alice.getByRole("checkbox", { name: "Block saving media" }).check();
  await alice.keyboard.press("Escape");
  const blockedUntil = Date.now() + timeout;
  for (;;) {
    await sotto(carl, "receive");
    const media = await sotto(carl, "media", "Alice");
    if (media.block_saving) break;
    if (Date.now() > blockedUntil) throw new Error("the command never learned that saving is blocked");
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  const { messages } = await sotto(carl, "history", "Alice");
  const offered = messages.findLast((item) => item.file?.name === "pattern-6-for-carl.txt");
  const refused = await sotto(carl, "download", "Alice", String(offered.number)).then(
    () => null,
    (error) => JSON.parse(error.stdout),
  );
  if (refused?.error?.kind !== "saving_blocked")
    throw new Error(`the command saved a file of a chat that blocks it: ${JSON.stringify(refused)}`);
  step("the command refuses to save while the browser blocks saving");
} finally {
  await browser.close();
  relay.kill();
  rmSync(work, { recursive: true, force: true });
}
