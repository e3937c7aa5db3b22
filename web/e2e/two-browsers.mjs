// Two browser profiles talk through a real relay: each creates a profile in
// its own browser context, one invites, the other connects; then every message
// type (text, reply, reaction, edit, delete for everyone), delivery and read
// ticks (none when read receipts are off, unless the chat turns them on),
// typing, the contact address and its requests, a disappearing-message timer
// on both sides, the security code, settings and mute that survive a reload,
// lock and unlock, a second tab refused, a passphrase change, a storage
// failure that is reported and repaired, a reload that keeps everything, a
// profile change that reaches the contact, and notifications that follow the
// preview setting and mute. Screenshots of the main screens go to the printed
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
  openChat,
  openPage,
  row,
  send,
  startRelay,
  timeout,
  unlock,
} from "./harness.mjs";

const shots = artifactsDir("two-browsers");
const shot = (page, name) => page.screenshot({ path: join(shots, `${name}.png`) });
const step = (what) => console.log(`two browsers: ${what}: ok`);

const dataDir = mkdtempSync(join(tmpdir(), "sotto-e2e-"));
const { relay, web } = await startRelay(dataDir);
const browser = await launchBrowser();
try {
  // No ?relay=: the page finds its relay (and the fingerprint it checks) itself.
  const alice = await openPage(browser, web);
  const bob = await openPage(browser, web);
  for (const page of [alice, bob]) page.on("dialog", (dialog) => dialog.accept());
  await createProfile(alice, "Alice");
  await createProfile(bob, "Bob");

  const link = await invitationLink(alice, join(shots, "invite.png"));
  await connectWith(bob, link);
  // The link opened Bob's chat with Alice: he leaves it, so that Alice's first
  // message is seen delivered before it is read.
  await bob.getByRole("main", { name: "Chat with Alice" }).waitFor({ timeout });
  await bob.keyboard.press("Escape");
  await bob.getByRole("main", { name: "No chat open" }).waitFor({ timeout });
  await alice.getByText("Bob").first().waitFor({ timeout });
  await bob.getByText("Alice").first().waitFor({ timeout });
  step("invitation and connection");

  // Text, with delivery then read ticks.
  const aliceChat = await openChat(alice, "Bob");
  await send(aliceChat, "Bob", "hello from Alice");
  await row(aliceChat, "hello from Alice").getByRole("img", { name: "Delivered" }).waitFor({ timeout });
  await shot(bob, "chat-list");
  const bobChat = await openChat(bob, "Alice");
  await row(bobChat, "hello from Alice").waitFor({ timeout });
  await row(aliceChat, "hello from Alice").getByRole("img", { name: "Read" }).waitFor({ timeout });
  step("text, delivered and read ticks");

  // Reply.
  await messageAction(bob, bobChat, "hello from Alice", "Reply");
  await send(bobChat, "Alice", "a reply from Bob");
  const reply = row(aliceChat, "a reply from Bob");
  await reply.waitFor({ timeout });
  await reply.locator(".quote").getByText("hello from Alice").waitFor({ timeout });
  step("reply with its quote");

  // Reaction.
  await messageAction(alice, aliceChat, "a reply from Bob", "React with 👍");
  await row(bobChat, "a reply from Bob").getByRole("button", { name: "👍 1" }).waitFor({ timeout });
  step("reaction");

  // Edit.
  await send(aliceChat, "Bob", "a typo hree");
  await row(bobChat, "a typo hree").waitFor({ timeout });
  await messageAction(alice, aliceChat, "a typo hree", "Edit");
  const compose = aliceChat.getByLabel("Message to Bob");
  // The composer holds the text being edited before the user types over it.
  await alice.waitForFunction(
    (label) => document.querySelector(`[aria-label="${label}"]`)?.value === "a typo hree",
    "Message to Bob",
    { timeout },
  );
  await compose.fill("fixed: here");
  await compose.press("Enter");
  const edited = row(bobChat, "fixed: here");
  await edited.waitFor({ timeout });
  await edited.getByText("edited").waitFor({ timeout });
  step("edit");

  // Delete for everyone.
  await send(aliceChat, "Bob", "regrettable words");
  await row(bobChat, "regrettable words").waitFor({ timeout });
  await messageAction(alice, aliceChat, "regrettable words", "Delete for everyone");
  await bobChat.getByText("This message was deleted.").waitFor({ timeout });
  await aliceChat.getByText("You deleted this message.").waitFor({ timeout });
  step("delete for everyone");
  await shot(alice, "conversation");

  // Disappearing messages: 30 seconds, set by Alice, applied by both.
  await aliceChat.getByRole("button", { name: "Contact info" }).click();
  await alice.getByRole("radio", { name: "30 seconds" }).check();
  await alice.keyboard.press("Escape");
  await bobChat.getByText("Alice set messages to disappear after 30 seconds.").waitFor({ timeout });
  await send(bobChat, "Alice", "this will vanish");
  await row(aliceChat, "this will vanish").waitFor({ timeout });
  await Promise.all(
    [aliceChat, bobChat].map((chat) =>
      chat.getByText("this will vanish").waitFor({ state: "detached", timeout: 90_000 }),
    ),
  );
  await aliceChat.getByRole("button", { name: "Contact info" }).click();
  await alice.getByRole("radio", { name: "Off" }).check();
  await alice.keyboard.press("Escape");
  await bobChat.getByText("Alice turned off disappearing messages.").waitFor({ timeout });
  step("disappearing messages vanish on both sides");

  // Security code: the same digits on both sides; verification sticks.
  const codeOf = async (page, chat, contact) => {
    await chat.getByRole("button", { name: "Security code", exact: true }).click();
    const code = page.getByLabel(/^Security code: /);
    await code.waitFor({ timeout });
    const label = await code.getAttribute("aria-label");
    return { label, dialog: page.getByRole("dialog", { name: `Security code with ${contact}` }) };
  };
  const aliceCode = await codeOf(alice, aliceChat, "Bob");
  const bobCode = await codeOf(bob, bobChat, "Alice");
  if (aliceCode.label !== bobCode.label || !/^Security code: (\d{5} )+\d{5}$/.test(aliceCode.label)) {
    throw new Error(`security codes differ or are malformed: ${aliceCode.label} / ${bobCode.label}`);
  }
  await shot(alice, "security-code");
  await alice.getByRole("button", { name: "Mark as verified" }).click();
  await alice.getByText("Bob is verified.").waitFor({ timeout });
  await alice.keyboard.press("Escape");
  await bob.keyboard.press("Escape");
  step("security code matches and verification is kept");

  // Typing indicators, once both turn them on.
  for (const page of [alice, bob]) {
    await page.getByRole("button", { name: "Settings", exact: true }).click();
    await page.getByRole("checkbox", { name: "Send and show typing indicators" }).check();
    await page.keyboard.press("Escape");
  }
  await aliceChat.getByLabel("Message to Bob").pressSequentially("still typ", { delay: 20 });
  await bobChat.getByText("typing…").waitFor({ timeout });
  await aliceChat.getByLabel("Message to Bob").fill("");
  step("typing indicator");

  // Read receipts turned off: Bob reads, Alice's tick stays at delivered. Bob's
  // next message travels behind any receipt, so its arrival settles the question.
  await bob.getByRole("button", { name: "Settings", exact: true }).click();
  await bob.getByRole("checkbox", { name: "Send read receipts" }).uncheck();
  await bob.keyboard.press("Escape");
  await send(aliceChat, "Bob", "read quietly");
  await row(bobChat, "read quietly").waitFor({ timeout });
  await send(bobChat, "Alice", "got it");
  await row(aliceChat, "got it").waitFor({ timeout });
  await row(aliceChat, "read quietly").getByRole("img", { name: "Delivered" }).waitFor({ timeout });
  step("no read receipt when read receipts are off");

  // The chat's own setting overrides the global one.
  await bobChat.getByRole("button", { name: "Contact info" }).click();
  await bob.getByLabel("Read receipts in this chat").selectOption("on");
  await bob.keyboard.press("Escape");
  await send(aliceChat, "Bob", "read loudly");
  await row(bobChat, "read loudly").waitFor({ timeout });
  await row(aliceChat, "read loudly").getByRole("img", { name: "Read" }).waitFor({ timeout });
  step("a chat's read receipt setting overrides the global one");

  // The contact address: a request is rejected, the next one accepted.
  const carol = await openPage(browser, web);
  await createProfile(carol, "Carol");
  const requestsButton = bob.getByRole("button", { name: /^Contact address and requests/ });
  await requestsButton.click();
  await bob.getByRole("button", { name: "Create a contact address" }).click();
  const addressInput = bob.getByLabel("Contact address link");
  await addressInput.waitFor({ timeout });
  const address = await addressInput.inputValue();
  await bob.keyboard.press("Escape");
  await connectWith(carol, address);
  await bob.getByRole("button", { name: "Contact address and requests, 1 waiting" }).waitFor({ timeout });
  await requestsButton.click();
  await bob.getByRole("button", { name: "Reject Carol" }).click();
  await bob.getByText("No requests waiting.").waitFor({ timeout });
  await bob.keyboard.press("Escape");
  // Carol's chat from the first request is still there and never connected:
  // the link is of someone she has that chat with, so it connects again
  // (`joined_existing`) and the dialog closes on it.
  await carol.getByRole("button", { name: "New chat: invite someone" }).click();
  await carol.getByLabel("Invitation, contact address or group link").fill(address);
  await carol.getByRole("button", { name: "Connect", exact: true }).click();
  await carol.getByRole("dialog", { name: "New chat" }).waitFor({ state: "detached", timeout });
  await bob.getByRole("button", { name: "Contact address and requests, 1 waiting" }).waitFor({ timeout });
  await requestsButton.click();
  await bob.getByRole("button", { name: "Accept Carol" }).click();
  await bob.keyboard.press("Escape");
  const carolChat = await openChat(carol, "Bob");
  await send(carolChat, "Bob", "hi Bob, through your address");
  const bobWithCarol = await openChat(bob, "Carol");
  await row(bobWithCarol, "hi Bob, through your address").waitFor({ timeout });
  await requestsButton.click();
  await bob.getByLabel("Contact address link").waitFor({ timeout });
  await bob.getByRole("button", { name: "Delete address" }).click();
  await bob.getByRole("button", { name: "Create a contact address" }).waitFor({ timeout });
  await bob.keyboard.press("Escape");
  await openChat(bob, "Alice");
  step("contact address: a request rejected, the next accepted, the address deleted");

  // Settings and mute, stored sealed in the profile.
  await alice.getByRole("button", { name: "Settings", exact: true }).click();
  await alice.getByRole("radio", { name: "Name only" }).check();
  await alice.getByRole("dialog", { name: "Settings" }).waitFor({ timeout });
  await shot(alice, "settings");
  await alice.keyboard.press("Escape");
  await aliceChat.getByRole("button", { name: "Contact info" }).click();
  await alice.getByRole("dialog").getByLabel("Notifications").selectOption("always");
  await alice.keyboard.press("Escape");

  // Lock by the button, then unlock.
  await alice.getByRole("button", { name: "Lock Sotto" }).click();
  await alice.getByRole("heading", { name: "Sotto is locked" }).waitFor({ timeout });
  if ((await alice.getByText("hello from Alice").count()) !== 0) throw new Error("chat data visible while locked");
  await shot(alice, "lock-screen");
  await unlock(alice, "passphrase of Alice");
  await openChat(alice, "Bob");
  step("lock and unlock");

  // A second tab of the same browser may not run the profile at the same time.
  const secondTab = await alice.context().newPage();
  await secondTab.goto(web);
  await secondTab.locator('input[type="password"]').fill("passphrase of Alice");
  await secondTab.getByRole("button", { name: "Unlock" }).click();
  await secondTab.getByText("Sotto is open in another tab of this browser.", { exact: false }).waitFor({ timeout });
  await secondTab.close();
  step("a second tab is refused while the first has the profile unlocked");

  // Reload: everything is still there, settings and mute included.
  await alice.reload();
  await unlock(alice, "passphrase of Alice");
  const reloaded = await openChat(alice, "Bob");
  for (const text of ["hello from Alice", "a reply from Bob", "fixed: here", "You deleted this message."]) {
    await reloaded.getByText(text).first().waitFor({ timeout });
  }
  await row(reloaded, "a reply from Bob").getByRole("button", { name: /^👍 1/ }).waitFor({ timeout });
  if ((await reloaded.getByText("this will vanish").count()) !== 0) throw new Error("an expired message came back");
  await reloaded.getByRole("button", { name: "Contact info" }).click();
  if ((await alice.getByRole("dialog").getByLabel("Notifications").inputValue()) !== "always") {
    throw new Error("mute did not survive the reload");
  }
  await alice.keyboard.press("Escape");
  await alice.getByRole("button", { name: "Settings", exact: true }).click();
  if (!(await alice.getByRole("radio", { name: "Name only" }).isChecked())) {
    throw new Error("the notification preview did not survive the reload");
  }
  await alice.keyboard.press("Escape");
  step("reload keeps messages, reactions, edits, deletes, mute and the preview setting");

  // Passphrase change: the old one stops working, the new one opens everything.
  await bob.getByRole("button", { name: "Settings", exact: true }).click();
  await bob.getByRole("button", { name: "Change passphrase" }).click();
  // The new one typed twice.
  const newPassphrases = bob.locator('input[autocomplete="new-password"]');
  await bob.getByLabel("Current passphrase").fill("not it");
  await newPassphrases.nth(0).fill("a new passphrase for Bob");
  await newPassphrases.nth(1).fill("a new passphrase for Bob");
  await bob.getByRole("button", { name: "Change passphrase" }).click();
  await bob.getByText("wrong passphrase", { exact: false }).waitFor({ timeout });
  await bob.getByLabel("Current passphrase").fill("passphrase of Bob");
  await newPassphrases.nth(0).fill("a new passphrase for Bob");
  await newPassphrases.nth(1).fill("a new passphrase for Bob");
  await bob.getByRole("button", { name: "Change passphrase" }).click();
  await bob.getByText("Passphrase changed.").waitFor({ timeout });
  await bob.reload();
  await bob.locator('input[type="password"]').fill("passphrase of Bob");
  await bob.getByRole("button", { name: "Unlock" }).click();
  await bob.getByText("Wrong passphrase", { exact: false }).waitFor({ timeout });
  await unlock(bob, "a new passphrase for Bob");
  const bobAgain = await openChat(bob, "Alice");
  await bobAgain.getByText("fixed: here").waitFor({ timeout });
  step("passphrase change (wrong current refused, old refused after, new opens everything)");

  // A write IndexedDB refuses is reported, retried, and loses nothing.
  const aliceNow = await openChat(alice, "Bob");
  await alice.evaluate(() => {
    const put = IDBObjectStore.prototype.put;
    window.__restorePut = () => (IDBObjectStore.prototype.put = put);
    IDBObjectStore.prototype.put = function () {
      throw new DOMException("simulated: the disk is full", "QuotaExceededError");
    };
  });
  const compose2 = aliceNow.getByLabel("Message to Bob");
  await compose2.fill("written while the disk was full");
  await compose2.press("Enter");
  // Said in words, not in the browser's (no "QuotaExceededError").
  await alice.getByRole("alert").filter({ hasText: "storage refused to save a change" }).waitFor({ timeout });
  await alice.evaluate(() => window.__restorePut());
  await send(aliceNow, "Bob", "written after the disk recovered");
  await bobAgain.getByText("written while the disk was full").waitFor({ timeout });
  await bobAgain.getByText("written after the disk recovered").waitFor({ timeout });
  await alice.reload();
  await unlock(alice, "passphrase of Alice");
  const afterFailure = await openChat(alice, "Bob");
  await afterFailure.getByText("written while the disk was full").waitFor({ timeout });
  step("a refused IndexedDB write is reported and repaired");

  // A profile change reaches the contact.
  await alice.getByRole("button", { name: "Settings", exact: true }).click();
  await alice.getByLabel("Name", { exact: true }).fill("Alice Lovelace");
  await alice.getByRole("button", { name: "Save profile" }).click();
  await alice.getByText("Profile saved and sent to your contacts.").waitFor({ timeout });
  await alice.keyboard.press("Escape");
  await bob.getByRole("complementary", { name: "Chats" }).getByText("Alice Lovelace").waitFor({ timeout });
  step("profile change reaches the contact");

  // Notifications while the tab is hidden follow the preview setting and mute.
  await bob.evaluate(() => {
    window.__notifications = [];
    window.Notification = class {
      static permission = "granted";
      constructor(title, options) {
        window.__notifications.push({ title, body: options?.body });
      }
      close() {}
    };
    Object.defineProperty(document, "visibilityState", { get: () => "hidden", configurable: true });
  });
  const notified = () => bob.evaluate(() => window.__notifications);
  const expectNotified = async (expected) => {
    const deadline = Date.now() + timeout;
    while (JSON.stringify(await notified()) !== JSON.stringify(expected)) {
      if (Date.now() > deadline) throw new Error(`notifications: ${JSON.stringify(await notified())}`);
      await bob.waitForTimeout(100);
    }
  };
  const bobWithAlice = await openChat(bob, "Alice Lovelace");
  await send(afterFailure, "Bob", "ping one");
  await expectNotified([{ title: "Alice Lovelace", body: "ping one" }]);
  await bob.getByRole("button", { name: "Settings", exact: true }).click();
  await bob.getByRole("radio", { name: "No name or message" }).check();
  await bob.keyboard.press("Escape");
  await send(afterFailure, "Bob", "ping two");
  await expectNotified([
    { title: "Alice Lovelace", body: "ping one" },
    { title: "Sotto", body: "New message" },
  ]);
  await bobWithAlice.getByRole("button", { name: "Contact info" }).click();
  await bob.getByRole("dialog").getByLabel("Notifications").selectOption("8 hours");
  await bob.keyboard.press("Escape");
  await send(afterFailure, "Bob", "ping three");
  await row(bobWithAlice, "ping three").waitFor({ timeout });
  await expectNotified([
    { title: "Alice Lovelace", body: "ping one" },
    { title: "Sotto", body: "New message" },
  ]);
  step("notifications follow the preview setting and mute");
  console.log("two browsers: ok");
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
