import { describe, expect, it } from "vitest";
import { VirtualLayout } from "../src/virtual-layout";

function keys(count: number): string[] {
  return Array.from({ length: count }, (_, index) => `m${index}`);
}

describe("VirtualLayout", () => {
  it("lays out estimated rows end to end", () => {
    const layout = new VirtualLayout(50);
    layout.setKeys(keys(10));
    expect(layout.offset(0)).toBe(0);
    expect(layout.offset(3)).toBe(150);
    expect(layout.totalHeight()).toBe(500);
  });

  it("moves every later row when a height is measured", () => {
    const layout = new VirtualLayout(50);
    layout.setKeys(keys(10));
    expect(layout.totalHeight()).toBe(500);
    expect(layout.measure(2, 120)).toBe(true);
    expect(layout.measure(2, 120)).toBe(false);
    expect(layout.offset(2)).toBe(100);
    expect(layout.offset(3)).toBe(220);
    expect(layout.totalHeight()).toBe(570);
  });

  it("keeps measured heights by key when rows are prepended", () => {
    const layout = new VirtualLayout(50);
    layout.setKeys(["a", "b"]);
    layout.measure(0, 80);
    layout.measure(1, 30);
    layout.setKeys(["y", "z", "a", "b"]);
    expect(layout.isMeasured(0)).toBe(false);
    expect(layout.isMeasured(2)).toBe(true);
    expect(layout.height(2)).toBe(80);
    expect(layout.offset(3)).toBe(180);
    expect(layout.totalHeight()).toBe(210);
  });

  it("finds the row under a pixel", () => {
    const layout = new VirtualLayout(50);
    layout.setKeys(keys(5));
    layout.measure(1, 100);
    expect(layout.indexAt(0)).toBe(0);
    expect(layout.indexAt(49)).toBe(0);
    expect(layout.indexAt(50)).toBe(1);
    expect(layout.indexAt(149)).toBe(1);
    expect(layout.indexAt(150)).toBe(2);
    expect(layout.indexAt(-10)).toBe(0);
    expect(layout.indexAt(10_000)).toBe(4);
  });

  it("returns the visible rows with overscan, clamped", () => {
    const layout = new VirtualLayout(40);
    layout.setKeys(keys(100));
    expect(layout.visibleRange(400, 200, 2)).toEqual({ start: 8, end: 17 });
    expect(layout.visibleRange(0, 200, 5)).toEqual({ start: 0, end: 10 });
    expect(layout.visibleRange(3900, 400, 3)).toEqual({ start: 94, end: 100 });
    const empty = new VirtualLayout(40);
    expect(empty.visibleRange(0, 500, 3)).toEqual({ start: 0, end: 0 });
  });

  it("forgets measurements when the width changes", () => {
    const layout = new VirtualLayout(50);
    layout.setKeys(keys(3));
    layout.measure(0, 200);
    layout.clearMeasurements();
    expect(layout.totalHeight()).toBe(150);
  });

  it("stays fast with 10,000 rows measured in visible windows", () => {
    const layout = new VirtualLayout(60);
    layout.setKeys(keys(10_000));
    const started = performance.now();
    // Scroll from the bottom to the top, measuring what each window shows.
    for (let top = layout.totalHeight(); top > 0; top -= 500) {
      const range = layout.visibleRange(top, 800, 6);
      for (let index = range.start; index < range.end; index += 1) layout.measure(index, 40 + (index % 7) * 10);
      layout.totalHeight();
    }
    expect(performance.now() - started).toBeLessThan(2000);
    let expected = 0;
    for (let index = 0; index < 10_000; index += 1) expected += layout.height(index);
    expect(layout.totalHeight()).toBe(expected);
  });
});
