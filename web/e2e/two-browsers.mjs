// Two browser profiles talk through a real relay: each creates a profile in
// its own browser context, one invites, the other connects, a message goes
// across; then a reload keeps everything and a wrong passphrase is refused.
//
// Run by `cargo xtask test` (after the production build) with
//   SOTTO_RELAY  the sotto-relay binary
//   SOTTO_WEB    the built web client (web/dist)
//   CHROMIUM     the browser (default /usr/bin/chromium)

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const relayBinary = required("SOTTO_RELAY");
const webDir = required("SOTTO_WEB");
const timeout = 30_000;

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

/** Starts a relay on a free port; resolves with its address and page URL. */
function startRelay(dataDir) {
  const relay = spawn(relayBinary, ["--listen", "127.0.0.1:0", "--data", dataDir, "--web-dir", webDir], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    let out = "";
    relay.on("exit", (code) => reject(new Error(`the relay exited (${code})`)));
    relay.stdout.on("data", (chunk) => {
      out += chunk;
      const address = out.match(/relay address: (\S+)/)?.[1];
      const web = out.match(/web: (\S+)/)?.[1];
      if (address && web) resolve({ relay, address, web });
    });
  });
}

async function createProfile(page, name) {
  await page.getByLabel("Your name").fill(name);
  const passphrases = page.locator('input[autocomplete="new-password"]');
  await passphrases.nth(0).fill(`passphrase of ${name}`);
  await passphrases.nth(1).fill(`passphrase of ${name}`);
  await page.getByRole("button", { name: "Create profile" }).click();
  await page.getByRole("button", { name: "New chat: invite someone" }).waitFor({ timeout });
}

const dataDir = mkdtempSync(join(tmpdir(), "sotto-e2e-"));
const { relay, web } = await startRelay(dataDir);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
  ],
});
try {
  // No ?relay=: the page finds its relay (and the fingerprint it checks) itself.
  const url = web;
  const open = async () => {
    const page = await (await browser.newContext()).newPage();
    await page.goto(url);
    return page;
  };
  const alice = await open();
  const bob = await open();
  await createProfile(alice, "Alice");
  await createProfile(bob, "Bob");

  await alice.getByRole("button", { name: "New chat: invite someone" }).click();
  const linkInput = alice.getByLabel("Invitation link");
  await linkInput.waitFor({ timeout });
  const link = await linkInput.inputValue();
  await alice.keyboard.press("Escape");

  await bob.getByRole("button", { name: "New chat: invite someone" }).click();
  await bob.getByLabel("Invitation or contact address link").fill(link);
  await bob.getByRole("button", { name: "Connect", exact: true }).click();
  await bob.keyboard.press("Escape");
  await alice.getByText("Bob").first().waitFor({ timeout });
  await bob.getByText("Alice").first().waitFor({ timeout });

  await alice.getByText("Bob").first().click();
  const compose = alice.getByLabel("Message to Bob");
  await compose.fill("hello from Alice");
  await compose.press("Enter");
  await bob.getByText("Alice").first().click();
  await bob.getByRole("main", { name: "Chat with Alice" }).getByText("hello from Alice").waitFor({ timeout });

  await bob.reload();
  const passphrase = bob.locator('input[type="password"]');
  await passphrase.fill("not the passphrase");
  await bob.getByRole("button", { name: "Unlock" }).click();
  await bob.getByText("wrong passphrase", { exact: false }).waitFor({ timeout });
  await passphrase.fill("passphrase of Bob");
  await bob.getByRole("button", { name: "Unlock" }).click();
  await bob.getByText("Alice").first().click();
  await bob.getByRole("main", { name: "Chat with Alice" }).getByText("hello from Alice").waitFor({ timeout });
  console.log("two browsers: profiles, invitation, message, reload and wrong passphrase: ok");
} finally {
  await browser.close();
  relay.kill();
  rmSync(dataDir, { recursive: true, force: true });
}
