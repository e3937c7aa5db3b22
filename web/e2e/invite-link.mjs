// Opening links: an invitation link (`/invite#…`) opened in a browser without a
// profile offers to connect once the profile is created; one opened in a
// browser whose profile is locked offers it after unlocking; a contact-address
// link offers a contact request. The fragment leaves the address bar, and
// "Not now" connects nothing. A relay named in the URL (`?relay=`) is used
// only once accepted, and plain WebSocket to another machine is refused.
//
// Run by `cargo xtask test` after the production build (see harness.mjs).

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  artifactsDir,
  createProfile,
  invitationLink,
  launchBrowser,
  openChat,
  openPage,
  row,
  send,
  startRelay,
  timeout,
  unlock,
} from "./harness.mjs";

const shots = artifactsDir("invite-link");
const step = (what) => console.log(`invitation links: ${what}: ok`);

function check(condition, what) {
  if (!condition) throw new Error(what);
}

/** The offer dialog that opening `kind` of link shows. */
function offer(page, kind) {
  const title = kind === "invite" ? "Connect with this invitation?" : "Send a contact request?";
  return page.getByRole("dialog", { name: title });
}

/** Asserts the one-time secret left the address bar. */
function checkFragmentGone(page) {
  const url = new URL(page.url());
  check(url.hash === "" && url.pathname === "/", `the link stayed in the address bar: ${page.url()}`);
}

const work = mkdtempSync(join(tmpdir(), "sotto-e2e-links-"));
const { relay, web, address: relayAddress } = await startRelay(join(work, "relay"));
const browser = await launchBrowser();
try {
  const alice = await openPage(browser, web);
  await createProfile(alice, "Alice");

  // No profile yet: the offer comes once the profile exists.
  const link = await invitationLink(alice);
  check(new URL(link).pathname === "/invite", `not an invitation link: ${link}`);
  const bob = await openPage(browser, link);
  checkFragmentGone(bob);
  await createProfile(bob, "Bob");
  await offer(bob, "invite").waitFor({ timeout });
  await bob.screenshot({ path: join(shots, "offer.png") });
  await offer(bob, "invite").getByRole("button", { name: "Connect", exact: true }).click();
  const bobChat = await openChat(bob, "Alice");
  const aliceChat = await openChat(alice, "Bob");
  await send(bobChat, "Alice", "I opened your link");
  await row(aliceChat, "I opened your link").waitFor({ timeout });
  step("a link opened without a profile connects after the profile is created");

  // A locked profile: the offer comes after unlocking; "Not now" connects nothing.
  const carol = await openPage(browser, web);
  await createProfile(carol, "Carol");
  const declined = await invitationLink(alice);
  await carol.goto(declined);
  checkFragmentGone(carol);
  await unlock(carol, "passphrase of Carol");
  await offer(carol, "invite").waitFor({ timeout });
  await offer(carol, "invite").getByRole("button", { name: "Not now" }).click();
  await offer(carol, "invite").waitFor({ state: "detached", timeout });
  const carolChats = carol.getByRole("complementary", { name: "Chats" });
  check((await carolChats.getByText("Alice", { exact: true }).count()) === 0, "Not now connected all the same");

  const accepted = await invitationLink(alice);
  await carol.goto(accepted);
  await unlock(carol, "passphrase of Carol");
  await offer(carol, "invite").getByRole("button", { name: "Connect", exact: true }).click();
  const carolChat = await openChat(carol, "Alice");
  await send(carolChat, "Alice", "unlocked, then connected");
  await row(await openChat(alice, "Carol"), "unlocked, then connected").waitFor({ timeout });
  step("a link opened on a locked profile offers to connect after unlocking; Not now declines");

  // A contact address link sends a request, which its owner accepts.
  await alice.getByRole("button", { name: /^Contact address and requests/ }).click();
  await alice.getByRole("button", { name: "Create a contact address" }).click();
  const addressInput = alice.getByLabel("Contact address link");
  await addressInput.waitFor({ timeout });
  const address = await addressInput.inputValue();
  await alice.keyboard.press("Escape");
  check(new URL(address).pathname === "/contact", `not a contact address link: ${address}`);
  const dave = await openPage(browser, address);
  checkFragmentGone(dave);
  await createProfile(dave, "Dave");
  await offer(dave, "contact").getByRole("button", { name: "Connect", exact: true }).click();
  await offer(dave, "contact").waitFor({ state: "detached", timeout });
  await alice.getByRole("button", { name: "Contact address and requests, 1 waiting" }).waitFor({ timeout });
  step("a contact address link sends a contact request");

  // A relay in the URL: asked about, the address shown, used only if accepted.
  const withRelay = (address) => `${web}?relay=${encodeURIComponent(address)}`;
  const question = (page) => page.getByRole("alertdialog", { name: "Use another relay?" });
  const remembered = (page) => page.evaluate(() => window.localStorage.getItem("sotto.relay"));
  const erin = await openPage(browser, withRelay(relayAddress));
  await question(erin).waitFor({ timeout });
  check((await question(erin).locator(".relay-address").textContent()) === relayAddress, "the address is not shown");
  check(new URL(erin.url()).search === "", `the relay stayed in the address bar: ${erin.url()}`);
  await erin.screenshot({ path: join(shots, "relay-question.png") });
  await question(erin).getByRole("button", { name: "Keep the current relay" }).click();
  await erin.getByLabel("Your name").waitFor({ timeout });
  check((await remembered(erin)) === null, "a declined relay was remembered");
  const frank = await openPage(browser, withRelay(relayAddress));
  await question(frank).getByRole("button", { name: "Use this relay" }).click();
  await createProfile(frank, "Frank");
  check((await remembered(frank)) === relayAddress, "an accepted relay was not remembered");
  const remote = relayAddress.replace(/@[^/]+$/, "@relay.example:80");
  const gina = await openPage(browser, withRelay(remote));
  await question(gina)
    .getByRole("alert")
    .getByText(/without encryption/)
    .waitFor({ timeout });
  check((await question(gina).getByRole("button", { name: "Use this relay" }).count()) === 0, "plain ws offered");
  step("a relay in the URL is used only once accepted; plain WebSocket only to this machine");
  console.log("invitation links: ok");
} finally {
  await browser.close();
  relay.kill();
  rmSync(work, { recursive: true, force: true });
}
