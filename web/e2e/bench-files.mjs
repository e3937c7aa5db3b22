// The web client's file benchmark (run by `cargo xtask bench web-files`, see
// docs/benchmarks.md): two browser profiles in headless Chromium connected
// through a release relay on loopback; one drops a 100 MB file on the chat,
// the other downloads it and saves it (into a stand-in for the save dialog
// that counts the bytes). Reported, for each run and as the median: the
// upload (from the drop to the message sent: reading the file by slices,
// encrypting it into IndexedDB, uploading its chunks) and the download (from
// the click to the file shown received: chunks fetched into IndexedDB, every
// digest checked, the whole file decrypted once), in MB/s, and each page's
// peak memory (V8 heap plus the array buffers it holds, the core's wasm
// memory among them: `Runtime.getHeapUsage`, sampled every 100 ms). Nothing
// here asserts a time.
//
// Environment (set by `cargo xtask bench web-files`):
//   SOTTO_RELAY  the sotto-relay binary (release)
//   SOTTO_WEB    the production build of the web client (web/dist)
//   SOTTO_RUNS   files sent (default 3)
//   CHROMIUM     the browser (default /usr/bin/chromium)

import { mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { median } from "./bench-stats.mjs";
import {
  connectWith,
  createProfile,
  invitationLink,
  launchBrowser,
  openChat,
  openPage,
  startRelay,
} from "./harness.mjs";

const runs = Number(process.env.SOTTO_RUNS ?? 3);
const SIZE = 100 * 1000 * 1000;
const long = 900_000;
const log = (line) => console.error(`web files bench: ${line}`);
const rate = (ms) => (SIZE / 1e6 / (ms / 1000)).toFixed(1);
const mib = (bytes) => (bytes / 1048576).toFixed(0);

/** Samples the page's heap and array buffers every 100 ms; `peak()` is the highest so far. */
async function memoryWatch(page) {
  const session = await page.context().newCDPSession(page);
  let peak = 0;
  let stopped = false;
  const sample = async () => {
    while (!stopped) {
      const usage = await session.send("Runtime.getHeapUsage").catch(() => null);
      if (usage)
        peak = Math.max(peak, usage.usedSize + (usage.backingStorageSize ?? 0) + (usage.embedderHeapUsedSize ?? 0));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  const running = sample();
  return {
    reset: () => {
      peak = 0;
    },
    peak: () => peak,
    stop: async () => {
      stopped = true;
      await running;
    },
  };
}

const dataDir = mkdtempSync(join(tmpdir(), "sotto-bench-files-"));
const { relay, web } = await startRelay(dataDir);
const browser = await launchBrowser();
try {
  const alice = await openPage(browser, web);
  const bob = await openPage(browser, web);
  await createProfile(alice, "Alice");
  await createProfile(bob, "Bob");
  await connectWith(bob, await invitationLink(alice));
  await alice.getByText("Bob").first().waitFor({ timeout: long });
  await bob.keyboard.press("Escape");
  const aliceChat = await openChat(alice, "Bob");
  const bobChat = await openChat(bob, "Alice");
  await bob.evaluate(() => {
    window.savedBytes = 0;
    window.savedDone = false;
    window.showSaveFilePicker = async () => ({
      createWritable: async () => ({
        write: async (data) => {
          window.savedBytes += data.length;
        },
        close: async () => {
          window.savedDone = true;
        },
        abort: async () => undefined,
      }),
    });
  });
  const aliceMemory = await memoryWatch(alice);
  const bobMemory = await memoryWatch(bob);
  const results = [];
  for (let run = 1; run <= runs; run++) {
    const name = `bench-${run}.bin`;
    aliceMemory.reset();
    bobMemory.reset();
    const started = Date.now();
    await alice.evaluate(
      ({ name, size }) => {
        const bytes = new Uint8Array(size);
        crypto.getRandomValues(bytes.subarray(0, 65536));
        for (let i = 65536; i < size; i += 65536) bytes.copyWithin(i, 0, Math.min(65536, size - i));
        const transfer = new DataTransfer();
        transfer.items.add(new File([bytes], name, { type: "application/octet-stream" }));
        const target = document.querySelector(".conversation");
        for (const type of ["dragenter", "dragover", "drop"])
          target.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: transfer }));
      },
      { name, size: SIZE },
    );
    const offered = bobChat
      .getByLabel(`File ${name}`, { exact: true })
      .getByRole("button", { name: `Download ${name}` });
    await offered.waitFor({ timeout: long });
    const upload = Date.now() - started;
    const uploadPeak = aliceMemory.peak();
    const downloadStarted = Date.now();
    await offered.click();
    const save = bobChat.getByLabel(`File ${name}`, { exact: true }).getByRole("button", { name: "Save" });
    await save.waitFor({ timeout: long });
    const download = Date.now() - downloadStarted;
    const downloadPeak = bobMemory.peak();
    await bob.evaluate(() => {
      window.savedBytes = 0;
      window.savedDone = false;
    });
    const saveStarted = Date.now();
    await save.click();
    await bob.waitForFunction(() => window.savedDone, null, { timeout: long });
    const saved = Date.now() - saveStarted;
    const savedBytes = await bob.evaluate(() => window.savedBytes);
    if (savedBytes !== SIZE) throw new Error(`saved ${savedBytes} bytes of ${SIZE}`);
    const savePeak = bobMemory.peak();
    results.push({ upload, download, saved, uploadPeak, downloadPeak, savePeak });
    log(
      `run ${run}: upload ${rate(upload)} MB/s (${upload} ms, page peak ${mib(uploadPeak)} MiB), ` +
        `download ${rate(download)} MB/s (${download} ms, page peak ${mib(downloadPeak)} MiB), ` +
        `save ${rate(saved)} MB/s (page peak ${mib(savePeak)} MiB)`,
    );
  }
  await aliceMemory.stop();
  await bobMemory.stop();
  const pick = (key) => median(results.map((result) => result[key]));
  log(`machine: ${cpus().length} cores, load ${loadavg()[0].toFixed(2)}; ${runs} runs of a ${SIZE / 1e6} MB file`);
  log(
    `median: upload ${rate(pick("upload"))} MB/s, download ${rate(pick("download"))} MB/s, save ${rate(pick("saved"))} MB/s; ` +
      `page peak memory: sender ${mib(Math.max(...results.map((r) => r.uploadPeak)))} MiB, ` +
      `recipient ${mib(Math.max(...results.map((r) => Math.max(r.downloadPeak, r.savePeak))))} MiB`,
  );
} finally {
  await browser.close();
  relay.kill();
  rmSync(dataDir, { recursive: true, force: true });
}
