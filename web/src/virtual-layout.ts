// The arithmetic of the virtualized message list: row heights (estimated until
// measured, then cached by item id), their running offsets, and which rows a
// viewport needs. Kept free of the DOM so that it can be tested directly.

/** The rows to render: indices `start` (inclusive) to `end` (exclusive). */
export interface VisibleRange {
  start: number;
  end: number;
}

export class VirtualLayout {
  private keys: string[] = [];
  private heights: number[] = [];
  /** offsets[i] is the top of row i; offsets[length] is the total height. */
  private offsets: number[] = [0];
  /** Offsets from this index on are stale. */
  private dirtyFrom = 0;
  private readonly measured = new Map<string, number>();

  constructor(private readonly estimate: number) {}

  get length(): number {
    return this.keys.length;
  }

  /** Replaces the rows, keeping the measured heights of the ids that remain. */
  setKeys(keys: readonly string[]): void {
    this.keys = [...keys];
    this.heights = this.keys.map((key) => this.measured.get(key) ?? this.estimate);
    this.offsets = new Array<number>(this.keys.length + 1).fill(0);
    this.dirtyFrom = 0;
  }

  /** Records a row's rendered height; returns whether it changed. */
  measure(index: number, height: number): boolean {
    const key = this.keys[index];
    if (key === undefined || height <= 0) return false;
    this.measured.set(key, height);
    if (this.heights[index] === height) return false;
    this.heights[index] = height;
    this.dirtyFrom = Math.min(this.dirtyFrom, index + 1);
    return true;
  }

  /** Forgets every measurement (after the width changed, rows re-wrap). */
  clearMeasurements(): void {
    this.measured.clear();
    this.setKeys(this.keys);
  }

  isMeasured(index: number): boolean {
    const key = this.keys[index];
    return key !== undefined && this.measured.has(key);
  }

  height(index: number): number {
    return this.heights[index] ?? this.estimate;
  }

  /** The top of row `index` (the total height for `index === length`). */
  offset(index: number): number {
    const clamped = Math.max(0, Math.min(index, this.keys.length));
    this.refresh(clamped);
    return this.offsets[clamped] ?? 0;
  }

  totalHeight(): number {
    return this.offset(this.keys.length);
  }

  /** The row that contains the pixel `y` (clamped to the rows). */
  indexAt(y: number): number {
    const count = this.keys.length;
    if (count === 0) return 0;
    this.refresh(count);
    let low = 0;
    let high = count - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if ((this.offsets[middle] ?? 0) <= y) low = middle;
      else high = middle - 1;
    }
    return low;
  }

  /** The rows that intersect [scrollTop, scrollTop + viewport), widened by `overscan` rows each side. */
  visibleRange(scrollTop: number, viewport: number, overscan: number): VisibleRange {
    const count = this.keys.length;
    if (count === 0) return { start: 0, end: 0 };
    const first = this.indexAt(Math.max(0, scrollTop));
    const last = this.indexAt(Math.max(0, scrollTop + viewport - 1));
    return {
      start: Math.max(0, first - overscan),
      end: Math.min(count, last + 1 + overscan),
    };
  }

  private refresh(upTo: number): void {
    if (this.dirtyFrom > upTo) return;
    let index = Math.max(1, this.dirtyFrom);
    for (; index <= upTo; index += 1) {
      this.offsets[index] = (this.offsets[index - 1] ?? 0) + (this.heights[index - 1] ?? this.estimate);
    }
    this.dirtyFrom = upTo + 1;
  }
}
