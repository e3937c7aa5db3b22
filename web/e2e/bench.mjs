// The web client's benchmark (run by `cargo xtask bench web`, see
// docs/benchmarks.md): what a page load transfers, how long a stored profile
// takes from page load to its chat list, and frame times while a long
// conversation scrolls. Figures go to stdout; nothing here asserts a time.
//
// Environment (set by `cargo xtask bench web`):
//   SOTTO_RELAY       the sotto-relay binary (release)
//   SOTTO_WEB         the production build of the web client (web/dist)
//   SOTTO_ARCHIVE     the profile to import (from sotto-seed-profile)
//   SOTTO_PASSPHRASE  its passphrase
//   SOTTO_BIG_CHAT    the name of the contact whose chat is scrolled
//   SOTTO_CHATS       the chats in the profile (default 50)
//   SOTTO_RUNS        page loads measured (default 5)
//   CHROMIUM          the browser (default /usr/bin/chromium)
//   SOTTO_PROFILE     optional: a path prefix for CPU profiles of the last
//                     unlock and of the scroll (PREFIX-unlock.cpuprofile,
//                     PREFIX-scroll.cpuprofile, for Chromium's DevTools);
//                     the functions with the most self time go to stderr
//   SOTTO_TRACE       optional: a file for a Chromium trace of the scroll
//                     (devtools.timeline, for DevTools' Performance panel);
//                     the main thread's time per kind of work goes to stderr

import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { extname, join, relative } from "node:path";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
import { median, quantile, summarizeProfile } from "./bench-stats.mjs";
import { launchBrowser, required, startRelay } from "./harness.mjs";

const webDir = required("SOTTO_WEB");
const archive = required("SOTTO_ARCHIVE");
const passphrase = required("SOTTO_PASSPHRASE");
const bigChat = required("SOTTO_BIG_CHAT");
const runs = Number(process.env.SOTTO_RUNS ?? 5);
const chats = Number(process.env.SOTTO_CHATS ?? 50);
const long = 300_000;
const trace = process.env.SOTTO_TRACE;

const kib = (bytes) => `${(bytes / 1024).toFixed(1)} KiB`;
const ms = (value) => `${value.toFixed(0)} ms`;
const log = (line) => console.error(`web bench: ${line}`);

/** Time of the renderer's main thread per kind of work in a trace, on stderr. */
function summarizeTrace({ traceEvents }) {
  const main = traceEvents.find((event) => event.name === "thread_name" && event.args?.name === "CrRendererMain");
  const events = traceEvents.filter((event) => event.ph === "X" && event.pid === main?.pid && event.tid === main?.tid);
  const kinds = new Map();
  for (const event of events) kinds.set(event.name, (kinds.get(event.name) ?? 0) + (event.dur ?? 0) / 1000);
  const start = Math.min(...events.map((event) => event.ts));
  const end = Math.max(...events.map((event) => event.ts + (event.dur ?? 0)));
  log(`trace of the scroll: main thread over ${ms((end - start) / 1000)} (times include nested work)`);
  for (const [name, time] of [...kinds.entries()].sort((a, b) => b[1] - a[1]).slice(0, 20)) {
    log(`  ${ms(time).padStart(8)}  ${name}`);
  }
}

const worst = (values) => Math.max(...values);

// 1. The production build's assets: raw, gzip -9 and the precompressed files
//    the relay serves (.gz, .br) beside them.
function assetSizes() {
  const walk = (dir) =>
    readdirSync(dir).flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? walk(path) : [path];
    });
  const kinds = { ".wasm": "wasm", ".js": "JS", ".css": "CSS", ".html": "HTML" };
  const rows = [];
  for (const path of walk(webDir)) {
    const kind = kinds[extname(path)];
    // The invitation pages are copies of index.html: a page load fetches one.
    if (!kind || /(^|\/)(invite|contact)\//.test(relative(webDir, path))) continue;
    const bytes = readFileSync(path);
    const precompressed = (suffix) => {
      try {
        return statSync(`${path}${suffix}`).size;
      } catch {
        return null;
      }
    };
    rows.push({
      file: relative(webDir, path),
      kind,
      raw: bytes.length,
      gzip: gzipSync(bytes, { level: 9 }).length,
      brotli: brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
      servedGz: precompressed(".gz"),
      servedBr: precompressed(".br"),
    });
  }
  return rows;
}

const startLoad = loadavg();
const sizes = assetSizes();
const code = sizes.filter((row) => row.kind !== "HTML");
const sum = (rows, field) => rows.reduce((total, row) => total + (row[field] ?? 0), 0);

const work = mkdtempSync(join(tmpdir(), "sotto-web-bench-"));
const { relay, web } = await startRelay(join(work, "relay"));
const browser = await launchBrowser();
const results = { sizes, loads: [], coldLoads: [] };
try {
  const context = await browser.newContext({ viewport: { width: 1100, height: 760 } });
  // Marks taken inside the page, on its own clock (performance.now(), from
  // navigation start): the lock screen and the chat list as they enter the
  // DOM and as the next frame starts, and the unlock form's submission.
  await context.addInitScript((chats) => {
    const marks = {};
    window.__sottoMarks = marks;
    const frame = (name) => requestAnimationFrame(() => (marks[`${name}Frame`] ??= performance.now()));
    new MutationObserver(() => {
      if (marks.lock === undefined && document.querySelector("main.unlock input[type=password]")) {
        marks.lock = performance.now();
        frame("lock");
      }
      if (marks.list === undefined && document.querySelectorAll("ul.chat-list > li").length >= chats) {
        marks.list = performance.now();
        frame("list");
      }
    }).observe(document, { childList: true, subtree: true });
    document.addEventListener("submit", () => (marks.submit ??= performance.now()), true);
  }, chats);
  const page = await context.newPage();
  page.on("pageerror", (error) => {
    console.error(`page error: ${error.message}`);
    process.exitCode = 1;
  });
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");

  // Bytes on the wire per response, as the browser counts them (headers and
  // encoded body), for the current navigation.
  let transfers = [];
  const pending = new Map();
  cdp.on("Network.responseReceived", ({ requestId, response, type }) =>
    pending.set(requestId, {
      url: response.url,
      type,
      encoding: response.headers["content-encoding"] ?? response.headers["Content-Encoding"] ?? "",
      fromCache: response.fromDiskCache || response.fromServiceWorker || response.fromPrefetchCache,
    }),
  );
  cdp.on("Network.loadingFinished", ({ requestId, encodedDataLength }) => {
    const response = pending.get(requestId);
    if (response) transfers.push({ ...response, bytes: encodedDataLength });
  });

  // First visit: import the profile (the archive's Argon2id, then every record
  // sealed into IndexedDB).
  transfers = [];
  await page.goto(web);
  await page.getByRole("tab", { name: "Import an archive" }).click();
  await page.locator('input[type="file"]').setInputFiles(archive);
  await page.getByLabel("The archive's passphrase").fill(passphrase);
  const importStart = Date.now();
  await page.getByRole("button", { name: "Import", exact: true }).click();
  await page
    .locator("ul.chat-list > li")
    .nth(chats - 1)
    .waitFor({ timeout: long });
  results.importMs = Date.now() - importStart;
  results.firstVisit = transfers;
  log(`imported the profile in ${ms(results.importMs)}`);

  const profile = process.env.SOTTO_PROFILE;
  async function startProfile() {
    await cdp.send("Profiler.enable");
    await cdp.send("Profiler.setSamplingInterval", { interval: 200 });
    await cdp.send("Profiler.start");
  }
  async function stopProfile(what) {
    const { profile: samples } = await cdp.send("Profiler.stop");
    writeFileSync(`${profile}-${what}.cpuprofile`, JSON.stringify(samples));
    summarizeProfile(what, samples, log);
  }

  async function measuredLoad(profiled = false) {
    transfers = [];
    await page.reload();
    await page.locator("main.unlock input[type=password]").waitFor({ timeout: long });
    await page.locator("main.unlock input[type=password]").fill(passphrase);
    if (profiled) await startProfile();
    await page.getByRole("button", { name: "Unlock" }).click();
    await page
      .locator("ul.chat-list > li")
      .nth(chats - 1)
      .waitFor({ timeout: long });
    if (profiled) await stopProfile("unlock");
    await page.waitForFunction(() => window.__sottoMarks.listFrame !== undefined);
    const marks = await page.evaluate(() => window.__sottoMarks);
    return { ...marks, transfers };
  }

  // Reloads with the browser's cache as a returning visitor has it, then with
  // the cache disabled (every asset fetched again).
  for (let run = 0; run < runs; run += 1) {
    const load = await measuredLoad(profile !== undefined && run === runs - 1);
    results.loads.push(load);
    log(`reload ${run + 1}: lock screen ${ms(load.lockFrame)}, unlock → chat list ${ms(load.listFrame - load.submit)}`);
  }
  await cdp.send("Network.setCacheDisabled", { cacheDisabled: true });
  for (let run = 0; run < runs; run += 1) {
    const load = await measuredLoad();
    results.coldLoads.push(load);
    log(
      `reload without cache ${run + 1}: lock screen ${ms(load.lockFrame)}, unlock → chat list ${ms(load.listFrame - load.submit)}`,
    );
  }
  await cdp.send("Network.setCacheDisabled", { cacheDisabled: false });

  // 3. The conversation with the long history, scrolled from its latest
  //    message to its first by wheel events, as fast as they are dispatched.
  await page.locator("ul.chat-list").getByText(bigChat, { exact: true }).first().click();
  const scroller = page.locator(".message-scroller");
  await scroller.locator(".row").first().waitFor({ timeout: long });
  await scroller.hover();
  // The floor: frame times of the same page left alone for 5 s, which show
  // what the machine's other load alone does to frames.
  results.idleDeltas = await page.evaluate(
    () =>
      new Promise((resolve) => {
        const deltas = [];
        let last = performance.now();
        const end = last + 5000;
        const tick = (now) => {
          deltas.push(now - last);
          last = now;
          if (now < end) requestAnimationFrame(tick);
          else resolve(deltas.slice(1));
        };
        requestAnimationFrame(tick);
      }),
  );
  // Frame deltas, long tasks and the list's size from `watchFrames()` to
  // `collectFrames()`.
  const watchFrames = () =>
    page.evaluate(() => {
      const watch = {
        deltas: [],
        longTasks: [],
        rows: 0,
        listNodes: 0,
        documentNodes: 0,
        pages: 0,
        longFramesWithPage: 0,
        running: true,
      };
      window.__sottoScroll = watch;
      let last = performance.now();
      const tick = (now) => {
        const delta = now - last;
        watch.deltas.push(delta);
        last = now;
        const list = document.querySelector(".message-scroller");
        // A page of older history arrived: the rows on screen moved down
        // the list by the page's length (while scrolling up, they move up).
        const position = Number(list?.querySelector(".row:last-child")?.getAttribute("aria-posinset") ?? 0);
        if (watch.position !== undefined && position >= watch.position + 50) {
          watch.pages += 1;
          if (delta > 50) watch.longFramesWithPage += 1;
        }
        watch.position = position;
        if (list) {
          watch.rows = Math.max(watch.rows, list.querySelectorAll(".row").length);
          watch.listNodes = Math.max(watch.listNodes, list.getElementsByTagName("*").length);
        }
        watch.documentNodes = Math.max(watch.documentNodes, document.getElementsByTagName("*").length);
        if (watch.running) requestAnimationFrame(tick);
      };
      requestAnimationFrame(tick);
      watch.observer = new PerformanceObserver((entries) => {
        for (const entry of entries.getEntries()) watch.longTasks.push(entry.duration);
      });
      watch.observer.observe({ type: "longtask" });
    });
  const collectFrames = async () => {
    const watch = await page.evaluate(() => {
      const { observer, ...watch } = window.__sottoScroll;
      watch.running = false;
      window.__sottoScroll.running = false;
      observer.disconnect();
      return watch;
    });
    return { ...watch, deltas: watch.deltas.slice(1) };
  };

  // First at a person's pace for 15 s: one 100 px wheel step (a mouse wheel's
  // notch) every 16 ms at most.
  await watchFrames();
  const pacedStart = Date.now();
  let pacedWheels = 0;
  while (Date.now() - pacedStart < 15_000) {
    await page.mouse.wheel(0, -100);
    pacedWheels += 1;
    await page.waitForTimeout(16);
  }
  const pacedMs = Date.now() - pacedStart;
  results.paced = { ms: pacedMs, wheels: pacedWheels, ...(await collectFrames()) };

  // Then as fast as wheel events go, to the first message.
  await watchFrames();
  if (profile) await startProfile();
  if (trace) await browser.startTracing(page, { path: trace, categories: ["devtools.timeline"] });
  const scrollStart = Date.now();
  const atTop = () =>
    page.evaluate(() => {
      const list = document.querySelector(".message-scroller");
      return {
        top: list.scrollTop,
        height: list.scrollHeight,
        first: list.querySelector('.row[aria-posinset="1"]') !== null && list.scrollTop < 1,
      };
    });
  let wheels = 0;
  let state = await atTop();
  const startHeight = state.height;
  while (!state.first && Date.now() - scrollStart < long) {
    for (let burst = 0; burst < 10; burst += 1) {
      await page.mouse.wheel(0, -500);
      wheels += 1;
    }
    state = await atTop();
  }
  const scrollMs = Date.now() - scrollStart;
  const watch = await collectFrames();
  if (profile) await stopProfile("scroll");
  if (trace) summarizeTrace(JSON.parse(await browser.stopTracing()));
  const loadedItems = await page.evaluate(
    () => document.querySelector(".message-scroller .row")?.getAttribute("aria-setsize") ?? "?",
  );
  results.scroll = {
    reachedFirst: state.first,
    ms: scrollMs,
    wheels,
    startHeight,
    endHeight: state.height,
    items: loadedItems,
    ...watch,
  };
  await context.close();
} finally {
  await browser.close();
  relay.kill();
  rmSync(work, { recursive: true, force: true });
}

// The summary, on stdout.
const out = (line = "") => console.log(line);
out("== Web client benchmark ==");
out(
  `Load average at the start: ${startLoad.map((load) => load.toFixed(2)).join(", ")}; at the end: ${loadavg()
    .map((load) => load.toFixed(2))
    .join(", ")}`,
);
out("");
out("Assets of the production build (wasm + JS + CSS; HTML apart):");
for (const row of sizes) {
  out(
    `  ${row.file.padEnd(40)} ${row.kind.padEnd(5)} raw ${kib(row.raw).padStart(11)}  gzip -9 ${kib(row.gzip).padStart(10)}  brotli ${kib(row.brotli).padStart(10)}  served .gz ${row.servedGz === null ? "-" : kib(row.servedGz)}  .br ${row.servedBr === null ? "-" : kib(row.servedBr)}`,
  );
}
out(
  `  total wasm + JS + CSS: raw ${kib(sum(code, "raw"))}, gzip ${kib(sum(code, "gzip"))} (target ≤ 1536 KiB), brotli ${kib(sum(code, "brotli"))}; served precompressed: .gz ${kib(sum(code, "servedGz"))}, .br ${kib(sum(code, "servedBr"))}`,
);
const wire = (list) => {
  const fresh = list.filter((entry) => !entry.fromCache);
  const codeBytes = fresh
    .filter((entry) => /\.(wasm|js|css)$/.test(new URL(entry.url).pathname))
    .reduce((total, entry) => total + entry.bytes, 0);
  const all = fresh.reduce((total, entry) => total + entry.bytes, 0);
  return {
    codeBytes,
    all,
    count: list.length,
    encodings: [...new Set(fresh.map((entry) => entry.encoding || "identity"))],
  };
};
const first = wire(results.firstVisit);
out(
  `Transferred on the first visit (Chromium's encodedDataLength, headers included): ${kib(first.all)} in ${first.count} responses, of which wasm + JS + CSS ${kib(first.codeBytes)}; content encodings: ${first.encodings.join(", ")}`,
);
for (const entry of results.firstVisit)
  out(
    `    ${entry.type.padEnd(10)} ${entry.encoding.padEnd(4) || "-   "} ${kib(entry.bytes).padStart(10)}  ${new URL(entry.url).pathname}`,
  );
const warm = wire(results.loads.at(-1).transfers);
const cold = wire(results.coldLoads.at(-1).transfers);
out(`Transferred on a reload with the cache: ${kib(warm.all)}; with the cache disabled: ${kib(cold.all)}`);
out("");
out(`Stored profile: ${bigChat}'s chat and the others, imported in ${ms(results.importMs)}`);
for (const [title, loads] of [
  ["reload, browser cache kept", results.loads],
  ["reload, cache disabled", results.coldLoads],
]) {
  const lock = loads.map((load) => load.lockFrame);
  const unlock = loads.map((load) => load.listFrame - load.submit);
  const listDom = loads.map((load) => load.list - load.submit);
  out(`Page load (${title}), ${loads.length} runs:`);
  out(`  navigation start → lock screen painted: median ${ms(median(lock))}, worst ${ms(worst(lock))}`);
  out(
    `  passphrase submitted → chat list of ${chats} painted (Argon2id, open, list): median ${ms(median(unlock))}, worst ${ms(worst(unlock))} (in the DOM: median ${ms(median(listDom))})`,
  );
  const total = loads.map((load) => load.lockFrame + (load.listFrame - load.submit));
  out(
    `  both together (typing time left out): median ${ms(median(total))}, worst ${ms(worst(total))} (target ≤ 1000 ms)`,
  );
}
out("");
const scroll = results.scroll;
const deltas = scroll.deltas;
const paced = results.paced;
out(`Scrolling ${bigChat}'s chat (${scroll.items} items once all loaded) up from its latest message:`);
out(
  `  at a person's pace, ${paced.wheels} wheel events of 100 px in ${ms(paced.ms)} (${((paced.wheels * 100) / (paced.ms / 1000)).toFixed(0)} px/s): frame time p50 ${quantile(paced.deltas, 0.5).toFixed(1)} ms, p95 ${quantile(paced.deltas, 0.95).toFixed(1)} ms, max ${worst(paced.deltas).toFixed(1)} ms; frames over 50 ms: ${paced.deltas.filter((delta) => delta > 50).length} of ${paced.deltas.length}; long tasks: ${paced.longTasks.length}; pages of older history loaded: ${paced.pages}, during ${paced.longFramesWithPage} of the frames over 50 ms`,
);
out(
  `  then as fast as wheel events go, to the first message (${scroll.reachedFirst ? "reached" : "NOT reached"}): ${scroll.wheels} wheel events of 500 px in ${ms(scroll.ms)} (${((scroll.wheels * 500) / (scroll.ms / 1000)).toFixed(0)} px/s), list height ${scroll.startHeight} → ${scroll.endHeight} px`,
);
out(
  `  frame time (requestAnimationFrame deltas, ${deltas.length} frames): p50 ${deltas.length ? quantile(deltas, 0.5).toFixed(1) : "-"} ms, p95 ${deltas.length ? quantile(deltas, 0.95).toFixed(1) : "-"} ms, max ${deltas.length ? worst(deltas).toFixed(1) : "-"} ms; frames over 50 ms: ${deltas.filter((delta) => delta > 50).length}, ${scroll.longFramesWithPage} of them as a page of older history arrived (${scroll.pages} pages)`,
);
const idle = results.idleDeltas;
out(
  `  the same page idle for 5 s (the floor the machine's load sets): p50 ${quantile(idle, 0.5).toFixed(1)} ms, p95 ${quantile(idle, 0.95).toFixed(1)} ms, max ${worst(idle).toFixed(1)} ms`,
);
out(
  `  long tasks (> 50 ms): ${scroll.longTasks.length}, longest ${scroll.longTasks.length ? worst(scroll.longTasks).toFixed(0) : 0} ms, total ${scroll.longTasks.reduce((a, b) => a + b, 0).toFixed(0)} ms`,
);
out(
  `  DOM: at most ${scroll.rows} rows and ${scroll.listNodes} elements in the list, ${scroll.documentNodes} elements in the page`,
);
