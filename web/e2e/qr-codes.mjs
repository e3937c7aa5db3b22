// QR codes end to end: the invitation's QR code, screenshotted at its normal
// size, decodes with a decoder other than the encoder (jsQR on the PNG, in
// node) to the short link shown; a second browser whose camera (Chromium's
// fake capture device) films that code scans it, opens the link and
// connects, while the inviter's dialog closes on the new chat; scanning the
// used link again is refused with the core's reason and makes no chat; the
// contact's security code, filmed the same way, is compared and matches, and
// another code is flagged. Screenshots at phone and desktop size go to the
// printed directory.
//
// The fake camera plays a Y4M file written here, one frame showing the code.
// Chromium opens the file each time a capture starts, so the test rewrites it
// between scans.
//
// Run by `cargo xtask test` after the production build (see harness.mjs).

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import jsQR from "jsqr";
import { PNG } from "pngjs";
import qrcode from "qrcode-generator";
import { artifactsDir, createProfile, launchBrowser, openPage, startRelay, timeout } from "./harness.mjs";

const shots = artifactsDir("qr-codes");
const step = (what) => console.log(`QR codes: ${what}: ok`);
const PHONE = { width: 390, height: 844 };

function check(condition, what) {
  if (!condition) throw new Error(what);
}

/** The text of the QR code in a PNG screenshot, decoded by jsQR; null if none is found. */
function decodePng(png) {
  const { width, height, data } = PNG.sync.read(png);
  return jsQR(new Uint8ClampedArray(data.buffer, data.byteOffset, data.length), width, height)?.data ?? null;
}

/** Frame size of the fake camera (4:3, even sides for 4:2:0 chroma). */
const VIDEO_WIDTH = 640;
const VIDEO_HEIGHT = 480;

/**
 * Writes a one-frame Y4M video (4:2:0, 8 bit) of `text`'s QR code, black on
 * white with a four-module quiet zone, as large as the frame allows.
 */
function writeQrVideo(path, text) {
  const code = qrcode(0, "M");
  code.addData(text, "Byte");
  code.make();
  const modules = code.getModuleCount() + 8;
  const scale = Math.floor(Math.min(VIDEO_WIDTH, VIDEO_HEIGHT) / modules);
  const left = Math.floor((VIDEO_WIDTH - modules * scale) / 2);
  const top = Math.floor((VIDEO_HEIGHT - modules * scale) / 2);
  const luma = Buffer.alloc(VIDEO_WIDTH * VIDEO_HEIGHT, 235);
  for (let row = 0; row < code.getModuleCount(); row += 1) {
    for (let column = 0; column < code.getModuleCount(); column += 1) {
      if (!code.isDark(row, column)) continue;
      for (let y = 0; y < scale; y += 1) {
        const start = (top + (row + 4) * scale + y) * VIDEO_WIDTH + left + (column + 4) * scale;
        luma.fill(16, start, start + scale);
      }
    }
  }
  const chroma = Buffer.alloc((VIDEO_WIDTH / 2) * (VIDEO_HEIGHT / 2), 128);
  const header = `YUV4MPEG2 W${VIDEO_WIDTH} H${VIDEO_HEIGHT} F10:1 Ip A1:1 C420jpeg\n`;
  writeFileSync(path, Buffer.concat([Buffer.from(header), Buffer.from("FRAME\n"), luma, chroma, chroma]));
}

const work = mkdtempSync(join(tmpdir(), "sotto-e2e-qr-"));
const camera = join(work, "camera.y4m");
const { relay, web } = await startRelay(join(work, "relay"));
const browser = await launchBrowser();
let filming = null;
try {
  // The inviter's QR code, at the size the dialog shows it, decodes to the link shown.
  const alice = await openPage(browser, web);
  await createProfile(alice, "Alice");
  await alice.getByRole("button", { name: "New chat: invite someone" }).click();
  const linkInput = alice.getByLabel("Invitation link");
  await linkInput.waitFor({ timeout });
  const link = await linkInput.inputValue();
  check(link.length < 300, `the invitation link is ${link.length} characters: ${link}`);
  const invitationQr = alice.getByRole("img", { name: "Invitation QR code" });
  const box = await invitationQr.boundingBox();
  const decoded = decodePng(await invitationQr.screenshot());
  check(decoded === link, `the QR code (${box?.width}x${box?.height} px) reads ${decoded}, not ${link}`);
  await alice.screenshot({ path: join(shots, "invite-desktop.png") });
  step(`the invitation's QR code at ${Math.round(box?.width ?? 0)} px decodes to the ${link.length}-character link`);

  // Bob's camera films a code that is not Sotto's: said, and scanning goes on.
  // Then it films Alice's code: scanning opens the link and connects, and
  // Alice's dialog closes on the chat with Bob.
  writeQrVideo(camera, "https://example.com/menu");
  filming = await launchBrowser([
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    `--use-file-for-fake-video-capture=${camera}`,
  ]);
  const bob = await openPage(filming, web, PHONE);
  await bob.context().grantPermissions(["camera"], { origin: new URL(web).origin });
  await createProfile(bob, "Bob");
  const newChat = bob.getByRole("dialog", { name: "New chat" });
  await bob.getByRole("button", { name: "New chat: invite someone" }).click();
  await newChat.getByRole("button", { name: "Scan a QR code" }).click();
  await newChat.getByText("This QR code is not a Sotto invitation or contact address.").waitFor({ timeout });
  check(
    await newChat.getByLabel("Camera: invitation QR code").evaluate((video) => video.readyState >= 2),
    "the camera shows nothing",
  );
  await bob.screenshot({ path: join(shots, "scanning-phone.png") });
  await newChat.getByRole("button", { name: "Stop scanning" }).click();
  writeQrVideo(camera, link);
  await newChat.getByRole("button", { name: "Scan a QR code" }).click();
  await newChat.waitFor({ state: "detached", timeout });
  await bob.getByRole("main", { name: "Chat with Alice" }).waitFor({ timeout });
  await alice.getByRole("dialog", { name: "New chat" }).waitFor({ state: "detached", timeout });
  await alice.getByRole("main", { name: "Chat with Bob" }).waitFor({ timeout });
  await bob
    .getByRole("main", { name: "Chat with Alice" })
    .getByText("You are connected with Alice")
    .waitFor({ timeout });
  await bob.screenshot({ path: join(shots, "scanned-phone.png") });
  await alice.screenshot({ path: join(shots, "joined-desktop.png") });
  step("a scanned invitation connects, and the inviter's dialog opens the new chat");

  // The same code again: the one-time link is used, said in the dialog, no chat made.
  await bob.getByRole("button", { name: "Back to chats" }).click();
  await bob.getByRole("button", { name: "New chat: invite someone" }).click();
  await newChat.getByRole("button", { name: "Scan a QR code" }).click();
  const refusal = newChat.getByRole("alert").filter({ hasText: /\S/ });
  await refusal.waitFor({ timeout });
  const reason = await refusal.textContent();
  check(/used|withdrawn/i.test(reason ?? ""), `an unexpected refusal: ${reason}`);
  check((await newChat.getByLabel("Camera: invitation QR code").count()) === 0, "the camera still runs after a scan");
  await bob.screenshot({ path: join(shots, "refused-phone.png") });
  await bob.keyboard.press("Escape");
  const bobChats = bob.getByRole("complementary", { name: "Chats" });
  check((await bobChats.getByText("Alice", { exact: true }).count()) === 1, "a second chat was made");
  step(`a used invitation scanned again is refused ("${reason}")`);

  // Security codes: Alice's, filmed by Bob's camera, matches Bob's; another does not.
  await alice
    .getByRole("main", { name: "Chat with Bob" })
    .getByRole("button", { name: "Security code", exact: true })
    .click();
  const aliceCode = decodePng(await alice.getByRole("img", { name: "Security code QR code" }).screenshot());
  check(aliceCode !== null, "Alice's security code QR code does not decode");
  writeQrVideo(camera, aliceCode);
  await bobChats.getByText("Alice", { exact: true }).first().click();
  await bob
    .getByRole("main", { name: "Chat with Alice" })
    .getByRole("button", { name: "Security code", exact: true })
    .click();
  const bobCode = bob.getByRole("dialog", { name: "Security code with Alice" });
  await bobCode.getByRole("button", { name: "Scan Alice's code" }).click();
  await bobCode.getByText("The codes match").waitFor({ timeout });
  await bob.screenshot({ path: join(shots, "code-match-phone.png") });
  await bobCode.getByRole("button", { name: "Mark as verified" }).click();
  await bobCode.getByText("Alice is verified.").waitFor({ timeout });
  const wrong = `${aliceCode.slice(0, -2)}${aliceCode.endsWith("00") ? "01" : "00"}`;
  writeQrVideo(camera, wrong);
  await bobCode.getByRole("button", { name: "Scan Alice's code" }).click();
  await bobCode.getByText("The codes do not match.").waitFor({ timeout });
  await bob.setViewportSize({ width: 1100, height: 760 });
  await bob.screenshot({ path: join(shots, "code-mismatch-desktop.png") });
  step("a scanned security code is compared: the right one matches, another is flagged");
  console.log("QR codes: ok");
} catch (error) {
  for (const running of [browser, filming]) {
    for (const [index, context] of (running?.contexts() ?? []).entries()) {
      for (const page of context.pages()) {
        await page.screenshot({ path: join(shots, `failure-${running === browser ? "a" : "b"}${index}.png`) });
      }
    }
  }
  throw error;
} finally {
  await browser.close();
  await filming?.close();
  relay.kill();
  rmSync(work, { recursive: true, force: true });
}
