// A locked browser keeps receiving: the `sotto` command sends to a browser
// profile while it is locked; the lock screen and the tab title count what
// arrived and a notification names nothing; what is kept in IndexedDB is
// sealed (no message text in it) and the relay no longer holds it; the tab is
// closed while locked and opened again, and one more message arrives
// meanwhile; the unlock shows every message, in order, and empties the store.
//
// Run by `cargo xtask test` after the production build (see harness.mjs), with
//   SOTTO_CLI   the sotto binary

import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import {
  artifactsDir,
  createProfile,
  invitationLink,
  launchBrowser,
  openChat,
  required,
  row,
  startRelay,
  timeout,
  unlock,
} from "./harness.mjs";

const run = promisify(execFile);
const cli = required("SOTTO_CLI");
const shots = artifactsDir("locked-receiving");
const step = (what) => console.log(`locked receiving: ${what}: ok`);
const passphrase = "passphrase of Carl";

/** Runs `sotto --json …` on `profile`; resolves with the parsed output. */
async function sotto(profile, ...args) {
  const { stdout } = await run(cli, ["--profile", profile, "--json", "--timeout", "10", ...args], {
    env: { ...process.env, SOTTO_PASSPHRASE: passphrase },
  });
  return JSON.parse(stdout);
}

/** Polls `check` (which may be async) until it holds. */
async function until(what, check) {
  const deadline = Date.now() + timeout;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`never: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The records of the page's `held` store, as arrays of bytes. */
function heldRecords(page) {
  return page.evaluate(
    () =>
      new Promise((resolve, reject) => {
        const open = indexedDB.open("sotto");
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const database = open.result;
          const request = database.transaction("held").objectStore("held").getAll();
          request.onerror = () => reject(request.error);
          request.onsuccess = () => {
            resolve(request.result.map((value) => Array.from(value)));
            database.close();
          };
        };
      }),
  );
}

/** Whether `bytes` hold the UTF-8 text `text`. */
function containsText(bytes, text) {
  return Buffer.from(bytes).includes(Buffer.from(text, "utf8"));
}

/** Counts the notifications the page shows (permission granted, the tab out of sight). */
async function watchNotifications(page) {
  await page.addInitScript(() => {
    window.__notifications = [];
    class RecordedNotification {
      static permission = "granted";
      static requestPermission = async () => "granted";
      constructor(title, options) {
        window.__notifications.push({ title, body: options?.body ?? "" });
      }
      close() {}
    }
    window.Notification = RecordedNotification;
    Object.defineProperty(document, "visibilityState", { get: () => "hidden" });
    document.hasFocus = () => false;
  });
}

const work = mkdtempSync(join(tmpdir(), "sotto-e2e-locked-"));
const { relay, address, web } = await startRelay(join(work, "relay"));
const browser = await launchBrowser();
try {
  // A browser profile and the command's, connected.
  const context = await browser.newContext({ viewport: { width: 1100, height: 760 } });
  const fail = (error) => {
    console.error(`page error: ${error.message}`);
    process.exitCode = 1;
  };
  let wendy = await context.newPage();
  wendy.on("pageerror", fail);
  await watchNotifications(wendy);
  await wendy.goto(web);
  await createProfile(wendy, "Wendy");
  const carl = join(work, "carl");
  await sotto(carl, "init", "--name", "Carl", "--relay", address);
  await sotto(carl, "connect", await invitationLink(wendy));
  await wendy.getByRole("complementary", { name: "Chats" }).getByText("Carl", { exact: true }).waitFor({ timeout });
  await until("Carl is connected", async () => {
    await sotto(carl, "receive");
    const { contacts } = await sotto(carl, "contacts");
    return contacts.some((contact) => contact.name === "Wendy" && contact.state === "connected");
  });
  await sotto(carl, "send", "Wendy", "before the lock");
  await row(await openChat(wendy, "Carl"), "before the lock").waitFor({ timeout });
  step("connected");

  // Locked, it receives: counted, announced without a name or text.
  await wendy.getByRole("button", { name: "Lock Sotto" }).click();
  await wendy.getByRole("heading", { name: "Sotto is locked" }).waitFor({ timeout });
  await wendy.evaluate(() => (window.__notifications = []));
  await sotto(carl, "send", "Wendy", "the first secret while locked");
  await sotto(carl, "send", "Wendy", "the second secret while locked");
  const notice = wendy.locator(".held-notice");
  await until(
    "the lock screen counts two",
    async () => (await notice.textContent()) === "2 new deliveries while locked. Unlock to see them.",
  );
  if ((await wendy.title()) !== "(2) Sotto") throw new Error(`the tab title is ${await wendy.title()}`);
  const shown = await wendy.evaluate(() => window.__notifications);
  if (shown.length === 0 || shown.some((n) => n.title !== "New activity in Sotto" || /Carl|secret/.test(n.body)))
    throw new Error(`notifications: ${JSON.stringify(shown)}`);
  await wendy.screenshot({ path: join(shots, "locked-with-activity.png") });
  await wendy.setViewportSize({ width: 390, height: 800 });
  await wendy.screenshot({ path: join(shots, "locked-with-activity-phone.png") });
  await wendy.setViewportSize({ width: 1100, height: 760 });
  step("the lock screen, the tab title and a notification count what arrived, naming nothing");

  // Kept sealed: neither the text nor the sender's name is in what IndexedDB holds.
  const held = await heldRecords(wendy);
  if (held.length !== 2) throw new Error(`${held.length} records kept`);
  if (held.some((bytes) => containsText(bytes, "secret") || containsText(bytes, "Carl")))
    throw new Error("a kept record shows its text");
  step("what arrived is kept sealed in IndexedDB");

  // The tab closes while locked; a message arrives meanwhile; the tab opens again.
  await wendy.close();
  await sotto(carl, "send", "Wendy", "the third, while the tab was closed");
  wendy = await context.newPage();
  wendy.on("pageerror", fail);
  await wendy.goto(web);
  await wendy.getByRole("heading", { name: "Sotto is locked" }).waitFor({ timeout });
  await until(
    "the lock screen counts what was kept before",
    async () =>
      (await wendy.locator(".held-notice").textContent()) === "2 new deliveries while locked. Unlock to see them.",
  );
  step("a tab closed while locked keeps what arrived");

  // Records that do not open (damaged, or hostile) are dropped on unlock, and
  // more than one batch of them is read.
  await wendy.evaluate(
    () =>
      new Promise((resolve, reject) => {
        const open = indexedDB.open("sotto");
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const transaction = open.result.transaction("held", "readwrite");
          const store = transaction.objectStore("held");
          for (let index = 0; index < 300; index += 1) {
            store.add(crypto.getRandomValues(new Uint8Array(1 + ((index * 97) % 4000))));
          }
          transaction.oncomplete = () => {
            open.result.close();
            resolve();
          };
          transaction.onerror = () => reject(transaction.error);
        };
      }),
  );

  // The unlock shows everything, in order, and empties the store.
  await unlock(wendy, "passphrase of Wendy");
  const chat = await openChat(wendy, "Carl");
  const texts = [
    "before the lock",
    "the first secret while locked",
    "the second secret while locked",
    "the third, while the tab was closed",
  ];
  for (const text of texts) await row(chat, text).waitFor({ timeout });
  const order = await chat.getByRole("listitem").allTextContents();
  const positions = texts.map((text) => order.findIndex((item) => item.includes(text)));
  if (positions.some((position, index) => index > 0 && position <= positions[index - 1]))
    throw new Error(`out of order: ${JSON.stringify(order)}`);
  await until("the kept records are deleted", async () => (await heldRecords(wendy)).length === 0);
  await wendy.screenshot({ path: join(shots, "unlocked-after-activity.png") });
  step("the unlock applies what was kept, in order, and deletes it");

  // Locked again (watched), the profile is replaced by an import: the watch
  // stops and what it could have kept goes with the old profile.
  await wendy.getByRole("button", { name: "Lock Sotto" }).click();
  await wendy.getByRole("heading", { name: "Sotto is locked" }).waitFor({ timeout });
  const archive = join(work, "carl.sotto");
  await sotto(carl, "export", archive);
  await wendy.getByRole("button", { name: "Import an archive instead" }).click();
  await wendy.locator('input[type="file"]').setInputFiles(archive);
  await wendy.getByLabel("The archive's passphrase").fill(passphrase);
  await wendy.getByRole("button", { name: "Import", exact: true }).click();
  const carlHere = await openChat(wendy, "Wendy");
  await row(carlHere, "the third, while the tab was closed").waitFor({ timeout });
  if ((await heldRecords(wendy)).length !== 0) throw new Error("the import kept the old profile's records");
  step("a watched locked profile is replaced by an import");
  console.log("locked receiving: ok");
} finally {
  await browser.close();
  relay.kill();
  rmSync(work, { recursive: true, force: true });
}
