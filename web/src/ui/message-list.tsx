// The virtualized message list: only the rows in and near the viewport are in
// the DOM. Row heights are measured after render and cached by item id (see
// VirtualLayout); the view stays pinned to the bottom when it was there, and
// otherwise keeps the first visible row where it was when rows above it grow,
// shrink or are prepended (older history).

import type { ComponentChildren } from "preact";
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from "preact/hooks";
import { VirtualLayout } from "../virtual-layout";
import { IconDown } from "./icons";

const ESTIMATED_ROW = 64;
const OVERSCAN = 6;
/** Load older history when this close to the top. */
const LOAD_THRESHOLD = 800;
const BOTTOM_SLACK = 8;

export interface MessageListHandle {
  /** Scrolls to the row of `key`, and moves the focus there unless `focus` is false. */
  scrollToKey(key: string, focus?: boolean): void;
  scrollToBottom(): void;
}

export function MessageList<T>({
  items,
  keyOf,
  renderRow,
  hasMore,
  onLoadOlder,
  handle,
  label,
  onRowKeyDown,
}: {
  items: readonly T[];
  keyOf: (item: T) => string;
  renderRow: (item: T, index: number) => ComponentChildren;
  hasMore: boolean;
  onLoadOlder: () => void;
  handle?: { current: MessageListHandle | null };
  label: string;
  /** Keys other than navigation pressed on a focused row. */
  onRowKeyDown?: (item: T, row: HTMLElement, event: KeyboardEvent) => void;
}) {
  const scroller = useRef<HTMLDivElement>(null);
  const layout = useRef(new VirtualLayout(ESTIMATED_ROW)).current;
  const [viewport, setViewportState] = useState({ top: 0, height: 600 });
  // Re-render only when the window actually moved: restoring the scroll
  // position fires a scroll event that would otherwise render once more.
  const setViewport = useCallback((next: { top: number; height: number }) => {
    setViewportState((previous) =>
      Math.abs(previous.top - next.top) < 0.5 && previous.height === next.height ? previous : next,
    );
  }, []);
  const [, setVersion] = useState(0);
  const pinned = useRef(true);
  const anchor = useRef<{ key: string; delta: number } | null>(null);
  const width = useRef(0);
  const focusKey = useRef<string | null>(null);
  const [farFromBottom, setFarFromBottom] = useState(false);

  const keys = useMemo(() => items.map(keyOf), [items, keyOf]);
  const indexOfKey = useMemo(() => {
    const map = new Map<string, number>();
    keys.forEach((key, index) => map.set(key, index));
    return map;
  }, [keys]);
  useMemo(() => layout.setKeys(keys), [layout, keys]);

  const rememberAnchor = useCallback(() => {
    const element = scroller.current;
    if (!element) return;
    // The model's total height, not scrollHeight: reading that would force a layout.
    pinned.current = element.scrollTop + element.clientHeight >= layout.totalHeight() - BOTTOM_SLACK;
    const index = layout.indexAt(element.scrollTop);
    const key = keys[index];
    anchor.current = key === undefined ? null : { key, delta: element.scrollTop - layout.offset(index) };
  }, [layout, keys]);

  const onScroll = useCallback(() => {
    const element = scroller.current;
    if (!element) return;
    rememberAnchor();
    setViewport({ top: element.scrollTop, height: element.clientHeight });
    setFarFromBottom(layout.totalHeight() - element.scrollTop - element.clientHeight > element.clientHeight);
    if (hasMore && element.scrollTop < LOAD_THRESHOLD) onLoadOlder();
  }, [rememberAnchor, hasMore, onLoadOlder]);

  // After every render: measure the rendered rows, then restore the position.
  useLayoutEffect(() => {
    const element = scroller.current;
    if (!element) return;
    let changed = false;
    for (const row of element.querySelectorAll<HTMLElement>("[data-index]")) {
      const index = Number(row.dataset.index);
      if (layout.measure(index, row.offsetHeight)) changed = true;
    }
    const total = layout.totalHeight();
    const spacer = element.firstElementChild as HTMLElement | null;
    if (spacer) spacer.style.height = `${total}px`;
    let target = element.scrollTop;
    if (pinned.current) {
      target = Math.max(0, total - element.clientHeight);
    } else if (anchor.current) {
      const index = indexOfKey.get(anchor.current.key);
      if (index !== undefined) target = layout.offset(index) + anchor.current.delta;
    }
    if (Math.abs(target - element.scrollTop) >= 1) {
      element.scrollTop = target;
    }
    if (changed || Math.abs(viewport.top - element.scrollTop) >= 1 || viewport.height !== element.clientHeight) {
      setViewport({ top: element.scrollTop, height: element.clientHeight });
      if (changed) setVersion((version) => version + 1);
    }
    if (focusKey.current !== null) {
      const index = indexOfKey.get(focusKey.current);
      const row = element.querySelector<HTMLElement>(`[data-index="${index}"]`);
      if (row) {
        row.focus({ preventScroll: true });
        focusKey.current = null;
      }
    }
  });

  // Width changes re-wrap every row: forget the heights.
  useEffect(() => {
    const element = scroller.current;
    if (!element || typeof ResizeObserver === "undefined") return;
    const observer = new ResizeObserver(() => {
      if (element.clientWidth !== width.current) {
        width.current = element.clientWidth;
        layout.clearMeasurements();
      }
      setViewport({ top: element.scrollTop, height: element.clientHeight });
    });
    observer.observe(element);
    return () => observer.disconnect();
  }, [layout]);

  const scrollToIndex = useCallback(
    (index: number, focus: boolean) => {
      const element = scroller.current;
      const key = keys[index];
      if (!element || key === undefined) return;
      const top = Math.max(0, layout.offset(index) - element.clientHeight / 3);
      pinned.current = false;
      anchor.current = { key, delta: top - layout.offset(index) };
      element.scrollTop = top;
      if (focus) focusKey.current = key;
      setViewport({ top, height: element.clientHeight });
    },
    [keys, layout],
  );

  if (handle) {
    handle.current = {
      scrollToKey: (key, focus = true) => {
        const index = indexOfKey.get(key);
        if (index !== undefined) scrollToIndex(index, focus);
      },
      scrollToBottom: () => {
        pinned.current = true;
        setVersion((version) => version + 1);
      },
    };
  }

  // Arrow keys move focus from row to row, scrolling unrendered rows in.
  function onKeyDown(event: KeyboardEvent) {
    const keysToSteps: Record<string, number> = { ArrowUp: -1, ArrowDown: 1, PageUp: -10, PageDown: 10 };
    const target = event.target as HTMLElement;
    const row = target.closest<HTMLElement>("[data-index]");
    if (event.key === "Home" || event.key === "End") {
      if (target !== event.currentTarget && target !== row) return;
      event.preventDefault();
      scrollToIndex(event.key === "Home" ? 0 : items.length - 1, true);
      return;
    }
    const step = keysToSteps[event.key];
    if (step === undefined && row && target === row) {
      const item = items[Number(row.dataset.index)];
      if (item !== undefined) onRowKeyDown?.(item, row, event);
      return;
    }
    if (step === undefined || (target !== event.currentTarget && target !== row)) return;
    event.preventDefault();
    const from = row
      ? Number(row.dataset.index)
      : step > 0
        ? layout.indexAt(viewport.top) - 1
        : layout.indexAt(viewport.top + viewport.height) + 1;
    const next = Math.max(0, Math.min(items.length - 1, from + step));
    const element = scroller.current;
    const nextRow = element?.querySelector<HTMLElement>(`[data-index="${next}"]`);
    if (nextRow && element) {
      const top = layout.offset(next);
      const bottom = top + layout.height(next);
      if (top < element.scrollTop || bottom > element.scrollTop + element.clientHeight) {
        nextRow.scrollIntoView({ block: "nearest" });
      }
      nextRow.focus({ preventScroll: true });
    } else {
      scrollToIndex(next, true);
    }
  }

  const range = layout.visibleRange(viewport.top, viewport.height, OVERSCAN);
  const rows: ComponentChildren[] = [];
  for (let index = range.start; index < range.end; index += 1) {
    const item = items[index];
    if (item === undefined) continue;
    rows.push(
      <div
        key={keys[index]}
        class="row"
        data-index={index}
        role="listitem"
        aria-posinset={index + 1}
        aria-setsize={hasMore ? -1 : items.length}
        tabIndex={-1}
        style={{ transform: `translateY(${layout.offset(index)}px)` }}
      >
        {renderRow(item, index)}
      </div>,
    );
  }

  return (
    <div class="message-viewport">
      <div
        ref={scroller}
        class="message-scroller"
        onScroll={onScroll}
        tabIndex={0}
        aria-label={label}
        onKeyDown={onKeyDown}
      >
        <div class="message-spacer" role="list" style={{ height: `${layout.totalHeight()}px` }}>
          {rows}
        </div>
      </div>
      {farFromBottom && (
        <button
          type="button"
          class="jump-latest"
          aria-label="Jump to the latest message"
          title="Latest message"
          onClick={() => {
            pinned.current = true;
            setFarFromBottom(false);
            setVersion((version) => version + 1);
          }}
        >
          <IconDown />
        </button>
      )}
    </div>
  );
}
