// The web client's search benchmark (run by `cargo xtask bench web-search`,
// see docs/benchmarks.md): a profile of 100,000 stored messages imported into
// headless Chromium, then queries typed into the chat list's search box. Each
// query's time is the bridge's `search` call (the core's scan, the JSON and
// its parsing), measured in the page (`performance.measure("sotto-search")`)
// and reported as the median of several runs; the time until the results
// are on screen is given beside it. Nothing here asserts a time.
//
// Environment (set by `cargo xtask bench web-search`):
//   SOTTO_RELAY       the sotto-relay binary (release)
//   SOTTO_WEB         the production build of the web client (web/dist)
//   SOTTO_ARCHIVE     the profile to import (from sotto-seed-profile)
//   SOTTO_PASSPHRASE  its passphrase
//   SOTTO_CHATS       the chats in the profile
//   SOTTO_RUNS        runs of each query (default 7)
//   CHROMIUM          the browser (default /usr/bin/chromium)

import { mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { median } from "./bench-stats.mjs";
import { launchBrowser, required, startRelay } from "./harness.mjs";

const archive = required("SOTTO_ARCHIVE");
const passphrase = required("SOTTO_PASSPHRASE");
const chats = Number(required("SOTTO_CHATS"));
const runs = Number(process.env.SOTTO_RUNS ?? 7);
const long = 600_000;

const log = (line) => console.error(`web search bench: ${line}`);
const ms = (value) => `${value.toFixed(1)} ms`;

/** A common word, a phrase, a word in no message, and text outside ASCII (in none either). */
const QUERIES = [
  { what: "a common word", query: "coffee" },
  { what: "a phrase", query: "see you tomorrow" },
  { what: "a word in no message", query: "zeppelin" },
  { what: "a non-ASCII query", query: "Café Müller" },
];

const work = mkdtempSync(join(tmpdir(), "sotto-web-search-bench-"));
const { relay, web } = await startRelay(join(work, "relay"));
const browser = await launchBrowser();
try {
  const context = await browser.newContext({ viewport: { width: 1100, height: 760 } });
  const page = await context.newPage();
  page.on("pageerror", (error) => {
    console.error(`page error: ${error.message}`);
    process.exitCode = 1;
  });
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
  log(`imported the profile in ${((Date.now() - importStart) / 1000).toFixed(1)} s`);

  const box = page.getByLabel("Search chats");
  const figures = [];
  for (const { what, query } of QUERIES) {
    const calls = [];
    const shown = [];
    let found = 0;
    for (let run = 0; run < runs; run += 1) {
      await box.fill("");
      await page.evaluate(() => performance.clearMeasures("sotto-search"));
      await box.fill(query);
      // The results (or the sentence saying there are none) for this query.
      await page.locator(".search-results .search-hit, .search-results .list-empty").first().waitFor({ timeout: long });
      const measure = await page.evaluate(async () => {
        for (let wait = 0; wait < 100 && performance.getEntriesByName("sotto-search").length === 0; wait += 1)
          await new Promise((resolve) => setTimeout(resolve, 10));
        const entry = performance.getEntriesByName("sotto-search").at(-1);
        return entry ? { duration: entry.duration, end: entry.startTime + entry.duration } : null;
      });
      if (!measure) throw new Error(`no search was timed for "${query}"`);
      const onScreen = await page.evaluate(
        () => new Promise((resolve) => requestAnimationFrame(() => resolve(performance.now()))),
      );
      calls.push(measure.duration);
      // From the bridge's answer to the next frame: rendering the results.
      shown.push(onScreen - measure.end);
      found = await page.locator(".search-results .search-hit").count();
    }
    figures.push({ what, query, search: median(calls), render: median(shown), found });
    log(`${what} ("${query}"): search ${ms(median(calls))} (median of ${runs}), ${found} results shown`);
  }
  const load = loadavg()
    .map((value) => value.toFixed(2))
    .join(" ");
  console.log(`Search over 100,000 stored messages (${cpus().length} cores, load average ${load}):`);
  console.log("| query | search (median) | then on screen | results |");
  console.log("| --- | --- | --- | --- |");
  for (const figure of figures)
    console.log(
      `| ${figure.what}: "${figure.query}" | ${ms(figure.search)} | ${ms(figure.render)} | ${figure.found} |`,
    );
} finally {
  await browser.close();
  relay.kill();
  rmSync(work, { recursive: true, force: true });
}
