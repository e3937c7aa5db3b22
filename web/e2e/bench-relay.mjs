// The web client over a real relay (run by `cargo xtask bench web` after
// bench.mjs, see docs/benchmarks.md): how long a page takes to open its relay
// connection (WebSocket and sotto handshake until the page shows "online"),
// and the time a message takes between two browser profiles connected to each
// other through the relay, one at a time and in a burst. Each run starts a
// fresh relay, browser and pair of profiles; the summary gives every run and
// the medians over the runs, and ends with one JSON line. Figures go to
// stdout; nothing here asserts a time.
//
// Environment (set by `cargo xtask bench web`):
//   SOTTO_RELAY         the sotto-relay binary (release)
//   SOTTO_WEB           the production build of the web client (web/dist)
//   CHROMIUM            the browser (default /usr/bin/chromium)
//   SOTTO_CLIENT_BENCH  optional: sotto-client-bench, run after each run with
//                       the same message counts, for two native clients
//   SOTTO_RELAY_RUNS    runs (default 3)
//   SOTTO_CONNECTS      connections opened per run (default 5)
//   SOTTO_MESSAGES      messages one at a time per run (default 50, after 5
//                       not counted)
//   SOTTO_BURST         messages of the burst per run (default 200)
//   SOTTO_PROFILE       optional: a path prefix for CPU profiles of both pages
//                       during the last run's messages one at a time
//                       (PREFIX-sender.cpuprofile, PREFIX-recipient.cpuprofile)
//                       and during its burst (PREFIX-burst-sender…);
//                       the functions with the most self time go to stderr

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { median, quantile, summarizeProfile } from "./bench-stats.mjs";
import {
  connectWith,
  createProfile,
  invitationLink,
  launchBrowser,
  openChat,
  required,
  startRelay,
  timeout,
  unlock,
} from "./harness.mjs";

required("SOTTO_RELAY");
const runs = Number(process.env.SOTTO_RELAY_RUNS ?? 3);
const connects = Number(process.env.SOTTO_CONNECTS ?? 5);
const messages = Number(process.env.SOTTO_MESSAGES ?? 50);
const warmup = 5;
const burst = Number(process.env.SOTTO_BURST ?? 200);
const clientBench = process.env.SOTTO_CLIENT_BENCH;
const profile = process.env.SOTTO_PROFILE;
/** Bytes of each message's text, as sotto-client-bench's default. */
const textSize = 100;
const long = 300_000;

const log = (line) => console.error(`web relay bench: ${line}`);
const fixed = (value) => (Number.isFinite(value) ? value.toFixed(1) : "-");

/** A message's text: a token the pages look for, padded to `textSize` bytes. */
const text = (token) => `${token} `.padEnd(textSize, "x");

/**
 * Installed in every page before its scripts: marks on the pages' shared
 * clock (`performance.timeOrigin + performance.now()`, milliseconds since
 * the epoch) for the relay socket (created, open, its first frames), the
 * bridge's `sotto-relay-online` performance mark, the connection status shown
 * as online, and, per message token, Enter pressed
 * in the compose box, the message in the sender's list and its ticks, and
 * the message in the recipient's list or chat list.
 */
function instrument() {
  const now = () => performance.timeOrigin + performance.now();
  const marks = {
    sockets: [],
    handshake: undefined,
    online: undefined,
    submit: undefined,
    sent: {},
    echoed: {},
    delivered: {},
    read: {},
    shown: {},
    shownFrame: {},
    writes: [],
  };
  window.__sottoBench = marks;
  const Native = window.WebSocket;
  const maxFrames = 10_000;
  // The bridge opens its socket with `new WebSocket(url)`: the subclass
  // notes when, and when each frame goes out or comes in (before the bridge
  // sees it).
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      const socket = { created: now(), frames: [] };
      this.__sottoSocket = socket;
      marks.sockets.push(socket);
      this.addEventListener("open", () => (socket.open = now()));
      this.addEventListener("message", (event) => {
        if (socket.frames.length < maxFrames) socket.frames.push({ at: now(), in: event.data?.byteLength ?? 0 });
      });
    }
    send(data) {
      const socket = this.__sottoSocket;
      if (socket.frames.length < maxFrames) socket.frames.push({ at: now(), out: data?.byteLength ?? 0 });
      super.send(data);
    }
  };
  // Every IndexedDB write, from its transaction's creation to its commit:
  // the bridge sends nothing a call produced before that call's write is in.
  const transaction = IDBDatabase.prototype.transaction;
  IDBDatabase.prototype.transaction = function (...args) {
    const opened = transaction.apply(this, args);
    if (args[1] === "readwrite") {
      const start = now();
      opened.addEventListener("complete", () => {
        if (marks.writes.length < maxFrames) marks.writes.push({ start, end: now() });
      });
    }
    return opened;
  };
  // The bridge's mark when it reports the link online (the handshake done).
  new PerformanceObserver((entries) => {
    for (const entry of entries.getEntries())
      if (entry.name === "sotto-relay-online") marks.handshake ??= performance.timeOrigin + entry.startTime;
  }).observe({ type: "mark" });
  const token = /\b(?:warm|lat|burst)-\d+\b/;
  document.addEventListener("submit", () => (marks.submit ??= now()), true);
  document.addEventListener(
    "keydown",
    (event) => {
      if (event.key !== "Enter" || !(event.target instanceof HTMLTextAreaElement)) return;
      const found = event.target.value.match(token);
      if (found) marks.sent[found[0]] ??= now();
    },
    true,
  );
  new MutationObserver(() => {
    const at = now();
    if (marks.online === undefined && document.querySelector(".connection.online")) marks.online = at;
    for (const row of document.querySelectorAll(".message-scroller .row, ul.chat-list > li")) {
      const found = row.textContent.match(token);
      if (!found) continue;
      const key = found[0];
      const tick = row.querySelector("svg.tick");
      if (row.matches(".row") && tick) {
        marks.echoed[key] ??= at;
        if (tick.matches(".delivered, .read")) marks.delivered[key] ??= at;
        if (tick.matches(".read")) marks.read[key] ??= at;
      } else if (row.matches(".row") && marks.shown[key] === undefined) {
        marks.shown[key] = at;
        requestAnimationFrame(() => (marks.shownFrame[key] ??= now()));
      }
    }
  }).observe(document, { childList: true, subtree: true, attributes: true, attributeFilter: ["class"] });
}

/** A page in a fresh browser context, instrumented; browser errors fail the run. */
async function openInstrumented(browser, url) {
  const context = await browser.newContext({ viewport: { width: 1100, height: 760 } });
  await context.addInitScript(instrument);
  const page = await context.newPage();
  page.on("pageerror", (error) => {
    console.error(`page error: ${error.message}`);
    process.exitCode = 1;
  });
  await page.goto(url);
  return page;
}

const marksOf = (page) => page.evaluate(() => window.__sottoBench);

/**
 * How far `page`'s clock (timeOrigin + now) is from this process's, from the
 * round trip with the smallest delay of 20.
 */
async function clockOffset(page) {
  let best = { delay: Infinity, offset: 0 };
  for (let i = 0; i < 20; i += 1) {
    const before = performance.timeOrigin + performance.now();
    const inPage = await page.evaluate(() => performance.timeOrigin + performance.now());
    const after = performance.timeOrigin + performance.now();
    if (after - before < best.delay) best = { delay: after - before, offset: inPage - (before + after) / 2 };
  }
  return best;
}

/** Reloads `page`, unlocks it and waits until it is online; the marks of that connection. */
async function measuredConnect(page, passphrase) {
  await page.reload();
  await unlock(page, passphrase);
  await page.waitForFunction(() => window.__sottoBench.online !== undefined, null, { timeout });
  const marks = await marksOf(page);
  const socket = marks.sockets.at(-1);
  const firstOut = socket.frames.find((frame) => frame.out !== undefined);
  const firstIn = socket.frames.find((frame) => frame.in !== undefined);
  return {
    sockets: marks.sockets.length,
    unlockToSocket: socket.created - marks.submit,
    socketToOpen: socket.open - socket.created,
    openToFirstFrameIn: firstIn ? firstIn.at - socket.open : NaN,
    openToHandshake: marks.handshake - socket.open,
    handshakeToShown: marks.online - marks.handshake,
    socketToHandshake: marks.handshake - socket.created,
    unlockToOnline: marks.online - marks.submit,
    frames: socket.frames
      .slice(0, 6)
      .map((frame) =>
        frame.in !== undefined
          ? `in ${frame.in} B at +${(frame.at - socket.created).toFixed(1)}`
          : `out ${frame.out} B at +${(frame.at - socket.created).toFixed(1)}`,
      ),
    firstOut: firstOut?.out,
  };
}

/** Types `token`'s text in `chat` and presses Enter; waits for it at the recipient and for its read tick. */
async function sendOne(sender, recipient, chat, contact, token) {
  const compose = chat.getByLabel(`Message to ${contact}`);
  await compose.fill(text(token));
  await compose.press("Enter");
  await recipient.waitForFunction((key) => window.__sottoBench.shownFrame[key] !== undefined, token, { timeout });
  await sender.waitForFunction((key) => window.__sottoBench.read[key] !== undefined, token, { timeout });
}

/** Sends `count` messages from inside the page, each as soon as the compose box took the previous one. */
function sendBurst(page, count) {
  return page.evaluate(
    async ({ count, textSize }) => {
      const area = document.querySelector("textarea[aria-label^='Message to']");
      const setValue = Object.getOwnPropertyDescriptor(HTMLTextAreaElement.prototype, "value").set;
      // The compose box reads its text from its last render: one task for the
      // input to render, one for the Enter.
      const yieldTask = () => new Promise((resolve) => setTimeout(resolve, 0));
      for (let index = 0; index < count; index += 1) {
        setValue.call(area, `burst-${index} `.padEnd(textSize, "x"));
        area.dispatchEvent(new Event("input", { bubbles: true }));
        await yieldTask();
        area.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true, cancelable: true }));
        await yieldTask();
      }
    },
    { count, textSize },
  );
}

async function cdpProfile(page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Profiler.enable");
  await cdp.send("Profiler.setSamplingInterval", { interval: 200 });
  await cdp.send("Profiler.start");
  return async (what) => {
    const { profile: samples } = await cdp.send("Profiler.stop");
    writeFileSync(`${profile}-${what}.cpuprofile`, JSON.stringify(samples));
    summarizeProfile(what, samples, log);
  };
}

/** One run: a fresh relay, browser and pair of profiles. */
async function browserRun(last) {
  const work = mkdtempSync(join(tmpdir(), "sotto-web-relay-bench-"));
  const { relay, web } = await startRelay(join(work, "relay"));
  const browser = await launchBrowser();
  try {
    const alice = await openInstrumented(browser, web);
    const bob = await openInstrumented(browser, web);
    await createProfile(alice, "Alice");
    await createProfile(bob, "Bob");
    await connectWith(bob, await invitationLink(alice));
    await alice.getByText("Bob").first().waitFor({ timeout });
    await bob.getByText("Alice").first().waitFor({ timeout });

    // Connections: Alice's page reloaded and unlocked, each time a new socket.
    const connections = [];
    for (let index = 0; index < connects; index += 1) {
      const connection = await measuredConnect(alice, "passphrase of Alice");
      connections.push(connection);
      log(
        `connection ${index + 1}: socket → open ${fixed(connection.socketToOpen)} ms, open → handshake done ${fixed(connection.openToHandshake)} ms (unlock → socket ${fixed(connection.unlockToSocket)} ms)`,
      );
    }

    // Messages one at a time, both chats open: Alice sends, Bob's list shows
    // it, Bob's page sends its delivery and read receipts, Alice's tick turns
    // to read; then the next.
    const aliceChat = await openChat(alice, "Bob");
    await openChat(bob, "Alice");
    const offsets = [await clockOffset(alice), await clockOffset(bob)];
    for (let index = 0; index < warmup; index += 1) await sendOne(alice, bob, aliceChat, "Bob", `warm-${index}`);
    const stopProfiles = last && profile ? await Promise.all([cdpProfile(alice), cdpProfile(bob)]) : null;
    for (let index = 0; index < messages; index += 1) await sendOne(alice, bob, aliceChat, "Bob", `lat-${index}`);
    if (stopProfiles) {
      await stopProfiles[0]("sender");
      await stopProfiles[1]("recipient");
    }
    const [sender, recipient] = [await marksOf(alice), await marksOf(bob)];
    const tokens = Array.from({ length: messages }, (_, index) => `lat-${index}`);
    const latency = {
      shown: tokens.map((key) => recipient.shown[key] - sender.sent[key]),
      shownFrame: tokens.map((key) => recipient.shownFrame[key] - sender.sent[key]),
      echoed: tokens.map((key) => sender.echoed[key] - sender.sent[key]),
      delivered: tokens.map((key) => sender.delivered[key] - sender.sent[key]),
      read: tokens.map((key) => sender.read[key] - sender.sent[key]),
    };
    // Where each message was: the sender's first frame out after Enter, the
    // recipient's first frame in after that.
    const framesOf = (marks, way) =>
      marks.sockets
        .at(-1)
        .frames.filter((frame) => frame[way] !== undefined)
        .map((frame) => frame.at);
    const senderOut = framesOf(sender, "out");
    const recipientIn = framesOf(recipient, "in");
    const after = (times, at) => times.find((time) => time >= at) ?? NaN;
    const legs = tokens.map((key) => {
      const out = after(senderOut, sender.sent[key]);
      const arrived = after(recipientIn, out);
      const write = sender.writes.find((entry) => entry.start >= sender.sent[key]) ?? { start: NaN, end: NaN };
      return { out, arrived, write, shown: recipient.shown[key], sent: sender.sent[key] };
    });
    latency.toWrite = legs.map((leg) => leg.write.start - leg.sent);
    latency.sendWrite = legs.map((leg) => leg.write.end - leg.write.start);
    latency.writeToOut = legs.map((leg) => leg.out - leg.write.end);
    latency.senderLeg = legs.map((leg) => leg.out - leg.sent);
    latency.relayLeg = legs.map((leg) => leg.arrived - leg.out);
    latency.recipientLeg = legs.map((leg) => leg.shown - leg.arrived);
    const writesDuring = (marks) =>
      marks.writes
        .filter((write) => write.start >= sender.sent[tokens[0]] && write.end <= recipient.shown[tokens.at(-1)])
        .map((write) => write.end - write.start);
    latency.senderWrites = writesDuring(sender);
    latency.recipientWrites = writesDuring(recipient);
    log(
      `${messages} messages: send → shown at the recipient median ${fixed(median(latency.shown))} ms, p90 ${fixed(quantile(latency.shown, 0.9))} ms`,
    );

    // The burst: Alice's page sends as fast as its compose box takes them.
    const stopBurstProfiles = last && profile ? await Promise.all([cdpProfile(alice), cdpProfile(bob)]) : null;
    await sendBurst(alice, burst);
    const lastToken = `burst-${burst - 1}`;
    await bob.waitForFunction((key) => window.__sottoBench.shown[key] !== undefined, lastToken, { timeout: long });
    if (stopBurstProfiles) {
      await stopBurstProfiles[0]("burst-sender");
      await stopBurstProfiles[1]("burst-recipient");
    }
    const [burstSender, burstRecipient] = [await marksOf(alice), await marksOf(bob)];
    const burstTokens = Array.from({ length: burst }, (_, index) => `burst-${index}`);
    const firstSent = burstSender.sent["burst-0"];
    const lastShown = Math.max(...burstTokens.map((key) => burstRecipient.shown[key] ?? -Infinity));
    const result = {
      connections,
      offsets,
      latency,
      burst: {
        ms: lastShown - firstSent,
        sendingMs: burstSender.sent[lastToken] - firstSent,
        seen: burstTokens.filter((key) => burstRecipient.shown[key] !== undefined).length,
      },
    };
    log(`burst of ${burst}: ${fixed(result.burst.ms)} ms to the last at the recipient`);
    return result;
  } finally {
    await browser.close();
    relay.kill();
    rmSync(work, { recursive: true, force: true });
  }
}

/** sotto-client-bench with this script's counts; its figures, parsed from its summary. */
function nativeRun() {
  return new Promise((resolve, reject) => {
    const child = spawn(
      clientBench,
      [
        "--relay",
        required("SOTTO_RELAY"),
        "--latency-messages",
        String(messages),
        "--warmup",
        String(warmup),
        "--burst",
        String(burst),
        "--text-size",
        String(textSize),
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    let out = "";
    child.stdout.on("data", (chunk) => (out += chunk));
    child.on("error", reject);
    child.on("exit", (code) => {
      if (code !== 0) return reject(new Error(`sotto-client-bench exited (${code})`));
      const latency = out.match(/p50 ([\d.]+) ms, p99 ([\d.]+) ms/);
      const rate = out.match(/([\d.]+) messages\/s/);
      resolve({ p50: Number(latency?.[1]), p99: Number(latency?.[2]), rate: Number(rate?.[1]), text: out.trim() });
    });
  });
}

const startLoad = loadavg();
const results = [];
for (let run = 0; run < runs; run += 1) {
  log(`run ${run + 1} of ${runs}`);
  const result = await browserRun(run === runs - 1);
  if (clientBench) result.native = await nativeRun();
  result.load = loadavg()[0];
  results.push(result);
}

// The summary, on stdout.
const out = (line = "") => console.log(line);
const perRun = results.map((result) => {
  const { connections, latency, burst: burstResult } = result;
  const pick = (field) => connections.map((connection) => connection[field]);
  return {
    socketToOpen: median(pick("socketToOpen")),
    openToHandshake: median(pick("openToHandshake")),
    socketToHandshake: median(pick("socketToHandshake")),
    handshakeToShown: median(pick("handshakeToShown")),
    unlockToOnline: median(pick("unlockToOnline")),
    shownP50: median(latency.shown),
    shownP90: quantile(latency.shown, 0.9),
    shownMax: Math.max(...latency.shown),
    shownFrameP50: median(latency.shownFrame),
    echoedP50: median(latency.echoed),
    deliveredP50: median(latency.delivered),
    deliveredP90: quantile(latency.delivered, 0.9),
    readP50: median(latency.read),
    senderLegP50: median(latency.senderLeg),
    relayLegP50: median(latency.relayLeg),
    recipientLegP50: median(latency.recipientLeg),
    senderWriteP50: median(latency.senderWrites),
    toWriteP50: median(latency.toWrite),
    sendWriteP50: median(latency.sendWrite),
    writeToOutP50: median(latency.writeToOut),
    senderWrites: latency.senderWrites.length,
    recipientWriteP50: median(latency.recipientWrites),
    recipientWrites: latency.recipientWrites.length,
    burstMs: burstResult.ms,
    burstRate: (1000 * burst) / burstResult.ms,
    burstSendingMs: burstResult.sendingMs,
    burstSeen: burstResult.seen,
    nativeP50: result.native?.p50,
    nativeP99: result.native?.p99,
    nativeRate: result.native?.rate,
    clockDifference: result.offsets[1].offset - result.offsets[0].offset,
    load: result.load,
  };
});
const over = (field) => median(perRun.map((run) => run[field]).filter((value) => value !== undefined));
out("== Web client over a relay ==");
out(
  `Load average at the start: ${startLoad.map((load) => load.toFixed(2)).join(", ")}; at the end: ${loadavg()
    .map((load) => load.toFixed(2))
    .join(", ")}`,
);
out(
  `${runs} runs, each: a fresh relay, Chromium and two profiles; ${connects} connections, ${messages} messages one at a time (after ${warmup}), a burst of ${burst}; ${textSize}-byte texts`,
);
const sample = results.at(-1).connections.at(-1);
out(`The last connection's first frames (ms from the socket's creation): ${sample.frames.join(", ")}`);
perRun.forEach((run, index) => {
  out(`Run ${index + 1} (load average ${run.load.toFixed(2)} after it):`);
  out(
    `  connection (median of ${connects}): socket created → open ${fixed(run.socketToOpen)} ms, open → handshake done (the bridge reports online) ${fixed(run.openToHandshake)} ms, together ${fixed(run.socketToHandshake)} ms; then → "online" in the page ${fixed(run.handshakeToShown)} ms; unlock submitted → online in the page ${fixed(run.unlockToOnline)} ms`,
  );
  out(
    `  one at a time (${messages}): Enter → in the recipient's list median ${fixed(run.shownP50)} ms, p90 ${fixed(run.shownP90)} ms, max ${fixed(run.shownMax)} ms (painted: median ${fixed(run.shownFrameP50)} ms); Enter → in the sender's list ${fixed(run.echoedP50)} ms, → delivered tick median ${fixed(run.deliveredP50)} ms, p90 ${fixed(run.deliveredP90)} ms, → read tick ${fixed(run.readP50)} ms`,
  );
  out(
    `  where a message was (medians): Enter → its frame out of the sender ${fixed(run.senderLegP50)} ms, → into the recipient ${fixed(run.relayLegP50)} ms (the relay), → in the recipient's list ${fixed(run.recipientLegP50)} ms; an IndexedDB write (transaction created → committed) median ${fixed(run.senderWriteP50)} ms in the sender (${run.senderWrites} writes), ${fixed(run.recipientWriteP50)} ms in the recipient (${run.recipientWrites})`,
  );
  out(
    `  in the sender (medians): Enter → its first IndexedDB write begins ${fixed(run.toWriteP50)} ms, the write takes ${fixed(run.sendWriteP50)} ms, committed → the frame out ${fixed(run.writeToOutP50)} ms`,
  );
  out(
    `  burst: ${run.burstSeen} of ${burst} seen at the recipient, first Enter → last shown ${fixed(run.burstMs)} ms, ${run.burstRate.toFixed(0)} messages/s (the sender's page pressed the last Enter after ${fixed(run.burstSendingMs)} ms)`,
  );
  if (run.nativeP50 !== undefined)
    out(
      `  two native clients (sotto-client-bench, same counts): send → stored p50 ${fixed(run.nativeP50)} ms, p99 ${fixed(run.nativeP99)} ms; burst ${run.nativeRate.toFixed(0)} messages/s`,
    );
  out(`  the two pages' clocks differ by ${run.clockDifference.toFixed(2)} ms (estimated from round trips)`);
});
out(`Medians of the ${runs} runs:`);
out(
  `  connection: socket created → handshake done ${fixed(over("socketToHandshake"))} ms (open ${fixed(over("socketToOpen"))} ms, handshake ${fixed(over("openToHandshake"))} ms); unlock submitted → online in the page ${fixed(over("unlockToOnline"))} ms`,
);
out(
  `  message: Enter → recipient's list median ${fixed(over("shownP50"))} ms, p90 ${fixed(over("shownP90"))} ms; → delivered tick median ${fixed(over("deliveredP50"))} ms; burst ${over("burstRate").toFixed(0)} messages/s`,
);
if (clientBench)
  out(
    `  native clients: send → stored p50 ${fixed(over("nativeP50"))} ms, p99 ${fixed(over("nativeP99"))} ms; burst ${over("nativeRate").toFixed(0)} messages/s`,
  );
const summary = {
  runs,
  connect_ms: over("socketToHandshake"),
  connect_open_ms: over("socketToOpen"),
  connect_handshake_ms: over("openToHandshake"),
  unlock_to_online_ms: over("unlockToOnline"),
  message_p50_ms: over("shownP50"),
  message_p90_ms: over("shownP90"),
  message_sender_ms: over("senderLegP50"),
  message_relay_ms: over("relayLegP50"),
  message_recipient_ms: over("recipientLegP50"),
  message_send_write_ms: over("sendWriteP50"),
  delivered_p50_ms: over("deliveredP50"),
  burst_messages_per_s: over("burstRate"),
  native_p50_ms: clientBench ? over("nativeP50") : null,
  native_burst_messages_per_s: clientBench ? over("nativeRate") : null,
};
for (const [key, value] of Object.entries(summary))
  if (typeof value === "number") summary[key] = Math.round(value * 10) / 10;
out(`web-relay-bench ${JSON.stringify(summary)}`);
