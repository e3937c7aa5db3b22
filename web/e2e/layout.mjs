// The page at a phone's size, with the keyboard alone, with the privacy blur,
// and what it asks of the network; and the app lock. Against a real relay:
//
// - a phone (390×844, touch): create a profile, the chat list, the invitation,
//   a conversation, back, settings; nothing is wider than the screen and the
//   main controls are in view and work; screenshots of each screen;
// - the keyboard alone (Tab, Shift+Tab, Enter, Esc, arrows; text typed into
//   fields): create a profile, open the invitation, connect, open a chat, send
//   a message, open settings, lock, unlock, each control showing its focus;
// - the privacy blur: chat names, previews, message text and avatars blurred
//   until hovered or focused;
// - every request of every page (and its workers and WebSockets) goes to the
//   relay that served it: no CDN, font or analytics;
// - unlocking derives the key in a worker: the page keeps drawing frames while
//   it runs and shows that it is unlocking;
// - the app locks after its inactivity delay (a fake clock moves time), and a
//   locked core has no keys: every call that needs them fails with `locked`
//   until the passphrase unlocks it again.
//
// Run by `cargo xtask test` after the production build (see harness.mjs).

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  artifactsDir,
  createProfile,
  invitationLink,
  launchBrowser,
  openChat,
  row,
  startRelay,
  timeout,
  unlock,
} from "./harness.mjs";

const shots = artifactsDir("layout");
const shot = (page, name) => page.screenshot({ path: join(shots, `${name}.png`) });
const step = (what) => console.log(`layout: ${what}: ok`);
const PHONE = { width: 390, height: 844 };

function check(condition, message) {
  if (!condition) throw new Error(message);
}

/** Every request a context makes, page, workers and WebSockets alike. */
function recordRequests(context) {
  const seen = [];
  context.on("request", (request) => seen.push(request.url()));
  context.on("page", (page) => page.on("websocket", (socket) => seen.push(socket.url())));
  return seen;
}

async function newContext(browser, options, web) {
  const context = await browser.newContext(options);
  const requests = recordRequests(context);
  const page = await context.newPage();
  page.on("websocket", (socket) => requests.push(socket.url()));
  page.on("pageerror", (error) => {
    console.error(`page error: ${error.message}`);
    process.exitCode = 1;
  });
  page.on("dialog", (dialog) => dialog.accept());
  await page.goto(web);
  return { context, page, requests };
}

/** Fails unless the document fits the viewport's width. */
async function fitsWidth(page, screen) {
  const { scrollWidth, width } = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    width: window.innerWidth,
  }));
  check(scrollWidth <= width, `${screen}: the page is ${scrollWidth} px wide on a ${width} px screen`);
}

/** Fails unless `locator` is inside the viewport (and not hidden behind nothing). */
async function inView(page, locator, what) {
  await locator.waitFor({ timeout });
  const box = await locator.boundingBox();
  const viewport = page.viewportSize();
  check(
    box &&
      box.width > 0 &&
      box.x >= 0 &&
      box.y >= 0 &&
      box.x + box.width <= viewport.width + 0.5 &&
      box.y + box.height <= viewport.height + 0.5,
    `${what} is not inside the ${viewport.width}×${viewport.height} viewport (${JSON.stringify(box)})`,
  );
  // The element itself is what a tap at its centre reaches.
  const onTop = await locator.evaluate((element) => {
    const rect = element.getBoundingClientRect();
    const hit = document.elementFromPoint(rect.x + rect.width / 2, rect.y + rect.height / 2);
    return hit !== null && (hit === element || element.contains(hit));
  });
  check(onTop, `${what} is covered by another element`);
}

/**
 * Presses Tab (or Shift+Tab) until the focused element matches `accessibleName`
 * (its aria-label, its label's text or its own text); checks that the focus is
 * visible there.
 */
async function tabTo(page, accessibleName, { back = false, limit = 40 } = {}) {
  for (let i = 0; i < limit; i++) {
    await page.keyboard.press(back ? "Shift+Tab" : "Tab");
    const name = await page.evaluate(() => {
      const element = document.activeElement;
      if (!element || element === document.body) return "";
      const label = element.getAttribute("aria-label");
      if (label) return label;
      const labels = "labels" in element && element.labels ? [...element.labels] : [];
      if (labels.length > 0) return labels[0].textContent ?? "";
      return element.textContent ?? "";
    });
    if (typeof accessibleName === "string" ? name.trim() === accessibleName : accessibleName.test(name)) {
      await focusIsVisible(page, String(accessibleName));
      return;
    }
  }
  throw new Error(`no control named ${accessibleName} within ${limit} presses of ${back ? "Shift+Tab" : "Tab"}`);
}

/** The focused element shows it: an outline or a ring (box-shadow) while focus-visible. */
async function focusIsVisible(page, what) {
  const style = await page.evaluate(() => {
    const element = document.activeElement;
    const computed = getComputedStyle(element);
    return {
      focusVisible: element.matches(":focus-visible"),
      outline: computed.outlineStyle !== "none" && parseFloat(computed.outlineWidth) > 0,
      ring: computed.boxShadow !== "none",
    };
  });
  check(style.focusVisible && (style.outline || style.ring), `${what}: the keyboard focus is not visible`);
}

const dataDir = mkdtempSync(join(tmpdir(), "sotto-e2e-"));
const { relay, address, web } = await startRelay(dataDir);
const origin = new URL(web);
const browser = await launchBrowser();
const recorded = [];
try {
  // A phone, and a desktop contact to talk to.
  const phone = await newContext(
    browser,
    { viewport: PHONE, screen: PHONE, isMobile: true, hasTouch: true, deviceScaleFactor: 2 },
    web,
  );
  recorded.push(phone.requests);
  const alice = phone.page;
  await alice.getByLabel("Your name").waitFor({ timeout });
  await fitsWidth(alice, "welcome");
  await inView(alice, alice.getByRole("button", { name: "Create profile" }), "Create profile");
  await shot(alice, "phone-welcome");
  await createProfile(alice, "Alice");
  await fitsWidth(alice, "chat list");
  for (const name of ["New chat: invite someone", "Contact address and requests", "Settings", "Lock Sotto"]) {
    await inView(alice, alice.getByRole("button", { name, exact: true }), name);
  }
  await shot(alice, "phone-chat-list");
  step("phone: welcome and chat list fit the screen");

  const desktop = await newContext(browser, { viewport: { width: 1100, height: 760 } }, web);
  recorded.push(desktop.requests);
  const bob = desktop.page;
  await createProfile(bob, "Bob");

  // The invitation dialog on the phone, then connect from the desktop.
  await alice.getByRole("button", { name: "New chat: invite someone" }).tap();
  const linkInput = alice.getByLabel("Invitation link");
  await linkInput.waitFor({ timeout });
  const link = await linkInput.inputValue();
  await fitsWidth(alice, "invitation");
  await inView(alice, alice.getByRole("button", { name: "Copy link" }), "Copy link");
  await shot(alice, "phone-invite");
  await alice.keyboard.press("Escape");
  await bob.getByRole("button", { name: "New chat: invite someone" }).click();
  await bob.getByLabel("Invitation, contact address or group link").fill(link);
  await bob.getByRole("button", { name: "Connect", exact: true }).click();
  await bob.keyboard.press("Escape");
  await alice.getByRole("complementary", { name: "Chats" }).getByText("Bob", { exact: true }).waitFor({ timeout });
  step("phone: the invitation fits and connects");

  // A conversation: the chat list gives way to it, and comes back.
  await alice.getByRole("complementary", { name: "Chats" }).getByText("Bob", { exact: true }).tap();
  const chat = alice.getByRole("main", { name: "Chat with Bob" });
  const compose = chat.getByLabel("Message to Bob");
  await inView(alice, compose, "the compose box");
  await inView(alice, chat.getByRole("button", { name: "Back to chats" }), "Back to chats");
  await compose.tap();
  await compose.fill("a message typed on a phone, long enough to wrap onto more than one line of the bubble");
  await compose.press("Enter");
  await row(chat, "a message typed on a phone").waitFor({ timeout });
  const bobChat = await openChat(bob, "Alice");
  await bobChat.getByLabel("Message to Alice").fill(`anunbrokenword${"withoutanyhyphen".repeat(12)}`);
  await bobChat.getByLabel("Message to Alice").press("Enter");
  await row(chat, "anunbrokenword").waitFor({ timeout });
  await fitsWidth(alice, "conversation");
  await shot(alice, "phone-conversation");
  await chat.getByRole("button", { name: "Back to chats" }).tap();
  await inView(alice, alice.getByRole("button", { name: "Settings", exact: true }), "Settings after Back");
  await fitsWidth(alice, "chat list after back");
  step("phone: conversation, sending, long words and back fit the screen");

  // Settings on the phone.
  await alice.getByRole("button", { name: "Settings", exact: true }).tap();
  const settings = alice.getByRole("dialog", { name: "Settings" });
  await settings.waitFor({ timeout });
  await fitsWidth(alice, "settings");
  await inView(alice, settings.getByRole("button", { name: "Close" }).first(), "Close settings");
  await shot(alice, "phone-settings");

  // The privacy blur: names, previews, avatars and message text.
  await settings.getByLabel("Blur names and messages until hovered or focused").check();
  await alice.keyboard.press("Escape");
  await settings.waitFor({ state: "detached", timeout });
  // The blur fades in and out: wait for where it settles.
  const blurred = async (locator) => {
    const settled = () =>
      locator.evaluate((element) => element.getAnimations().every((animation) => animation.playState !== "running"));
    for (let i = 0; i < 100 && !(await settled()); i++) await new Promise((done) => setTimeout(done, 20));
    return locator.evaluate((element) => getComputedStyle(element).filter.includes("blur"));
  };
  const list = alice.getByRole("complementary", { name: "Chats" });
  const name = list.locator(".chat-name").first();
  await alice.mouse.move(0, PHONE.height - 1);
  check(await blurred(name), "the chat name is not blurred");
  check(await blurred(list.locator(".preview").first()), "the chat preview is not blurred");
  check(await blurred(list.locator(".avatar").first()), "the avatar is not blurred");
  await shot(alice, "phone-blurred");
  await list.locator(".chat-row").first().hover();
  check(!(await blurred(name)), "the chat name stays blurred under the pointer");
  await list.locator(".chat-row").first().tap();
  const text = row(chat, "a message typed on a phone").locator(".text");
  await alice.mouse.move(0, 0);
  await alice.locator("body").evaluate(() => document.activeElement?.blur());
  check(await blurred(text), "the message text is not blurred");
  await row(chat, "a message typed on a phone").focus();
  check(!(await blurred(text)), "the focused message stays blurred");
  step("privacy blur until hover or focus");

  // The keyboard alone, on a desktop-sized page.
  const keyboard = await newContext(browser, { viewport: { width: 1100, height: 760 } }, web);
  recorded.push(keyboard.requests);
  const carol = keyboard.page;
  await carol.getByLabel("Your name").waitFor({ timeout });
  // The name field has the focus from the start.
  await carol.keyboard.type("Carol");
  await tabTo(carol, /^Passphrase/);
  await carol.keyboard.type("passphrase of Carol");
  await tabTo(carol, "Passphrase again");
  await carol.keyboard.type("passphrase of Carol");
  await tabTo(carol, "Create profile");
  await carol.keyboard.press("Enter");
  await carol.getByRole("button", { name: "New chat: invite someone" }).waitFor({ timeout });
  await tabTo(carol, "New chat: invite someone");
  await carol.keyboard.press("Enter");
  await carol.getByLabel("Invitation link").waitFor({ timeout });
  await shot(carol, "keyboard-invite");
  const aliceInvite = await invitationLink(bob);
  await tabTo(carol, "Invitation, contact address or group link");
  await carol.keyboard.type(aliceInvite);
  await tabTo(carol, "Connect");
  await carol.keyboard.press("Enter");
  await carol.keyboard.press("Escape");
  await carol.getByRole("dialog").waitFor({ state: "detached", timeout });
  await carol.getByRole("complementary", { name: "Chats" }).getByText("Bob", { exact: true }).waitFor({ timeout });
  await tabTo(carol, /Bob/);
  await carol.keyboard.press("Enter");
  const carolChat = carol.getByRole("main", { name: "Chat with Bob" });
  await carolChat.waitFor({ timeout });
  await tabTo(carol, "Message to Bob");
  await carol.keyboard.type("sent with the keyboard alone");
  await carol.keyboard.press("Enter");
  await row(carolChat, "sent with the keyboard alone").waitFor({ timeout });
  // The message list is a list of rows the arrows move through.
  await tabTo(carol, /sent with the keyboard alone/, { back: true });
  await carol.keyboard.press("ArrowUp");
  await carol.keyboard.press("ArrowDown");
  await focusIsVisible(carol, "a message row");
  await carol.keyboard.press("Escape");
  await tabTo(carol, "Settings", { back: true });
  await carol.keyboard.press("Enter");
  await carol.getByRole("dialog", { name: "Settings" }).waitFor({ timeout });
  await shot(carol, "keyboard-settings");
  await carol.keyboard.press("Escape");
  await carol.getByRole("dialog", { name: "Settings" }).waitFor({ state: "detached", timeout });
  await tabTo(carol, "Lock Sotto");
  await carol.keyboard.press("Enter");
  await carol.getByRole("heading", { name: "Sotto is locked" }).waitFor({ timeout });
  // The passphrase field has the focus as soon as the lock screen shows.
  check(
    await carol.evaluate(() => document.activeElement?.getAttribute("autocomplete") === "current-password"),
    "the lock screen's passphrase field has no focus",
  );
  await carol.keyboard.type("passphrase of Carol");
  await carol.keyboard.press("Enter");
  await carol.getByRole("button", { name: "New chat: invite someone" }).waitFor({ timeout });
  step("keyboard alone: create, invite, connect, chat, send, settings, lock, unlock");

  // Unlocking derives the key in a worker while the page keeps drawing.
  await carol.getByRole("button", { name: "Lock Sotto" }).click();
  await carol.getByRole("heading", { name: "Sotto is locked" }).waitFor({ timeout });
  await carol.evaluate(() => {
    const probe = { workers: [], unlockingFrames: 0, framesInWorker: 0 };
    window.sottoProbe = probe;
    const NativeWorker = window.Worker;
    window.Worker = class extends NativeWorker {
      constructor(...args) {
        super(...args);
        const span = { running: true };
        probe.workers.push(span);
        this.addEventListener("message", () => (span.running = false));
      }
    };
    const frame = () => {
      if (probe.workers.some((span) => span.running)) probe.framesInWorker++;
      if (document.querySelector('button[type="submit"]')?.textContent === "Unlocking…") probe.unlockingFrames++;
      requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
  });
  await unlock(carol, "passphrase of Carol");
  const probe = await carol.evaluate(() => window.sottoProbe);
  check(probe.workers.length === 1, `unlocking started ${probe.workers.length} workers, not 1`);
  // With the derivation on the page's thread no frame could be drawn while
  // it ran (and there would be no worker).
  check(probe.framesInWorker >= 1, "the page drew no frame while the worker derived the key");
  check(probe.unlockingFrames >= 1, `"Unlocking…" was never drawn`);
  step(
    `unlock: key derived in a worker, ${probe.framesInWorker} frames drawn meanwhile, "Unlocking…" in ${probe.unlockingFrames}`,
  );

  // The lock after inactivity, with a fake clock; then the core itself.
  const idle = await browser.newContext({ viewport: { width: 1100, height: 760 } });
  recorded.push(recordRequests(idle));
  await idle.clock.install();
  const dave = await idle.newPage();
  dave.on("pageerror", (error) => {
    console.error(`page error: ${error.message}`);
    process.exitCode = 1;
  });
  await dave.goto(web);
  await createProfile(dave, "Dave");
  await dave.getByRole("button", { name: "Settings", exact: true }).click();
  await dave.getByLabel("Lock after inactivity").selectOption({ label: "1 minute" });
  await dave.keyboard.press("Escape");
  await dave.clock.fastForward(30_000);
  check((await dave.getByRole("heading", { name: "Sotto is locked" }).count()) === 0, "locked before the delay");
  await dave.clock.fastForward(31_000);
  await dave.getByRole("heading", { name: "Sotto is locked" }).waitFor({ timeout });
  step("locked after a minute without input");

  // The class the page runs, loaded a second time beside the locked app
  // (the files wasm-bindgen generated, served under the relay's origin).
  const pkg = join(dirname(fileURLToPath(import.meta.url)), "..", "src", "wasm-pkg");
  await dave.route(
    (url) => url.origin === origin.origin && url.pathname.startsWith("/e2e-core/"),
    (route) => {
      const file = new URL(route.request().url()).pathname.slice("/e2e-core/".length);
      route.fulfill({
        body: readFileSync(join(pkg, file)),
        contentType: file.endsWith(".wasm") ? "application/wasm" : "text/javascript",
      });
    },
  );
  const outcome = await dave.evaluate(
    async ({ address, passphrase }) => {
      const core = await import("/e2e-core/sotto_wasm.js");
      await core.default({ module_or_path: "/e2e-core/sotto_wasm_bg.wasm" });
      const client = await core.SottoClient.open(address, async (derivation, secret) =>
        core.deriveStorageKey(derivation, secret),
      );
      const refused = async (call) => {
        try {
          await call();
          return "allowed";
        } catch (error) {
          return error?.kind ?? String(error);
        }
      };
      const keyed = () =>
        Promise.all([
          refused(() => client.chats()),
          refused(() => client.profile()),
          refused(() => client.prefs()),
          refused(() => client.coreSettings()),
          refused(() => client.createInvitation()),
          refused(() => client.sendText(1, "a message")),
          refused(() => client.changePassphrase(passphrase, "another passphrase")),
        ]);
      const result = { states: [client.profileState()] };
      result.beforeUnlock = await keyed();
      result.wrong = await refused(() => client.unlock("not the passphrase"));
      await client.unlock(passphrase);
      result.states.push(client.profileState());
      result.profile = client.profile().displayName;
      client.lock();
      result.states.push(client.profileState());
      result.afterLock = await keyed();
      await client.unlock(passphrase);
      result.states.push(client.profileState());
      result.again = client.profile().displayName;
      client.lock();
      return result;
    },
    { address, passphrase: "passphrase of Dave" },
  );
  const locked = Array(7).fill("locked");
  check(
    JSON.stringify(outcome.states) === JSON.stringify(["locked", "unlocked", "locked", "unlocked"]),
    `states ${outcome.states}`,
  );
  check(JSON.stringify(outcome.beforeUnlock) === JSON.stringify(locked), `before unlock: ${outcome.beforeUnlock}`);
  check(JSON.stringify(outcome.afterLock) === JSON.stringify(locked), `after lock: ${outcome.afterLock}`);
  check(outcome.wrong === "wrong-passphrase", `a wrong passphrase gave ${outcome.wrong}`);
  check(outcome.profile === "Dave" && outcome.again === "Dave", "the unlocked core does not answer");
  step("a locked core refuses every call that needs its keys until unlocked");

  // Nothing left the relay's origin.
  const outside = recorded
    .flat()
    .filter((url) => !url.startsWith("data:") && !url.startsWith("blob:"))
    .filter((url) => new URL(url).host !== origin.host);
  check(
    recorded.flat().some((url) => url.startsWith("ws:")),
    "no WebSocket was recorded",
  );
  check(outside.length === 0, `requests outside the relay: ${[...new Set(outside)].join(", ")}`);
  step(`all ${recorded.flat().length} requests went to the relay that served the page`);
} finally {
  await browser.close();
  relay.kill();
  rmSync(dataDir, { recursive: true, force: true });
}
