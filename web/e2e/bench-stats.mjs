// What the web benchmarks share: quantiles and the summary of a CDP CPU
// profile.

/** The value at quantile `q` (0..1) of `values`, nearest rank; NaN when empty. */
export function quantile(values, q) {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

export const median = (values) => quantile(values, 0.5);

/** Self time per function of a CDP CPU profile, the top `top` through `log`. */
export function summarizeProfile(what, { nodes, samples, timeDeltas }, log, top = 25) {
  const byId = new Map(nodes.map((node) => [node.id, node]));
  const self = new Map();
  samples.forEach((id, index) => {
    const { functionName, url, lineNumber, columnNumber } = byId.get(id).callFrame;
    const name = `${functionName || "(anonymous)"} ${url.split("/").pop()}:${lineNumber + 1}:${columnNumber + 1}`;
    self.set(name, (self.get(name) ?? 0) + (timeDeltas[index] ?? 0) / 1000);
  });
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  log(`CPU profile of the ${what}: ${total.toFixed(0)} ms sampled`);
  for (const [name, time] of [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    log(`  ${`${time.toFixed(0)} ms`.padStart(8)} ${((100 * time) / total).toFixed(1).padStart(5)}%  ${name}`);
  }
}

/**
 * Sampled time of a CDP CPU profile by kind: idle, garbage collection, native
 * browser work outside any script ("(program)": style, layout, paint, IPC,
 * IndexedDB's own thread hops), wasm (the core and the bridge), and the page's
 * JavaScript; in milliseconds.
 */
export function profileShares({ nodes, samples, timeDeltas }) {
  const byId = new Map(nodes.map((node) => [node.id, node]));
  const shares = { idle: 0, gc: 0, program: 0, wasm: 0, script: 0 };
  samples.forEach((id, index) => {
    const { functionName, url } = byId.get(id).callFrame;
    const time = (timeDeltas[index] ?? 0) / 1000;
    if (functionName === "(idle)") shares.idle += time;
    else if (functionName === "(garbage collector)") shares.gc += time;
    else if (functionName === "(program)" || functionName === "(root)") shares.program += time;
    else if (url.endsWith(".wasm") || url.startsWith("wasm://")) shares.wasm += time;
    else shares.script += time;
  });
  return shares;
}

/**
 * Self time of the renderer's main thread per kind of work in a Chromium
 * trace (complete events of `devtools.timeline` and the like, nested work
 * counted once, in the innermost event), the top `top` through `log`.
 */
export function summarizeTraceSelf(what, { traceEvents }, log, top = 25) {
  const main = traceEvents.find((event) => event.name === "thread_name" && event.args?.name === "CrRendererMain");
  const events = traceEvents
    .filter((event) => event.ph === "X" && event.pid === main?.pid && event.tid === main?.tid && event.dur > 0)
    .sort((a, b) => a.ts - b.ts || b.dur - a.dur);
  const self = new Map();
  const stack = [];
  const close = (until) => {
    while (stack.length > 0 && stack.at(-1).end <= until) {
      const done = stack.pop();
      self.set(done.name, (self.get(done.name) ?? 0) + done.self / 1000);
    }
  };
  for (const event of events) {
    close(event.ts);
    const parent = stack.at(-1);
    if (parent) parent.self -= Math.min(event.dur, parent.end - event.ts);
    stack.push({ name: event.name, end: event.ts + event.dur, self: event.dur });
  }
  close(Infinity);
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  log(`trace of the ${what}: main thread busy ${total.toFixed(0)} ms (self time per kind of work)`);
  for (const [name, time] of [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    log(`  ${`${time.toFixed(0)} ms`.padStart(9)}  ${name}`);
  }
}
