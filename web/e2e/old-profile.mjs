// A profile kept by an earlier version of the web client: records sealed
// without padding (format 1) under the first Argon2id defaults (19 MiB, 2
// passes). It is put into IndexedDB as that version wrote it
// (e2e/fixtures/profile-format-1.txt, checked against the format-1 writer by
// `cargo test -p sotto-sealed-store`), then unlocked: it opens, is written
// again padded and under today's parameters, and opens again after a reload.
//
// Run by `cargo xtask test` after the production build (see harness.mjs).

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launchBrowser, openPage, startRelay, timeout, unlock } from "./harness.mjs";

const step = (what) => console.log(`old profile: ${what}: ok`);

function check(condition, what) {
  if (!condition) throw new Error(what);
}

const fixture = { meta: {}, records: [] };
for (const line of readFileSync(new URL("./fixtures/profile-format-1.txt", import.meta.url), "utf8").split("\n")) {
  const [kind, ...rest] = line.split(" ");
  if (kind === "passphrase") fixture.passphrase = rest.join(" ");
  else if (kind === "meta") fixture.meta[rest[0]] = rest[1];
  else if (kind === "record") fixture.records.push(rest);
}

/** Runs in the page: what IndexedDB holds, as hex (whatever the database's version). */
function readDatabase() {
  const hex = (bytes) => [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");
  return new Promise((resolve, reject) => {
    const open = indexedDB.open("sotto");
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const database = open.result;
      const transaction = database.transaction(["meta", "records"]);
      const meta = transaction.objectStore("meta").get("kdf");
      const sizes = transaction.objectStore("records").getAll();
      transaction.oncomplete = () => {
        resolve({ kdf: hex(meta.result), sizes: sizes.result.map((value) => value.byteLength) });
        database.close();
      };
      transaction.onerror = () => reject(transaction.error);
    };
  });
}

const work = mkdtempSync(join(tmpdir(), "sotto-e2e-old-"));
const { relay, web } = await startRelay(join(work, "relay"));
const browser = await launchBrowser();
try {
  const page = await openPage(browser, web);
  await page.getByLabel("Your name").waitFor({ timeout });
  // The page made an empty database of today's version. On a page of the same
  // origin without the app (which keeps its database open), replace it with
  // the earlier version's database (version 1: `meta` and `records`), filled
  // as that version did; the app upgrades it when it opens.
  await page.goto(new URL("/.well-known/sotto-relay-fingerprint", web).href);
  await page.evaluate(
    ({ meta, records }) => {
      const bytes = (hex) => new Uint8Array(hex.match(/../g).map((pair) => parseInt(pair, 16)));
      return new Promise((resolve, reject) => {
        const removed = indexedDB.deleteDatabase("sotto");
        removed.onerror = () => reject(removed.error);
        const open = indexedDB.open("sotto", 1);
        open.onerror = () => reject(open.error);
        open.onupgradeneeded = () => {
          open.result.createObjectStore("meta");
          open.result.createObjectStore("records");
        };
        open.onsuccess = () => {
          const database = open.result;
          const transaction = database.transaction(["meta", "records"], "readwrite");
          for (const [name, value] of Object.entries(meta)) transaction.objectStore("meta").put(bytes(value), name);
          for (const [index, sealed] of records) transaction.objectStore("records").put(bytes(sealed), bytes(index));
          transaction.oncomplete = () => {
            database.close();
            resolve();
          };
          transaction.onerror = () => reject(transaction.error);
        };
      });
    },
    { meta: fixture.meta, records: fixture.records },
  );
  const before = await page.evaluate(readDatabase);
  check(before.kdf === fixture.meta.kdf, "the old key derivation was not stored");
  check(
    before.sizes.some((size) => size % 256 !== 0),
    `the fixture's records should not be padded: ${before.sizes}`,
  );

  await page.goto(web);
  await unlock(page, fixture.passphrase);
  step("a format-1 profile under the first Argon2id defaults, in a version-1 database, unlocks");

  const after = await page.evaluate(readDatabase);
  const memoryKib = parseInt(after.kdf.slice(2, 10), 16);
  const passes = parseInt(after.kdf.slice(10, 18), 16);
  check(memoryKib === 65536 && passes === 3, `not written under today's parameters: ${after.kdf}`);
  check(after.sizes.length === before.sizes.length, `records lost: ${before.sizes} -> ${after.sizes}`);
  const bucket = (size) => size >= 256 && (size & (size - 1)) === 0;
  check(after.sizes.every(bucket), `records not padded to buckets: ${after.sizes}`);
  step("it is written again padded and under today's parameters");

  await page.reload();
  await unlock(page, fixture.passphrase);
  step("it unlocks again with the same passphrase");
  console.log("old profile: ok");
} finally {
  await browser.close();
  relay.kill();
  rmSync(work, { recursive: true, force: true });
}
