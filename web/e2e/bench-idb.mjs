// IndexedDB in Chromium, alone (see docs/benchmarks.md, "Catch-up", "The
// browser"): the time a read-write transaction takes from its creation to its
// `complete` event for a number of records of a size, so that the cost per
// record and the cost per byte can be told apart. Values are random bytes
// (as sealed records are), keys 32 bytes; each shape is written 100 times,
// over the same keys. Figures go to stdout.
//
// Environment: SOTTO_RELAY, SOTTO_WEB (a relay serves the page, for an
// origin), CHROMIUM (default /usr/bin/chromium).

import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { launchBrowser, startRelay } from "./harness.mjs";

const shapes = [
  // [records per write, bytes each, durability]
  [130, 2048, "strict"],
  [130, 256, "strict"],
  [20, 12288, "strict"],
  [20, 8192, "strict"],
  [20, 256, "strict"],
  [1, 262144, "strict"],
  [1, 256, "strict"],
  [130, 2048, "relaxed"],
];

const work = mkdtempSync(join(tmpdir(), "sotto-idb-bench-"));
const { relay, web } = await startRelay(join(work, "relay"));
const browser = await launchBrowser();
try {
  const page = await (await browser.newContext()).newPage();
  await page.goto(web);
  console.log(`IndexedDB in headless Chromium, ${shapes.length} shapes, load average ${loadavg()[0].toFixed(2)}`);
  for (const [records, size, durability] of shapes) {
    const ms = await page.evaluate(
      async ([records, size, durability]) => {
        const name = `bench-${records}-${size}-${durability}`;
        const db = await new Promise((resolve, reject) => {
          const open = indexedDB.open(name, 1);
          open.onupgradeneeded = () => open.result.createObjectStore("records");
          open.onsuccess = () => resolve(open.result);
          open.onerror = () => reject(open.error);
        });
        const keys = Array.from({ length: records }, (_, i) =>
          crypto.getRandomValues(new Uint8Array(32)).fill(i, 0, 1),
        );
        const value = () => {
          const bytes = new Uint8Array(size);
          for (let at = 0; at < size; at += 65536)
            crypto.getRandomValues(bytes.subarray(at, Math.min(size, at + 65536)));
          return bytes;
        };
        const times = [];
        for (let write = 0; write < 100; write += 1) {
          const values = keys.map(value);
          const start = performance.now();
          const transaction = db.transaction(["records"], "readwrite", { durability });
          const store = transaction.objectStore("records");
          keys.forEach((key, i) => store.put(values[i], key));
          await new Promise((resolve, reject) => {
            transaction.oncomplete = resolve;
            transaction.onerror = () => reject(transaction.error);
          });
          times.push(performance.now() - start);
        }
        db.close();
        times.sort((a, b) => a - b);
        return times[times.length >> 1];
      },
      [records, size, durability],
    );
    console.log(
      `  ${String(records).padStart(3)} records of ${String(size).padStart(6)} B (${durability}): median ${ms.toFixed(1)} ms per write, ${((ms * 1000) / records).toFixed(0)} µs per record`,
    );
  }
} finally {
  await browser.close();
  relay.kill();
  rmSync(work, { recursive: true, force: true });
}
