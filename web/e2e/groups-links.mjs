// Group links between a browser and the `sotto` command through a real relay:
// Carl (the command) makes his group's link with an admin's approval; Ann
// pastes it in her browser, names herself and picks a picture for the group
// and waits; Carl
// approves; Ann is in. Bea opens the link in a browser with no profile yet,
// asks once her profile exists, and is told that Carl declined. Ann and Carl
// chat. Then Ann makes a group in her browser
// with an automatic link, which Carl joins with the command (Ann's browser
// lets him in as it reads his request); Ann blocks Carl there, and what he
// sends while blocked never shows in her browser. Carl gives Hike a picture
// with the command: it becomes the group's avatar in Ann's browser. In Hike
// Ann changes her name and picture in the browser and Carl his picture with
// the command: each sees the other's. Ann's link
// asks an admin again and she locks her browser: Dan's request through the
// link is kept while locked (counted, naming no one), and after the unlock the
// group shows it waiting, and she approves it. Screenshots of the link, the
// join, the waiting, the picture and the locked request go to the printed
// directory.
//
// Run by `cargo xtask test` after the production build (see harness.mjs), with
//   SOTTO_CLI   the sotto binary

import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { PNG } from "pngjs";
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
  unlock,
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

/** Polls `check` (which may be async) until it holds. */
async function until(what, check) {
  const deadline = Date.now() + timeout;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`never: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** A small PNG image of one colour. */
function picture() {
  const image = new PNG({ width: 32, height: 32 });
  for (let index = 0; index < image.data.length; index += 4) image.data.set([200, 90, 30, 255], index);
  return PNG.sync.write(image);
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
  const facePath = join(work, "ann.png");
  writeFileSync(facePath, picture());
  await joinDialog.getByLabel("Your picture in this group (optional)").setInputFiles(facePath);
  await joinDialog.locator("img.avatar").waitFor({ timeout });
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
  const { members: hikeMembers } = await sotto(carl, "group", "members", "Hike");
  const annInHike = hikeMembers.find((member) => member.name === "Ann on the trail");
  if (!/^(UklGR|\/9j\/)/.test(annInHike?.picture ?? ""))
    throw new Error(`Ann joined without her picture: ${JSON.stringify(hikeMembers)}`);
  step("the command approves; the browser is in the group, with the picture it chose");

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

  // Carl gives Hike a picture: in Ann's browser it is the group's avatar (an
  // object URL of the checked bytes), where Choir keeps its initials.
  const picturePath = join(work, "hike.png");
  writeFileSync(picturePath, picture());
  await sotto(carl, "group", "edit", "Hike", "--picture", picturePath);
  const chats = ann.getByRole("complementary", { name: "Chats" });
  const hikeAvatar = chats.locator(".chat-row", { hasText: "Hike" }).locator("img.avatar");
  await hikeAvatar.waitFor({ timeout });
  await until("the picture is drawn", () =>
    hikeAvatar.evaluate((image) => image.complete && image.naturalWidth === 32 && image.src.startsWith("blob:")),
  );
  if ((await chats.locator(".chat-row", { hasText: "Choir" }).locator("img").count()) !== 0)
    throw new Error("a group without a picture shows one");
  await chats.getByText("Hike", { exact: true }).click();
  await annHike.locator(".conversation-header img.avatar").waitFor({ timeout });
  await shot(ann, "group-picture");
  step("a group's picture, set by the command, is its avatar in the browser");

  // In Hike, Ann shows another name and a picture (made small in her page)
  // and Carl his picture, with the command: each sees the other's.
  await annHike.getByRole("button", { name: "Group info" }).click();
  const self = info.getByRole("region", { name: "Your name and picture in this group" });
  await self.getByRole("button", { name: "Change" }).click();
  await self.getByLabel("Name in this group").fill("Ann the guide");
  await self.getByLabel("Picture").setInputFiles(picturePath);
  await self.locator("img.avatar").waitFor({ timeout });
  await shot(ann, "member-profile-edit");
  await self.getByRole("button", { name: "Save" }).click();
  await self.getByText("Members see the change once the group has it.").waitFor({ timeout });
  await receiveUntil(carl, "Ann's name and picture in Hike", async () => {
    const { members } = await sotto(carl, "group", "members", "Hike");
    const shown = members.find((member) => member.name === "Ann the guide");
    // A WebP (or JPEG) thumbnail, not the PNG file.
    return shown !== undefined && /^(UklGR|\/9j\/)/.test(shown.picture ?? "");
  });
  await sotto(carl, "group", "me", "Hike", "--picture", picturePath);
  const carlAvatar = info.locator(".member").filter({ hasText: "Carl" }).locator("img.avatar");
  await carlAvatar.waitFor({ timeout });
  await until("Carl's picture is drawn", () =>
    carlAvatar.evaluate((image) => image.complete && image.naturalWidth === 32 && image.src.startsWith("blob:")),
  );
  await info.locator(".member").filter({ hasText: "Ann the guide (you)" }).locator("img.avatar").waitFor({ timeout });
  await shot(ann, "member-pictures");
  await ann.keyboard.press("Escape");
  step("members change their name and picture in a group, each sees the other's");

  // Choir's link asks an admin again; Ann locks her browser; Dan asks to join
  // with the command. The locked browser keeps the request and counts it.
  await chats.getByText("Choir", { exact: true }).click();
  await annChoir.getByRole("button", { name: "Group info" }).click();
  const byAdmin = info.getByRole("radio", { name: "An admin approves each request" });
  await byAdmin.check();
  await until("the approval is saved", () => byAdmin.isEnabled());
  await ann.keyboard.press("Escape");
  await ann.getByRole("button", { name: "Lock Sotto" }).click();
  await ann.getByRole("heading", { name: "Sotto is locked" }).waitFor({ timeout });
  const dan = join(work, "dan");
  await sotto(dan, "init", "--name", "Dan", "--relay", address);
  await sotto(dan, "group", "join", choirLink, "--name", "Dan the tenor");
  await until(
    "the lock screen counts the request",
    async () => (await ann.locator(".held-notice").textContent()) === "1 new delivery while locked. Unlock to see it.",
  );
  if (/Dan|Choir/.test(await ann.locator("body").innerText())) throw new Error("the lock screen names the request");
  await shot(ann, "join-request-while-locked");
  step("a request through a group link reaches the admin's locked browser");

  // Unlocked: the group shows the request waiting, and Ann approves it.
  await unlock(ann, "passphrase of Ann");
  await chats.locator(".chat-row", { hasText: "Choir" }).getByText("1 to join").waitFor({ timeout });
  await chats.getByText("Choir", { exact: true }).click();
  const withRequest = annChoir.getByRole("button", { name: "Group info, 1 requests to join" });
  await withRequest.waitFor({ timeout });
  await shot(ann, "join-request-after-unlock");
  await withRequest.click();
  await info.getByRole("button", { name: "Approve Dan the tenor" }).click();
  await receiveUntil(dan, "the welcome into Choir", (received) =>
    received.events.some((event) => event.type === "group_joined" && event.name === "Choir"),
  );
  await ann.keyboard.press("Escape");
  await annChoir.getByText(/Dan the tenor/).waitFor({ timeout });
  step("after the unlock the request waits with a badge and is approved");
  console.log("groups-links: ok");
} catch (error) {
  await ann?.screenshot({ path: join(shots, "failure.png") });
  throw error;
} finally {
  await browser.close();
  relay.kill();
  rmSync(work, { recursive: true, force: true });
}
