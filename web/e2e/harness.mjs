// What the browser tests share: a real relay process serving the built web
// client, headless Chromium, profile creation, and a directory for screenshots.
//
// Environment (set by `cargo xtask test`):
//   SOTTO_RELAY      the sotto-relay binary
//   SOTTO_WEB        the built web client (web/dist)
//   CHROMIUM         the browser (default /usr/bin/chromium)
//   SOTTO_ARTIFACTS  where screenshots go (default web/e2e/artifacts)

import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const timeout = 30_000;

export function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

/** The screenshot directory, created and printed once. */
export function artifactsDir(test) {
  const base = process.env.SOTTO_ARTIFACTS ?? join(dirname(fileURLToPath(import.meta.url)), "artifacts");
  const dir = join(base, test);
  mkdirSync(dir, { recursive: true });
  console.log(`${test}: screenshots in ${dir}`);
  return dir;
}

/**
 * Starts a relay on a free port (or on `listen`, with more `options`); resolves with the process, its
 * address and page URL.
 */
export function startRelay(dataDir, { listen = "127.0.0.1:0", options = [] } = {}) {
  const relay = spawn(
    required("SOTTO_RELAY"),
    ["--listen", listen, "--data", dataDir, "--web-dir", required("SOTTO_WEB"), ...options],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
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

/** Headless Chromium; `args` adds command-line switches (a fake camera, say). */
export function launchBrowser(args = []) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      ...args,
    ],
  });
}

/** A page in a fresh browser context (its own IndexedDB) at `url`; browser errors fail the test. */
export async function openPage(browser, url, viewport = { width: 1100, height: 760 }) {
  const page = await (await browser.newContext({ viewport })).newPage();
  page.on("pageerror", (error) => {
    console.error(`page error: ${error.message}`);
    process.exitCode = 1;
  });
  await page.goto(url);
  return page;
}

export async function createProfile(page, name) {
  await page.getByLabel("Your name").fill(name);
  const passphrases = page.locator('input[autocomplete="new-password"]');
  await passphrases.nth(0).fill(`passphrase of ${name}`);
  await passphrases.nth(1).fill(`passphrase of ${name}`);
  await page.getByRole("button", { name: "Create profile" }).click();
  await page.getByRole("button", { name: "New chat: invite someone" }).waitFor({ timeout });
}

export async function unlock(page, passphrase) {
  await page.locator('input[type="password"]').fill(passphrase);
  await page.getByRole("button", { name: "Unlock" }).click();
  await page.getByRole("button", { name: "New chat: invite someone" }).waitFor({ timeout });
}

/** The conversation with `contact` (opened from the chat list). */
export async function openChat(page, contact) {
  await page.getByRole("complementary", { name: "Chats" }).getByText(contact, { exact: true }).first().click();
  const chat = page.getByRole("main", { name: `Chat with ${contact}` });
  await chat.waitFor({ timeout });
  return chat;
}

/** The message row holding `text`. */
export function row(chat, text) {
  return chat.getByRole("listitem").filter({ hasText: text }).last();
}

/** Opens a message's actions and clicks `action` (a menu item's name). */
export async function messageAction(page, chat, text, action) {
  const target = row(chat, text);
  await target.hover();
  await target.getByRole("button", { name: "Message actions" }).click();
  await page.getByRole("menuitem", { name: action }).click();
}

export async function send(chat, contact, text) {
  const compose = chat.getByLabel(`Message to ${contact}`);
  await compose.fill(text);
  await compose.press("Enter");
  await row(chat, text).waitFor({ timeout });
}

/** An invitation link from `page`'s invite dialog (closed again). */
export async function invitationLink(page, screenshot) {
  await page.getByRole("button", { name: "New chat: invite someone" }).click();
  const linkInput = page.getByLabel("Invitation link");
  await linkInput.waitFor({ timeout });
  const link = await linkInput.inputValue();
  if (screenshot) await page.screenshot({ path: screenshot });
  await page.keyboard.press("Escape");
  return link;
}

/** Connects with `link` from the New chat dialog, which closes once the link's chat exists. */
export async function connectWith(page, link) {
  await page.getByRole("button", { name: "New chat: invite someone" }).click();
  await page.getByLabel("Invitation, contact address or group link").fill(link);
  await page.getByRole("button", { name: "Connect", exact: true }).click();
  await page.getByRole("dialog", { name: "New chat" }).waitFor({ state: "detached", timeout });
}
