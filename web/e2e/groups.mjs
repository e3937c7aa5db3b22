// A group between two browsers and the `sotto` command through a real relay:
// Ann creates it in her browser with "New group", picking Bea (another
// browser, who lets nobody add her: she joins from the invitation) and Carl
// (the command) among her contacts; both join. Then
// messages each way with each member's name, a reply and a reaction, an edit
// and a delete for everyone, a mention of Bea (marked for her), an image
// pasted by Ann (seen and downloaded by Bea, and by Carl's command byte for
// byte), "read by" with each member's receipt, a message read after Bea's
// page was reloaded and unlocked, another after the relay was restarted, a
// member's security code, and Carl's removal by Ann, after which Carl is out
// and the browsers see two members. Screenshots of the main screens go to the
// printed directory.
//
// Run by `cargo xtask test` after the production build (see harness.mjs), with
//   SOTTO_CLI   the sotto binary

import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import {
  artifactsDir,
  connectWith,
  createProfile,
  invitationLink,
  launchBrowser,
  messageAction,
  openChat,
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
const shots = artifactsDir("groups");
const shot = (page, name) => page.screenshot({ path: join(shots, `${name}.png`) });
const step = (what) => console.log(`groups: ${what}: ok`);
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

const work = mkdtempSync(join(tmpdir(), "sotto-e2e-groups-"));
let { relay, address, web } = await startRelay(join(work, "relay"));
const browser = await launchBrowser();
try {
  const ann = await openPage(browser, web);
  const bea = await openPage(browser, web);
  // Delete for everyone asks first.
  for (const page of [ann, bea]) page.on("dialog", (dialog) => dialog.accept());
  await createProfile(ann, "Ann");
  await createProfile(bea, "Bea");
  await connectWith(bea, await invitationLink(ann));
  await bea.keyboard.press("Escape");
  const carl = join(work, "carl");
  await sotto(carl, "init", "--name", "Carl", "--relay", address);
  await sotto(carl, "connect", await invitationLink(ann));
  const annChats = ann.getByRole("complementary", { name: "Chats" });
  await annChats.getByText("Bea", { exact: true }).waitFor({ timeout });
  await annChats.getByText("Carl", { exact: true }).waitFor({ timeout });
  await receiveUntil(carl, "the confirmation", async () => {
    const { contacts } = await sotto(carl, "contacts");
    return contacts.some((contact) => contact.name === "Ann" && contact.state === "connected");
  });
  step("Ann's contacts: Bea in a browser, Carl on the command line");

  // Bea lets nobody add her to groups: Ann's invitation will wait for her.
  await bea.getByRole("button", { name: "Settings", exact: true }).click();
  await bea.getByLabel("Who can add me to groups").selectOption("nobody");
  await bea.keyboard.press("Escape");

  // Ann makes the group in her browser and adds both.
  await ann.getByRole("button", { name: "New group" }).click();
  const dialog = ann.getByRole("dialog", { name: "New group" });
  await dialog.getByLabel("Group name").fill("Climbing");
  await dialog.getByRole("checkbox", { name: "Bea" }).check();
  await dialog.getByRole("checkbox", { name: "Carl" }).check();
  await shot(ann, "new-group");
  await dialog.getByRole("button", { name: "Create group" }).click();
  const annGroup = ann.getByRole("main", { name: "Chat with Climbing" });
  await annGroup.waitFor({ timeout });
  // Carl's device answers the invitation, then reads the welcome once Ann's
  // browser committed the add.
  await receiveUntil(carl, "the welcome", (received) =>
    received.events.some((event) => event.type === "group_joined" && event.name === "Climbing"),
  );
  const held = bea.getByRole("region", { name: "Group invitations" });
  await held.getByText("invites you to").waitFor({ timeout });
  await shot(bea, "invitation");
  await held.getByRole("button", { name: "Join" }).click();
  await bea.getByRole("complementary", { name: "Chats" }).getByText("Climbing", { exact: true }).waitFor({ timeout });
  await annGroup.getByText(/^(Bea, Carl|Carl, Bea), You$/).waitFor({ timeout });
  step("a group made in a browser, joined by another browser (from a held invitation) and the command");

  // Messages each way, with the sender's name in the group.
  await send(annGroup, "Climbing", "hello climbers");
  const beaGroup = await openChat(bea, "Climbing");
  await row(beaGroup, "hello climbers").locator(".sender").getByText("Ann").waitFor({ timeout });
  await receiveUntil(carl, "Ann's message", async () => {
    const { messages } = await sotto(carl, "history", "Climbing");
    return messages.some((message) => message.text === "hello climbers" && message.sender?.name === "Ann");
  });
  await sotto(carl, "send", "Climbing", "hi from the command line");
  await row(annGroup, "hi from the command line").locator(".sender").getByText("Carl").waitFor({ timeout });
  await row(beaGroup, "hi from the command line").waitFor({ timeout });
  step("messages each way with each member's name");

  // A reply and a reaction, from Bea's browser.
  await messageAction(bea, beaGroup, "hi from the command line", "Reply");
  await send(beaGroup, "Climbing", "a reply from Bea");
  const reply = row(annGroup, "a reply from Bea");
  await reply.waitFor({ timeout });
  await reply.locator(".quote").getByText("hi from the command line").waitFor({ timeout });
  await reply.locator(".quote-author").getByText("Carl").waitFor({ timeout });
  await messageAction(bea, beaGroup, "hello climbers", "React with 👍");
  await row(annGroup, "hello climbers").getByRole("button", { name: "👍 1" }).waitFor({ timeout });
  await receiveUntil(carl, "Bea's reply", async () => {
    const { messages } = await sotto(carl, "history", "Climbing");
    return messages.some((message) => message.text === "a reply from Bea");
  });
  step("a reply and a reaction");

  // An edit and a delete for everyone, from Ann's browser.
  await send(annGroup, "Climbing", "meet at nine");
  await row(beaGroup, "meet at nine").waitFor({ timeout });
  await messageAction(ann, annGroup, "meet at nine", "Edit");
  await ann.waitForFunction(
    (label) => document.querySelector(`[aria-label="${label}"]`)?.value === "meet at nine",
    "Message to Climbing",
    { timeout },
  );
  await annGroup.getByLabel("Message to Climbing").fill("meet at ten");
  await annGroup.getByLabel("Message to Climbing").press("Enter");
  await row(beaGroup, "meet at ten").getByText("edited").waitFor({ timeout });
  await messageAction(ann, annGroup, "meet at ten", "Delete for everyone");
  await beaGroup.getByText("This message was deleted.").waitFor({ timeout });
  step("an edit and a delete for everyone");

  // A mention: "@Be" offers Bea, and her copy is marked.
  const compose = annGroup.getByLabel("Message to Climbing");
  await compose.fill("");
  await compose.pressSequentially("@Be");
  await ann.getByRole("listbox", { name: "Members to mention" }).getByText("Bea").waitFor({ timeout });
  await shot(ann, "mention");
  await compose.press("Tab");
  await compose.pressSequentially("bring the rope");
  await compose.press("Enter");
  await row(beaGroup, "@Bea bring the rope").waitFor({ timeout });
  const mentioned = beaGroup.locator(".message.mentions-me").filter({ hasText: "@Bea bring the rope" });
  await mentioned.waitFor({ timeout });
  step("a mention, marked for the member mentioned");

  // An image pasted into the group from Ann's browser: uploaded once, shown
  // with its preview and Ann's name in Bea's browser, downloaded there; the
  // command downloads the same chunks, byte for byte.
  const image = await ann.evaluate(async () => {
    const canvas = document.createElement("canvas");
    canvas.width = 320;
    canvas.height = 200;
    const context = canvas.getContext("2d");
    context.fillStyle = "#7a3b69";
    context.fillRect(0, 0, 320, 200);
    context.fillStyle = "#ffffff";
    context.font = "32px sans-serif";
    context.fillText("the crag", 60, 110);
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
    const transfer = new DataTransfer();
    transfer.items.add(new File([blob], "crag.png", { type: "image/png" }));
    const box = document.querySelector(".composer textarea");
    box.dispatchEvent(new ClipboardEvent("paste", { bubbles: true, cancelable: true, clipboardData: transfer }));
    return [...new Uint8Array(await blob.arrayBuffer())];
  });
  const beaCard = beaGroup.getByLabel("File crag.png", { exact: true });
  await beaCard.locator("img.file-preview").waitFor({ timeout });
  await row(beaGroup, "crag.png").locator(".sender").getByText("Ann").waitFor({ timeout });
  await beaCard.getByRole("button", { name: "Download crag.png" }).click();
  await beaGroup.locator(".file-image img").waitFor({ timeout });
  await shot(bea, "image");
  const fromCarl = join(work, "carl-files");
  mkdirSync(fromCarl);
  let offered;
  await receiveUntil(carl, "Ann's image", async () => {
    const { messages } = await sotto(carl, "history", "Climbing");
    offered = messages.find((message) => message.file?.name === "crag.png" && message.sender?.name === "Ann");
    return offered !== undefined;
  });
  const saved = await sotto(carl, "download", "Climbing", String(offered.number), "--dir", fromCarl);
  if (saved.files[0]?.state !== "saved")
    throw new Error(`the command did not save the image: ${JSON.stringify(saved)}`);
  if (!readFileSync(join(fromCarl, "crag.png")).equals(Buffer.from(image)))
    throw new Error("the image the command saved differs from the one pasted");
  step("an image pasted in the group, seen and downloaded by the other browser and the command");

  // Read by: Bea has the chat open; Carl reads his with --mark-read.
  await sotto(carl, "history", "Climbing", "--mark-read");
  const receipts = row(annGroup, "hello climbers").locator(".group-receipts button");
  await receipts.getByText("Read by 2 of 2").waitFor({ timeout });
  await receipts.click();
  const byMember = row(annGroup, "hello climbers").getByRole("list", { name: "Receipts by member" });
  await byMember.getByText("Bea").waitFor({ timeout });
  await byMember.getByText("Carl").waitFor({ timeout });
  await shot(ann, "read-by");
  step("read by 2 of 2, with each member's receipt");

  // What came while Bea's page was closed is read from her cursor on unlock.
  await bea.reload();
  await sotto(carl, "send", "Climbing", "sent while Bea was away");
  await unlock(bea, "passphrase of Bea");
  const beaAgain = await openChat(bea, "Climbing");
  await row(beaAgain, "sent while Bea was away").locator(".sender").getByText("Carl").waitFor({ timeout });
  step("a page reloaded reads what came meanwhile once unlocked");

  // The relay stops abruptly and comes back (same port, same data): the
  // browsers subscribe to the log again and read what came since.
  relay.kill("SIGKILL");
  await ann.locator(".connection", { hasText: "Offline" }).waitFor({ timeout });
  ({ relay } = await startRelay(join(work, "relay"), { listen: `127.0.0.1:${new URL(web).port}` }));
  await sotto(carl, "send", "Climbing", "the relay is back");
  await row(beaAgain, "the relay is back").waitFor({ timeout: 60_000 });
  await row(annGroup, "the relay is back").waitFor({ timeout: 60_000 });
  step("after the relay came back, the logs are read again");

  // The group info panel: roles, a member's security code, and a removal.
  await annGroup.getByRole("button", { name: "Group info" }).click();
  const info = ann.getByRole("dialog", { name: "Group info" });
  const carlRow = info.locator(".member").filter({ hasText: "Carl" });
  await carlRow.getByText("Member", { exact: true }).waitFor({ timeout });
  await info.locator(".member").filter({ hasText: "Ann (you)" }).getByText("Owner").waitFor({ timeout });
  await carlRow.getByRole("button", { name: "Security code" }).click();
  await info.getByLabel("Security code with Carl").waitFor({ timeout });
  await shot(ann, "group-info");
  await carlRow.getByRole("button", { name: "Remove" }).click();
  await info.locator(".member").filter({ hasText: "Carl" }).waitFor({ state: "detached", timeout });
  await ann.keyboard.press("Escape");
  await receiveUntil(carl, "the removal", (received) =>
    received.groups.some((group) => group.change?.type === "removed" || group.change?.type === "log_closed"),
  );
  await beaAgain.getByText("Ann, You").waitFor({ timeout });
  await send(annGroup, "Climbing", "just the two of us now");
  await row(beaAgain, "just the two of us now").waitFor({ timeout });
  await shot(bea, "after-removal");
  step("a removal: the member is out, the others go on");

  // The owner deletes the group for everyone: the other browser reads the
  // deletion, or, when the owner's device deleted the log first, finds the
  // log gone; either way its group ends.
  await annGroup.getByRole("button", { name: "Group info" }).click();
  await ann.locator('[role="dialog"]').getByRole("button", { name: "Delete group…" }).click();
  await ann.keyboard.press("Escape");
  await annGroup.getByText("You deleted this group for everyone.").waitFor({ timeout });
  await beaAgain.getByText("This group no longer exists").waitFor({ timeout });
  await beaAgain
    .getByText(/An owner deleted this group for everyone\.|This group's relay no longer lets you read it/)
    .first()
    .waitFor({ timeout });
  await shot(bea, "deleted");
  step("the owner deletes the group: the other browser sees it end");
  console.log("groups: ok");
} finally {
  await browser.close();
  relay.kill();
  rmSync(work, { recursive: true, force: true });
}
