// Group links between a browser and the `sotto` command through a real relay:
// Carl (the command) makes his group's link with an admin's approval; Ann
// pastes it in her browser, names herself for the group and waits; Carl
// approves; Ann is in. Bea opens the link in a browser with no profile yet,
// asks once her profile exists, and is told that Carl declined. Ann and Carl
// chat. Then Ann makes a group in her browser
// with an automatic link, which Carl joins with the command (Ann's browser
// lets him in as it reads his request); Ann blocks Carl there, and what he
// sends while blocked never shows in her browser. Screenshots of the link,
// the join and the waiting go to the printed directory.
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
  launchBrowser,
  openPage,
  required,
  row,
  send,
  startRelay,
  timeout,
} from "./harness.mjs";

const run = promisify(execFile);
const cli = required("SOTTO_CLI");
const shots = artifactsDir("groups-links");
const shot = (page, name) => page.screenshot({ path: join(shots, `${name}.png`) });
const step = (what) => console.log(`groups-links: ${what}: ok`);
const passphrase = "passphrase of Carl";

/** Runs `sotto --json …` on `profile`; resolves with the parsed output. */
async function sotto(profile, ...args) {
  const { stdout } = await run(cli, ["--profile", profile, "--json", "--timeout", "10", ...args], {
    env: { ...process.env, SOTTO_PASSPHRASE: passphrase },
  });
  return JSON.parse(stdout);
}

/** Runs `sotto receive` until `done()` (which may be async) holds. */
async function receiveUntil(profile, what, done) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const received = await sotto(profile, "receive");
    if (await done(received)) return received;
    if (Date.now() > deadline) throw new Error(`the command never received ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

/** Whether Carl's history of `group` holds `text`. */
async function carlHas(carl, group, text) {
  const { messages } = await sotto(carl, "history", group);
  return messages.some((message) => message.text === text);
}

const work = mkdtempSync(join(tmpdir(), "sotto-e2e-groups-links-"));
const { relay, address, web } = await startRelay(join(work, "relay"));
const browser = await launchBrowser();
/** Ann's page, screenshot when a step fails. */
let ann = null;
try {
  ann = await openPage(browser, web);
  ann.on("dialog", (dialog) => dialog.accept());
  await createProfile(ann, "Ann");
  const carl = join(work, "carl");
  await sotto(carl, "init", "--name", "Carl", "--relay", address);

  // Carl's group and its link, approved by an admin.
  await sotto(carl, "group", "create", "Hike");
  const { link: hikeLink, approval } = await sotto(carl, "group", "link", "Hike", "--approval", "admin");
  if (approval !== "admin" || !new URL(hikeLink).pathname.startsWith("/group"))
    throw new Error(`a bad link: ${hikeLink}`);

  // Ann pastes it: a dialog names the group and asks for her name in it.
  await ann.getByRole("button", { name: "New chat: invite someone" }).click();
  await ann.getByLabel("Invitation, contact address or group link").fill(hikeLink);
  await ann.getByRole("button", { name: "Connect", exact: true }).click();
  const joinDialog = ann.getByRole("dialog", { name: "Join a group" });
  await joinDialog.getByText("Hike", { exact: true }).waitFor({ timeout });
  await joinDialog.getByLabel("Your name in this group").fill("Ann on the trail");
  await shot(ann, "join-dialog");
  await joinDialog.getByRole("button", { name: "Ask to join" }).click();
  await joinDialog.getByText("Waiting for an admin's approval").waitFor({ timeout });
  await shot(ann, "waiting-for-approval");
  step("a group link pasted in a browser asks to join under a name of its own");

  // Carl sees the request under that name and approves it.
  const requested = await receiveUntil(carl, "Ann's request", (received) =>
    received.events.some((event) => event.type === "group_join_requested"),
  );
  const request = requested.events.find((event) => event.type === "group_join_requested").request;
  if (request.name !== "Ann on the trail") throw new Error(`the request shows ${request.name}`);
  await sotto(carl, "group", "approve", "Hike", String(request.id));
  const annHike = ann.getByRole("main", { name: "Chat with Hike" });
  await annHike.waitFor({ timeout });
  await annHike.getByText(/Carl, You|You, Carl/).waitFor({ timeout });
  step("the command approves; the browser is in the group");

  // Bea opens the link in a browser with no profile yet: once her profile
  // exists she is asked to join; Carl declines, and she is told.
  const bea = await openPage(browser, hikeLink);
  await createProfile(bea, "Bea");
  const beaJoin = bea.getByRole("dialog", { name: "Join a group" });
  await beaJoin.getByText("Hike", { exact: true }).waitFor({ timeout });
  if (new URL(bea.url()).hash !== "") throw new Error("the link's fragment stayed in the address bar");
  await beaJoin.getByRole("button", { name: "Ask to join" }).click();
  const beaRequest = await receiveUntil(carl, "Bea's request", (received) =>
    received.events.some((event) => event.type === "group_join_requested" && event.request.name === "Bea"),
  );
  const beaId = beaRequest.events.find((event) => event.type === "group_join_requested").request.id;
  await sotto(carl, "group", "decline", "Hike", String(beaId));
  await beaJoin.getByText("The request was refused: declined.").waitFor({ timeout });
  await shot(bea, "refused");
  step("a group link opened in a browser asks once the profile exists; a decline is told");

  await send(annHike, "Hike", "hello from the trail");
  await receiveUntil(carl, "Ann's message", () => carlHas(carl, "Hike", "hello from the trail"));
  await sotto(carl, "send", "Hike", "welcome, Ann");
  await row(annHike, "welcome, Ann").locator(".sender").getByText("Carl").waitFor({ timeout });
  step("the member who joined by the link chats");

  // Ann's own group with an automatic link: Carl joins by it with the command.
  await ann.getByRole("button", { name: "New group" }).click();
  const newGroup = ann.getByRole("dialog", { name: "New group" });
  await newGroup.getByLabel("Group name").fill("Choir");
  await newGroup.getByRole("button", { name: "Create group" }).click();
  const annChoir = ann.getByRole("main", { name: "Chat with Choir" });
  await annChoir.waitFor({ timeout });
  await annChoir.getByRole("button", { name: "Group info" }).click();
  const info = ann.getByRole("dialog", { name: "Group info" });
  await info.getByRole("radio", { name: "Automatically" }).check();
  await info.getByRole("button", { name: "Create link" }).click();
  const linkInput = info.getByLabel("Group link", { exact: true });
  await linkInput.waitFor({ timeout });
  const choirLink = await linkInput.inputValue();
  await info.getByRole("img", { name: "Group link QR code" }).waitFor({ timeout });
  await shot(ann, "group-link");
  await ann.keyboard.press("Escape");
  step("a browser owner makes an automatic link, with its QR code");

  await sotto(carl, "group", "join", choirLink, "--name", "Carl the bass");
  await receiveUntil(carl, "the welcome into Choir", (received) =>
    received.events.some((event) => event.type === "group_joined" && event.name === "Choir"),
  );
  await annChoir.getByText(/Carl the bass, You/).waitFor({ timeout });
  await sotto(carl, "send", "Choir", "the bass is here");
  await row(annChoir, "the bass is here").waitFor({ timeout });
  step("the command joins by the browser's automatic link");

  // Ann blocks Carl in Choir: what he sends meanwhile never shows in her browser.
  await annChoir.getByRole("button", { name: "Group info" }).click();
  const carlRow = info.locator(".member").filter({ hasText: "Carl the bass" });
  await carlRow.getByRole("button", { name: "Block" }).click();
  await carlRow.getByText("Blocked").waitFor({ timeout });
  await shot(ann, "member-blocked");
  await ann.keyboard.press("Escape");
  await sotto(carl, "send", "Choir", "sent while blocked");
  // Ann's message goes to the log after a read from her cursor, which takes
  // Carl's entry first: once Carl has hers, her browser dropped his.
  await send(annChoir, "Choir", "anyone there?");
  await receiveUntil(carl, "Ann's question", () => carlHas(carl, "Choir", "anyone there?"));
  await annChoir.getByRole("button", { name: "Group info" }).click();
  await carlRow.getByRole("button", { name: "Unblock" }).click();
  await carlRow.getByText("Blocked").waitFor({ state: "detached", timeout });
  await ann.keyboard.press("Escape");
  await sotto(carl, "send", "Choir", "sent once unblocked");
  await row(annChoir, "sent once unblocked").waitFor({ timeout });
  if ((await annChoir.getByText("sent while blocked").count()) !== 0)
    throw new Error("a blocked member's message showed");
  step("a member blocked in the browser is hidden there");
  console.log("groups-links: ok");
} catch (error) {
  await ann?.screenshot({ path: join(shots, "failure.png") });
  throw error;
} finally {
  await browser.close();
  relay.kill();
  rmSync(work, { recursive: true, force: true });
}
