// A browser and the `sotto` command chat through a real relay, and a profile
// moves between them: the command's profile connects to a browser profile by
// invitation and both exchange messages; then the command exports its profile,
// a second browser imports the archive and keeps chatting; that browser
// exports it again and the command imports it and keeps chatting too.
//
// Run by `cargo xtask test` after the production build (see harness.mjs), with
//   SOTTO_CLI   the sotto binary

import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import {
  artifactsDir,
  createProfile,
  invitationLink,
  launchBrowser,
  openChat,
  openPage,
  required,
  row,
  send,
  startRelay,
  timeout,
} from "./harness.mjs";

const run = promisify(execFile);
const cli = required("SOTTO_CLI");
const shots = artifactsDir("browser-cli");
const step = (what) => console.log(`browser and CLI: ${what}: ok`);
const passphrase = "passphrase of Carl";

/** Runs `sotto --json …` on `profile`; resolves with the parsed output. */
async function sotto(profile, ...args) {
  const { stdout } = await run(cli, ["--profile", profile, "--json", "--timeout", "10", ...args], {
    env: { ...process.env, SOTTO_PASSPHRASE: passphrase },
  });
  return JSON.parse(stdout);
}

/** Runs `sotto receive` until `done(output)` (which may be async) holds. */
async function receiveUntil(profile, what, done) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const received = await sotto(profile, "receive");
    if (await done(received)) return received;
    if (Date.now() > deadline) throw new Error(`the command never received ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

const texts = (received) => received.messages.map((message) => message.text);

const work = mkdtempSync(join(tmpdir(), "sotto-e2e-cli-"));
const { relay, address, web } = await startRelay(join(work, "relay"));
const browser = await launchBrowser();
try {
  // The command's profile and a browser profile connect by invitation.
  const carl = join(work, "carl");
  await sotto(carl, "init", "--name", "Carl", "--relay", address);
  const wendy = await openPage(browser, web);
  await createProfile(wendy, "Wendy");
  const link = await invitationLink(wendy);
  await sotto(carl, "connect", link);
  await wendy.getByRole("complementary", { name: "Chats" }).getByText("Carl", { exact: true }).waitFor({ timeout });
  await receiveUntil(carl, "the confirmation", async () => {
    const { contacts } = await sotto(carl, "contacts");
    return contacts.some((contact) => contact.name === "Wendy" && contact.state === "connected");
  });
  step("the command connects to the browser's invitation");

  // Messages both ways.
  await sotto(carl, "send", "Wendy", "hello from the command line");
  const wendyChat = await openChat(wendy, "Carl");
  await row(wendyChat, "hello from the command line").waitFor({ timeout });
  await send(wendyChat, "Carl", "hello from the browser");
  await receiveUntil(carl, "the browser's message", (received) => texts(received).includes("hello from the browser"));
  step("messages both ways");

  // The command exports; a second browser imports and keeps chatting.
  const archive = join(work, "carl.sotto");
  await sotto(carl, "export", archive);
  const moved = await openPage(browser, web);
  await moved.getByRole("tab", { name: "Import an archive" }).click();
  await moved.locator('input[type="file"]').setInputFiles(archive);
  await moved.getByLabel("The archive's passphrase").fill("not the passphrase");
  await moved.getByRole("button", { name: "Import", exact: true }).click();
  await moved.getByText("wrong passphrase", { exact: false }).waitFor({ timeout });
  await moved.getByLabel("The archive's passphrase").fill(passphrase);
  await moved.getByRole("button", { name: "Import", exact: true }).click();
  const movedChat = await openChat(moved, "Wendy");
  await movedChat.getByText("hello from the browser").waitFor({ timeout });
  await send(movedChat, "Wendy", "Carl, now in a browser");
  await row(wendyChat, "Carl, now in a browser").waitFor({ timeout });
  await send(wendyChat, "Carl", "welcome to the browser");
  await row(movedChat, "welcome to the browser").waitFor({ timeout });
  await moved.screenshot({ path: join(shots, "imported-from-cli.png") });
  step("an archive from the command imports in a browser, which keeps chatting");

  // The browser exports it again; the command imports it and keeps chatting.
  await moved.getByRole("button", { name: "Settings", exact: true }).click();
  await moved.getByLabel("Passphrase for the archive").fill(passphrase);
  // Export says that it moves the profile, and asks first.
  await moved.getByRole("button", { name: "Export archive" }).click();
  await moved.getByRole("dialog", { name: "Export and move this profile?" }).waitFor({ timeout });
  await moved.screenshot({ path: join(shots, "export-confirm.png") });
  const [download] = await Promise.all([
    moved.waitForEvent("download"),
    moved.getByRole("button", { name: "Export and move" }).click(),
  ]);
  const fromBrowser = join(work, "from-browser.sotto");
  await download.saveAs(fromBrowser);
  await moved.getByRole("heading", { name: "This profile was exported" }).waitFor({ timeout });
  await moved.screenshot({ path: join(shots, "moved.png") });
  if (readFileSync(fromBrowser).length === 0) throw new Error("the browser's archive is empty");
  const carlAgain = join(work, "carl-again");
  await sotto(carlAgain, "import", fromBrowser);
  await send(wendyChat, "Carl", "back to the command line");
  await receiveUntil(carlAgain, "Wendy's message", (received) => texts(received).includes("back to the command line"));
  await sotto(carlAgain, "send", "Wendy", "the command line again");
  await row(wendyChat, "the command line again").waitFor({ timeout });
  step("an archive from the browser imports in the command, which keeps chatting");
  console.log("browser and CLI: ok");
} finally {
  await browser.close();
  relay.kill();
  rmSync(work, { recursive: true, force: true });
}
