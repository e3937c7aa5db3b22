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
