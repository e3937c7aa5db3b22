// The web client's catch-up (run by `cargo xtask bench web-catch-up`, see
// docs/benchmarks.md, "Catch-up", "The browser"): a profile that comes back
// online to 10,000 messages from 50 contacts waiting on its relay, in headless
// Chromium. `sotto-catch-up-bench --for-web` leaves each run's offline
// receiver as an export archive beside the relay's data; for each run this
// script starts the relay again on that data and port, serving the web
// client, imports the archive in a fresh browser context (its socket held
// closed, so that nothing is delivered yet), then opens the page again,
// unlocks, and times the catch-up: from the unlock form's submission until
// the chat list's unread counts add up to every message ("shown") and the
// IndexedDB write holding the last of them has committed ("stored"). Then
// it reloads and unlocks once more to check that the unread counts read
// back from IndexedDB add up too. Figures go to stdout; nothing here asserts
// a time.
//
// Environment (set by `cargo xtask bench web-catch-up`):
//   SOTTO_RELAY     the sotto-relay binary (release)
//   SOTTO_WEB       the production build of the web client (web/dist)
//   SOTTO_CATCH_UP  the directory `sotto-catch-up-bench --for-web --dir`
//                   filled (run-N/web-catch-up.json, receiver.sotto, relay/)
//   CHROMIUM        the browser (default /usr/bin/chromium)
//   SOTTO_PROFILE   optional: a path prefix for a CPU profile of the last
//                   run's catch-up (PREFIX-catch-up.cpuprofile); the
//                   functions with the most self time go to stderr
//   SOTTO_TRACE     optional: a file for a Chromium trace of the last run's
//                   catch-up (devtools.timeline, or the comma-separated
//                   categories in SOTTO_TRACE_CATEGORIES); the main thread's
//                   self time per kind of work goes to stderr

import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { median, profileShares, summarizeProfile, summarizeTraceSelf } from "./bench-stats.mjs";
import { launchBrowser, required, startRelay } from "./harness.mjs";

const root = required("SOTTO_CATCH_UP");
const profile = process.env.SOTTO_PROFILE;
const trace = process.env.SOTTO_TRACE;
const long = 600_000;

const log = (line) => console.error(`web catch-up bench: ${line}`);
const ms = (value) => (Number.isFinite(value) ? `${value.toFixed(0)} ms` : "-");
const s = (value) => (Number.isFinite(value) ? `${(value / 1000).toFixed(2)} s` : "-");

/**
 * Installed in the measured page before its scripts: marks on the page's
 * clock (performance.now()) for the unlock, the relay socket (created, open,
 * frames in and out), the bridge's `sotto-relay-online` mark, each
 * IndexedDB read-write transaction (created, committed), and the unread
 * counts of the chat list: the first one shown, and when they add up to
 * `total`.
 */
function instrument(total) {
  const now = () => performance.now();
  const marks = { sockets: [], framesIn: 0, bytesIn: 0, framesOut: 0, writes: [], unread: 0 };
  window.__sottoCatchUp = marks;
  document.addEventListener("submit", () => (marks.submit ??= now()), true);
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      const socket = { created: now() };
      marks.sockets.push(socket);
      this.addEventListener("open", () => (socket.open = now()));
      this.addEventListener("message", (event) => {
        const at = now();
        marks.firstIn ??= at;
        marks.lastIn = at;
        marks.framesIn += 1;
        marks.bytesIn += event.data?.byteLength ?? 0;
      });
    }
    send(data) {
      marks.framesOut += 1;
      super.send(data);
    }
  };
  const transaction = IDBDatabase.prototype.transaction;
  const writeOf = new WeakMap();
  IDBDatabase.prototype.transaction = function (...args) {
    const opened = transaction.apply(this, args);
    if (args[1] === "readwrite") {
      const write = { created: now(), puts: 0, bytes: 0, flushed: opened.durability === "strict" };
      writeOf.set(opened, write);
      marks.writes.push(write);
      opened.addEventListener("complete", () => (write.done = now()));
      opened.addEventListener("abort", () => (write.failed = now()));
    }
    return opened;
  };
  const put = IDBObjectStore.prototype.put;
  IDBObjectStore.prototype.put = function (value, ...rest) {
    const write = writeOf.get(this.transaction);
    if (write) {
      write.puts += 1;
      write.bytes += value?.byteLength ?? 0;
    }
    return put.call(this, value, ...rest);
  };
  new PerformanceObserver((entries) => {
    for (const entry of entries.getEntries()) if (entry.name === "sotto-relay-online") marks.online ??= entry.startTime;
  }).observe({ type: "mark" });
  new MutationObserver(() => {
    if (marks.submit === undefined || marks.shown !== undefined) return;
    let unread = 0;
    for (const count of document.querySelectorAll("ul.chat-list .unread-count .visually-hidden"))
      unread += Number.parseInt(count.textContent, 10) || 0;
    marks.unread = unread;
    const at = now();
    if (unread > 0) marks.firstShown ??= at;
    if (unread >= total) {
      marks.shown = at;
      requestAnimationFrame(() => (marks.shownFrame = now()));
    }
  }).observe(document, { childList: true, subtree: true, characterData: true });
}

/** The unread counts of the chat list, added up. */
const unreadShown = (page) =>
  page.evaluate(() =>
    [...document.querySelectorAll("ul.chat-list .unread-count .visually-hidden")].reduce(
      (sum, count) => sum + (Number.parseInt(count.textContent, 10) || 0),
      0,
    ),
  );

/**
 * CPU time (user + system, milliseconds) of the browser's processes so far,
 * by kind: the browser process itself, the renderer, the storage service
 * (IndexedDB), the network service, the GPU process, other utilities; from
 * /proc (Linux only, else empty).
 */
function browserCpu() {
  const cpu = {};
  let entries;
  try {
    entries = readdirSync("/proc").filter((name) => /^\d+$/.test(name));
  } catch {
    return cpu;
  }
  const parents = new Map();
  const times = new Map();
  for (const pid of entries) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      parents.set(Number(pid), Number(fields[1]));
      times.set(Number(pid), ((Number(fields[11]) + Number(fields[12])) * 1000) / 100);
    } catch {
      // Gone since the listing.
    }
  }
  // Chromium rewrites its processes' titles: arguments joined by spaces.
  const command = (pid) => readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
  // The browser process is this script's child (Playwright launches it).
  const roots = new Set(
    [...parents]
      .filter(([pid, parent]) => parent === process.pid && /chrom/i.test(command(pid).split(" ")[0]))
      .map(([pid]) => pid),
  );
  const descends = (pid) => {
    for (let at = pid; at > 1; at = parents.get(at) ?? 0) if (roots.has(at)) return true;
    return false;
  };
  for (const [pid, time] of times) {
    if (!descends(pid)) continue;
    let kind = "browser";
    if (!roots.has(pid)) {
      const args = command(pid);
      const type = args.match(/--type=(\S+)/)?.[1];
      const sub = args.match(/--utility-sub-type=(\S+)/)?.[1] ?? "";
      kind =
        type === "utility"
          ? sub.includes("Storage")
            ? "storage"
            : sub.includes("Network")
              ? "network"
              : "utility"
          : type === "gpu-process"
            ? "gpu"
            : (type ?? "other");
    }
    cpu[kind] = (cpu[kind] ?? 0) + time;
  }
  return cpu;
}

/** Milliseconds during which at least one of `writes` was in flight. */
function busy(writes) {
  let total = 0;
  let until = -Infinity;
  for (const { created, done } of [...writes].sort((a, b) => a.created - b.created)) {
    const start = Math.max(created, until);
    if (done > start) total += done - start;
    until = Math.max(until, done);
  }
  return total;
}

async function oneRun(dir, last) {
  const setup = JSON.parse(readFileSync(join(dir, "web-catch-up.json"), "utf8"));
  const { relay, address, web } = await startRelay(join(dir, setup.data), {
    listen: setup.listen,
    options: setup.relayOptions,
  });
  if (address !== setup.relay) throw new Error(`the relay came back as ${address}, not ${setup.relay}`);
  const browser = await launchBrowser();
  try {
    const context = await browser.newContext({ viewport: { width: 1100, height: 760 } });
    const failOnError = (page) =>
      page.on("pageerror", (error) => {
        console.error(`page error: ${error.message}`);
        process.exitCode = 1;
      });

    // The import (Argon2id, then every record sealed into IndexedDB) starts
    // the profile at once: its sockets are closed as they open, so that the
    // catch-up waits for the unlock below.
    const importer = await context.newPage();
    failOnError(importer);
    await importer.routeWebSocket(/.*/, (socket) => socket.close());
    await importer.goto(web);
    await importer.getByRole("tab", { name: "Import an archive" }).click();
    await importer.locator('input[type="file"]').setInputFiles(join(dir, setup.archive));
    await importer.getByLabel("The archive's passphrase").fill(setup.passphrase);
    const importStart = Date.now();
    await importer.getByRole("button", { name: "Import", exact: true }).click();
    await importer
      .locator("ul.chat-list > li")
      .nth(setup.contacts - 1)
      .waitFor({ timeout: long });
    const importMs = Date.now() - importStart;
    await importer.close();
    log(`imported the receiver in ${ms(importMs)}`);

    const page = await context.newPage();
    failOnError(page);
    await page.addInitScript(instrument, setup.messages);
    await page.goto(web);
    const passphrase = page.locator("main.unlock input[type=password]");
    await passphrase.waitFor({ timeout: long });
    await passphrase.fill(setup.passphrase);
    const cdp = profile && last ? await context.newCDPSession(page) : null;
    if (cdp) {
      await cdp.send("Profiler.enable");
      await cdp.send("Profiler.setSamplingInterval", { interval: 500 });
      await cdp.send("Profiler.start");
    }
    const categories = (process.env.SOTTO_TRACE_CATEGORIES ?? "devtools.timeline").split(",");
    if (trace && last) await browser.startTracing(page, { path: trace, categories });
    const load = loadavg()[0];
    const cpuBefore = browserCpu();
    await page.getByRole("button", { name: "Unlock" }).click();
    await page.waitForFunction(() => window.__sottoCatchUp.shownFrame !== undefined, null, {
      timeout: long,
      polling: 100,
    });
    const shownAfter = await page.evaluate(() => window.__sottoCatchUp.shownFrame - window.__sottoCatchUp.submit);
    log(`all ${setup.messages} shown ${s(shownAfter)} after the unlock; waiting for the write that holds the last`);
    // Stored: the first write opened once every message was shown holds
    // whatever of them the earlier writes did not (the bridge seals all the
    // core's changes into each write, and IndexedDB commits writes in
    // order); or, when no write follows, the last one.
    const stored = await page.waitForFunction(
      () => {
        const marks = window.__sottoCatchUp;
        const after = marks.writes.find((write) => write.created >= marks.shown);
        if (after) return after.done ?? after.failed ?? false;
        const quiet = performance.now() - marks.shown > 3000;
        return quiet && (marks.writes.at(-1)?.done ?? false);
      },
      null,
      { timeout: long, polling: 50 },
    );
    const storedAt = await stored.jsonValue();
    const cpuAfter = browserCpu();
    const cpu = Object.fromEntries(
      Object.entries(cpuAfter).map(([kind, time]) => [kind, time - (cpuBefore[kind] ?? 0)]),
    );
    let shares = null;
    if (cdp) {
      const { profile: samples } = await cdp.send("Profiler.stop");
      writeFileSync(`${profile}-catch-up.cpuprofile`, JSON.stringify(samples));
      summarizeProfile("catch-up", samples, log, 30);
      shares = profileShares(samples);
    }
    if (trace && last) summarizeTraceSelf("catch-up", JSON.parse(await browser.stopTracing()), log, 40);
    const marks = await page.evaluate(() => window.__sottoCatchUp);
    if (marks.writes.some((write) => write.failed !== undefined)) throw new Error("an IndexedDB write failed");
    const socket = marks.sockets[0];
    const during = marks.writes.filter((write) => write.created >= marks.submit && write.created <= storedAt);
    const durations = during.map((write) => write.done - write.created);

    // What IndexedDB holds: the page again, unlocked, its unread counts.
    await page.reload();
    await passphrase.waitFor({ timeout: long });
    await passphrase.fill(setup.passphrase);
    await page.getByRole("button", { name: "Unlock" }).click();
    await page
      .locator("ul.chat-list > li")
      .nth(setup.contacts - 1)
      .waitFor({ timeout: long });
    const reread = await unreadShown(page);
    if (reread !== setup.messages) {
      throw new Error(`after a reload the chat list shows ${reread} unread messages, not ${setup.messages}`);
    }
    return {
      messages: setup.messages,
      importMs,
      load,
      loadAfter: loadavg()[0],
      shown: marks.shown - marks.submit,
      shownFrame: marks.shownFrame - marks.submit,
      stored: storedAt - marks.submit,
      socket: socket.created - marks.submit,
      open: socket.open - marks.submit,
      online: marks.online - marks.submit,
      firstIn: marks.firstIn - marks.submit,
      firstShown: marks.firstShown - marks.submit,
      sockets: marks.sockets.length,
      framesIn: marks.framesIn,
      bytesIn: marks.bytesIn,
      framesOut: marks.framesOut,
      writes: during.length,
      writeMedian: median(durations),
      writeMax: Math.max(...durations),
      writeBusy: busy(during),
      flushed: during.filter((write) => write.flushed).length,
      puts: during.reduce((sum, write) => sum + write.puts, 0),
      putBytes: during.reduce((sum, write) => sum + write.bytes, 0),
      shares,
      cpu,
    };
  } finally {
    await browser.close();
    relay.kill();
  }
}

const runDirs = readdirSync(root)
  .filter((name) => /^run-\d+$/.test(name))
  .sort((a, b) => Number(a.slice(4)) - Number(b.slice(4)))
  .map((name) => join(root, name));
if (runDirs.length === 0) throw new Error(`no run-N directories in ${root}`);
const results = [];
for (const [index, dir] of runDirs.entries()) {
  const run = await oneRun(dir, index === runDirs.length - 1);
  results.push(run);
  log(
    `run ${index + 1}: ${run.messages} messages shown ${s(run.shownFrame)} and stored ${s(run.stored)} after the unlock (relay socket at ${ms(run.socket)})`,
  );
}

const first = results[0];
console.log(
  `Web catch-up: ${first.messages} messages waiting on the relay, a profile imported into headless Chromium and unlocked`,
);
for (const [index, run] of results.entries()) {
  const catchUp = Math.max(run.stored, run.shownFrame);
  console.log(
    `  run ${index + 1}: unlock → all shown and stored ${s(catchUp)} (${(run.messages / (catchUp / 1000)).toFixed(0)} messages/s); load average ${run.load.toFixed(2)} → ${run.loadAfter.toFixed(2)}`,
  );
  console.log(
    `    unlock → socket ${ms(run.socket)}, → open ${ms(run.open)}, → online ${ms(run.online)}, → first frame in ${ms(run.firstIn)}, → first unread shown ${ms(run.firstShown)}, → all shown ${ms(run.shown)} (painted ${ms(run.shownFrame)}), → stored ${ms(run.stored)}`,
  );
  console.log(
    `    ${run.framesIn} frames in (${(run.bytesIn / 1048576).toFixed(1)} MiB), ${run.framesOut} out, ${run.sockets} socket(s); ${run.writes} IndexedDB writes (${run.flushed} of them durability "strict"; median ${ms(run.writeMedian)}, max ${ms(run.writeMax)}), one in flight ${s(run.writeBusy)} of the catch-up, ${run.puts} records put (${(run.putBytes / 1048576).toFixed(1)} MiB); import ${s(run.importMs)}`,
  );
  console.log(
    `    CPU of the browser's processes during it: ${Object.entries(run.cpu)
      .sort((a, b) => b[1] - a[1])
      .map(([kind, time]) => `${kind} ${s(time)}`)
      .join(", ")}`,
  );
  if (run.shares) {
    const total = Object.values(run.shares).reduce((a, b) => a + b, 0);
    const part = (name) => `${name} ${s(run.shares[name])} (${((100 * run.shares[name]) / total).toFixed(0)} %)`;
    console.log(`    main thread (CPU profile): ${["wasm", "script", "program", "gc", "idle"].map(part).join(", ")}`);
  }
}
const catchUps = results.map((run) => Math.max(run.stored, run.shownFrame));
console.log(
  `  median of ${results.length} runs: ${s(median(catchUps))} from the unlock to ${first.messages} messages shown and stored (${s(median(results.map((run) => run.stored - run.socket)))} from the relay socket)`,
);
console.log(`web-catch-up-bench ${JSON.stringify({ runs: results.length, catchUpMs: median(catchUps), results })}`);
