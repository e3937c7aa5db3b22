// Managing chats, searching, notifications and the connection status in
// real browsers through a real relay: Alice talks with two contacts who are
// both called "Bob" (told apart by their chat number); she pins, renames one
// on her device (the contact info panel), searches a word and lands on the
// message, deletes a message for herself, archives, mutes, clears, blocks
// (the blocked Bob's messages no longer arrive), unblocks and deletes a
// chat; notifications come while her window is not focused, never from a
// muted chat; with the relay stopped the status says "Offline" and the chat
// says its message waits, and once the relay is back the message goes out.
// Screenshots at desktop and phone size (390×844) go to the printed
// directory.
//
// Run by `cargo xtask test` after the production build (see harness.mjs).

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  artifactsDir,
  connectWith,
  createProfile,
  invitationLink,
  launchBrowser,
  messageAction,
  openPage,
  row,
  send,
  startRelay,
  timeout,
} from "./harness.mjs";

const shots = artifactsDir("manage-chats");
const step = (what) => console.log(`manage chats: ${what}: ok`);
const DESKTOP = { width: 1100, height: 760 };
const PHONE = { width: 390, height: 844 };
/** A screenshot at desktop size, then at phone size, of the same screen. */
async function shotBoth(page, name) {
  await page.screenshot({ path: join(shots, `${name}-desktop.png`) });
  await page.setViewportSize(PHONE);
  await page.waitForTimeout(150);
  await page.screenshot({ path: join(shots, `${name}-phone.png`) });
  await page.setViewportSize(DESKTOP);
  await page.waitForTimeout(150);
}

const dataDir = mkdtempSync(join(tmpdir(), "sotto-e2e-manage-"));
let { relay, web } = await startRelay(dataDir);
const browser = await launchBrowser();
try {
  const alice = await openPage(browser, web);
  const bob = await openPage(browser, web);
  const otherBob = await openPage(browser, web);
  await alice.context().grantPermissions(["notifications"]);
  await createProfile(alice, "Alice");
  await createProfile(bob, "Bob");
  await createProfile(otherBob, "Bob");
  await connectWith(bob, await invitationLink(alice));
  await bob.getByRole("main", { name: "Chat with Alice" }).waitFor({ timeout });
  await connectWith(otherBob, await invitationLink(alice));
  await otherBob.getByRole("main", { name: "Chat with Alice" }).waitFor({ timeout });
  const bobChat = bob.getByRole("main", { name: "Chat with Alice" });
  const otherBobChat = otherBob.getByRole("main", { name: "Chat with Alice" });
  await send(bobChat, "Alice", "shall we meet at the Café Müller tomorrow?");
  await send(otherBobChat, "Alice", "this is the other Bob");

  // Two chats named Bob: each gets its chat number wherever the name shows.
  const list = alice.getByRole("complementary", { name: "Chats" });
  const names = list.locator(".chat-row .chat-name");
  await list
    .getByText(/^Bob #\d+$/)
    .nth(1)
    .waitFor({ timeout });
  const shown = await names.allTextContents();
  if (new Set(shown).size !== 2 || !shown.every((name) => /^Bob #\d+$/.test(name)))
    throw new Error(`duplicate names not told apart: ${shown}`);
  await list.getByText("this is the other Bob").waitFor({ timeout });
  const otherName =
    (await list.locator("li", { hasText: "this is the other Bob" }).locator(".chat-name").textContent()) ?? "";
  const firstName = shown.find((name) => name !== otherName) ?? "";
  step("two contacts with the same name are told apart");

  // Pin the first Bob (listed first), then give him a name on this device.
  const rowOf = (name) => list.locator("li", { has: alice.locator(".chat-name", { hasText: name }) });
  await rowOf(firstName).hover();
  await rowOf(firstName)
    .getByRole("button", { name: `Menu of the chat with ${firstName}` })
    .click();
  await alice.getByRole("menuitem", { name: "Pin" }).click();
  await rowOf(firstName).getByRole("img", { name: "Pinned" }).waitFor({ timeout });
  if ((await names.first().textContent()) !== firstName) throw new Error("the pinned chat is not first");
  await list.getByText(firstName).click();
  const chat = alice.getByRole("main", { name: `Chat with ${firstName}` });
  await chat.getByRole("button", { name: "Contact info" }).click();
  const info = alice.getByRole("dialog", { name: "Contact info" });
  await info.getByLabel("Name on this device").fill("Bob from work");
  await info.getByRole("button", { name: "Save name" }).click();
  await info.getByText("Their name: Bob").waitFor({ timeout });
  await shotBoth(alice, "contact-info");
  await alice.keyboard.press("Escape");
  await list.getByText("Bob from work").waitFor({ timeout });
  // The other Bob is no longer a duplicate.
  await list.getByText("Bob", { exact: true }).waitFor({ timeout });
  step("pin, contact info, a name on this device");

  // Search: words typed in another case find the message, marked;
  // opening the result opens the chat at the message.
  await alice.keyboard.press("Escape");
  await alice.keyboard.press("Control+k");
  await alice.keyboard.type("café MÜLLER");
  const hit = alice.locator(".search-hit").first();
  await hit.waitFor({ timeout });
  if ((await hit.locator("mark").textContent()) !== "Café Müller") throw new Error("the match is not marked");
  await shotBoth(alice, "search");
  await hit.click();
  const bobFromWork = alice.getByRole("main", { name: "Chat with Bob from work" });
  await bobFromWork.locator(".message.marked", { hasText: "Café Müller" }).waitFor({ timeout });
  await shotBoth(alice, "search-opened");
  await alice.getByLabel("Search chats").fill("");
  step("search finds a message and opens the chat at it");

  // Delete a received message for me (asked first).
  await messageAction(alice, bobFromWork, "Café Müller", "Delete for me");
  await alice.getByRole("dialog").getByRole("button", { name: "Delete for me" }).click();
  await bobFromWork.getByText("Café Müller").waitFor({ state: "detached", timeout });
  step("delete a received message for me");

  // Mute for 8 hours from the header's menu: the row shows it.
  await bobFromWork.getByRole("button", { name: "Chat menu" }).click();
  await shotBoth(alice, "chat-menu");
  await alice.getByRole("menuitem", { name: "Mute for 8 hours" }).click();
  await rowOf("Bob from work").getByRole("img", { name: "Muted" }).waitFor({ timeout });
  step("mute for 8 hours");

  // Notifications: with Alice's window not focused (the tab still visible),
  // a message notifies; the muted chat never does.
  await alice.evaluate(() => {
    window.__notifications = [];
    window.Notification = class {
      static permission = "granted";
      constructor(title, options) {
        window.__notifications.push({ title, body: options?.body });
      }
      close() {}
    };
    document.hasFocus = () => false;
  });
  await send(bobChat, "Alice", "muted chatter");
  await send(otherBobChat, "Alice", "ping while away");
  await alice.waitForFunction(() => window.__notifications.length > 0, null, { timeout });
  await alice.waitForTimeout(1000);
  const notified = await alice.evaluate(() => window.__notifications);
  if (JSON.stringify(notified) !== JSON.stringify([{ title: "Bob", body: "ping while away" }]))
    throw new Error(`notifications: ${JSON.stringify(notified)}`);
  await alice.evaluate(() => {
    delete document.hasFocus;
  });
  step("notifications while the window is not focused, none from a muted chat");

  // Clear the history (asked first).
  await list.getByText("Bob from work").click();
  await bobFromWork.getByRole("button", { name: "Chat menu" }).click();
  await alice.getByRole("menuitem", { name: "Clear history…" }).click();
  await alice.getByRole("dialog").getByRole("button", { name: "Clear history" }).click();
  await bobFromWork.getByText("muted chatter").waitFor({ state: "detached", timeout });
  step("clear the history");

  // Archive the other Bob: out of the list, in "Archived".
  await rowOf("Bob").first().hover();
  await list
    .locator("li", { hasText: "ping while away" })
    .getByRole("button", { name: /^Menu of the chat with/ })
    .click();
  await alice.getByRole("menuitem", { name: "Archive" }).click();
  await list.getByRole("button", { name: "Archived (1)" }).click();
  await list.getByText("ping while away").waitFor({ timeout });
  await shotBoth(alice, "archived");
  await list.locator("li", { hasText: "ping while away" }).locator(".chat-row").click();
  const otherChat = alice.getByRole("main", { name: "Chat with Bob" });
  await otherChat.getByRole("button", { name: "Chat menu" }).click();
  await alice.getByRole("menuitem", { name: "Move out of the archive" }).click();
  await list.getByRole("button", { name: "Back to chats" }).click();
  step("archive and back");

  // Block the other Bob: asked first; his messages no longer arrive.
  await otherChat.getByRole("button", { name: "Chat menu" }).click();
  await alice.getByRole("menuitem", { name: "Block…" }).click();
  await alice.getByRole("dialog").getByRole("button", { name: "Block", exact: true }).click();
  await otherChat.getByText("You blocked Bob").waitFor({ timeout });
  await list.locator("li", { hasText: "ping while away" }).getByText("Blocked").waitFor({ timeout });
  await shotBoth(alice, "blocked");
  const compose = otherBobChat.getByLabel("Message to Alice");
  await compose.fill("are you there?");
  await compose.press("Enter");
  await alice.waitForTimeout(3000);
  if ((await otherChat.getByText("are you there?").count()) !== 0)
    throw new Error("a blocked contact's message arrived");
  await otherChat.getByRole("button", { name: "Unblock" }).click();
  await otherChat.getByText("You blocked Bob").waitFor({ state: "detached", timeout });
  step("block (nothing arrives), unblock");

  // Delete the chat (asked first).
  await otherChat.getByRole("button", { name: "Chat menu" }).click();
  await alice.getByRole("menuitem", { name: "Delete chat…" }).click();
  await alice.getByRole("dialog").getByRole("button", { name: "Delete chat" }).click();
  await alice.getByRole("main", { name: "No chat open" }).waitFor({ timeout });
  await list.locator("li", { hasText: "ping while away" }).waitFor({ state: "detached", timeout });
  if ((await list.locator(".chat-row").count()) !== 1) throw new Error("the deleted chat is still listed");
  step("delete a chat");

  // The relay stops: "Offline", and the chat says its message waits; the
  // relay comes back (same port, same data): the message goes out.
  await list.getByText("Bob from work").click();
  const port = new URL(web).port;
  // Abruptly, as a network or a relay fails.
  relay.kill("SIGKILL");
  await alice.locator(".connection", { hasText: "Offline" }).waitFor({ timeout });
  await bobFromWork.getByText("You are offline.", { exact: false }).waitFor({ timeout });
  await bobFromWork.getByLabel("Message to Bob from work").fill("sent while offline");
  await bobFromWork.getByLabel("Message to Bob from work").press("Enter");
  await bobFromWork.getByText("1 message waits here", { exact: false }).waitFor({ timeout });
  await shotBoth(alice, "offline");
  ({ relay } = await startRelay(dataDir, { listen: `127.0.0.1:${port}` }));
  await bobChat.getByText("sent while offline").waitFor({ timeout: 60_000 });
  await bobFromWork.locator(".queue-bar").waitFor({ state: "detached", timeout });
  if ((await alice.locator(".connection").textContent()) !== "") throw new Error("the status did not clear");
  step("offline: said, queued, sent when the relay is back");
  console.log("manage chats: ok");
} catch (error) {
  for (const [index, context] of browser.contexts().entries()) {
    for (const page of context.pages()) await page.screenshot({ path: join(shots, `failure-${index}.png`) });
  }
  throw error;
} finally {
  await browser.close();
  relay.kill();
  rmSync(dataDir, { recursive: true, force: true });
}
