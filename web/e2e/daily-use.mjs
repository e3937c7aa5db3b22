// The message box and the timeline in daily use, two Chromium profiles
// through a real relay: emoji from the picker in a message, a reaction with
// an emoji that is not among the quick ones (found by name, and one pasted),
// a chat opened with unread messages starting at the first of them under a
// "new messages" divider, and a received message deleted for me only.
// Screenshots at desktop and phone size.
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
} from "./harness.mjs";

const shots = artifactsDir("daily-use");
const step = (what) => console.log(`daily use: ${what}: ok`);

/** Screenshots of `page` at its size and at a phone's. */
async function screenshots(page, name) {
  await page.screenshot({ path: join(shots, `${name}.png`) });
  const size = page.viewportSize();
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: join(shots, `${name}-phone.png`) });
  await page.setViewportSize(size);
}

const work = mkdtempSync(join(tmpdir(), "sotto-e2e-daily-"));
const { relay, web } = await startRelay(join(work, "relay"));
const browser = await launchBrowser();
try {
  const alice = await openPage(browser, web);
  const bob = await openPage(browser, web);
  await createProfile(alice, "Alice");
  await createProfile(bob, "Bob");
  await connectWith(bob, await invitationLink(alice));
  const aliceChat = await openChat(alice, "Bob");
  const bobChat = await openChat(bob, "Alice");
  step("connected");

  // Emoji from the picker, where the cursor is; the picker stays open for more.
  const box = aliceChat.getByLabel("Message to Bob");
  await box.fill("pizza tonight?");
  await box.press("End");
  await aliceChat.getByRole("button", { name: "Emoji", exact: true }).click();
  const picker = alice.getByRole("dialog", { name: "Emoji" });
  await picker.getByLabel("Search emoji").fill("pizza");
  await picker.locator('[data-emoji="🍕"]').click();
  await picker.getByLabel("Search emoji").fill("");
  await screenshots(alice, "emoji-picker");
  await picker.locator('[data-emoji="😋"]').click();
  await alice.keyboard.press("Escape");
  await picker.waitFor({ state: "detached", timeout });
  if ((await box.inputValue()) !== "pizza tonight?🍕😋") throw new Error(`the box holds ${await box.inputValue()}`);
  await box.press("Enter");
  await row(bobChat, "pizza tonight?🍕😋").waitFor({ timeout });
  step("emoji from the picker go into the message");

  // Any emoji as a reaction: one found by name, then one pasted.
  await messageAction(bob, bobChat, "pizza tonight?", "More reactions");
  const reactions = bob.getByRole("dialog", { name: "React with an emoji" });
  await reactions.getByLabel("Search emoji").fill("party");
  await reactions.locator('[data-emoji="🥳"]').click();
  await row(aliceChat, "pizza tonight?").locator(".reaction", { hasText: "🥳" }).waitFor({ timeout });
  await messageAction(bob, bobChat, "pizza tonight?", "More reactions");
  await reactions.getByLabel("Search emoji").fill("🫠");
  await reactions.getByRole("button", { name: "Use 🫠" }).click();
  await row(aliceChat, "pizza tonight?").locator(".reaction", { hasText: "🫠" }).waitFor({ timeout });
  await screenshots(alice, "any-emoji-reaction");
  step("any emoji as a reaction");

  // Unread messages: the chat opens at the first of them, under a divider.
  await box.press("Escape");
  await alice.getByRole("main", { name: "Chat with Bob" }).waitFor({ state: "detached", timeout });
  const unread = 40;
  for (let index = 1; index <= unread; index += 1) await send(bobChat, "Alice", `unread ${index} of ${unread}`);
  const list = alice.getByRole("complementary", { name: "Chats" });
  await list.getByText(`unread ${unread} of ${unread}`).waitFor({ timeout });
  const reopened = await openChat(alice, "Bob");
  const divider = reopened.locator(".unread-divider");
  await divider.waitFor({ timeout });
  if ((await divider.textContent()) !== `${unread} new messages`) throw new Error(await divider.textContent());
  const scroller = await reopened
    .getByRole("log")
    .boundingBox()
    .catch(() => null);
  const shown = await divider.boundingBox();
  const first = await row(reopened, "unread 1 of 40").boundingBox();
  const view = scroller ?? { y: 0, height: alice.viewportSize().height };
  for (const [what, box] of [
    ["the divider", shown],
    ["the first unread message", first],
  ]) {
    if (!box || box.y < view.y || box.y + box.height > view.y + view.height)
      throw new Error(`${what} is not in view: ${JSON.stringify(box)} in ${JSON.stringify(view)}`);
  }
  if ((await reopened.getByLabel("Message to Bob").evaluate((el) => el === document.activeElement)) !== true)
    throw new Error("the message box lost the focus");
  await screenshots(alice, "first-unread");
  step("a chat with unread messages opens at the first of them, under a divider");

  // A received message deleted for me only.
  await send(bobChat, "Alice", "delete me on your side");
  await alice.getByRole("button", { name: "Jump to the latest message" }).click();
  await row(reopened, "delete me on your side").waitFor({ timeout });
  await messageAction(alice, reopened, "delete me on your side", "Delete for me");
  await alice.getByRole("dialog", { name: "Delete this message for you?" }).waitFor({ timeout });
  await alice.getByRole("button", { name: "Delete for me" }).click();
  await row(reopened, "delete me on your side").waitFor({ state: "detached", timeout });
  await alice.reload();
  await alice.locator('input[type="password"]').fill("passphrase of Alice");
  await alice.getByRole("button", { name: "Unlock" }).click();
  const afterReload = await openChat(alice, "Bob");
  await row(afterReload, "unread 40 of 40").waitFor({ timeout });
  if ((await afterReload.getByText("delete me on your side").count()) !== 0)
    throw new Error("the deleted message came back");
  if ((await bobChat.getByText("delete me on your side").count()) !== 1) throw new Error("Bob lost his copy");
  step("a received message deleted for me is gone here only, also after a reload");
  console.log("daily use: ok");
} finally {
  await browser.close();
  relay.kill();
  rmSync(work, { recursive: true, force: true });
}
