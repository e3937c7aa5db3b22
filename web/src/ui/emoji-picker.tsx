// The emoji picker: a search box over the emoji of src/emoji.ts, by group.
// It opens beside its anchor with the focus in the search box; Down moves
// into the grid, arrow keys move in it, Enter or a click picks, Esc or a
// click outside closes it and the focus goes back. An emoji typed or pasted
// into the search box can be picked as it is.

import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { asReaction, EMOJI_GROUPS, searchEmoji } from "../emoji";
const WIDTH = 316;
const HEIGHT = 340;

/**
 * Where the picker opens: below its anchor, or above it when there is no room
 * below (the message box's button), on the side it favours, inside the window.
 */
export function pickerPosition(anchor: HTMLElement, side: "left" | "right") {
  const rect = anchor.getBoundingClientRect();
  const width = Math.min(WIDTH, window.innerWidth - 16);
  const height = Math.min(HEIGHT, window.innerHeight - 16);
  const below = rect.bottom + 4;
  const top = below + height <= window.innerHeight - 8 ? below : Math.max(8, rect.top - height - 4);
  const left = Math.max(8, Math.min(side === "right" ? rect.right - width : rect.left, window.innerWidth - width - 8));
  return { top: `${top}px`, left: `${left}px`, width: `${width}px`, height: `${height}px` };
}

export function EmojiPicker({
  label,
  anchor,
  side,
  returnFocus,
  onPick,
  onClose,
}: {
  label: string;
  anchor: HTMLElement;
  side: "left" | "right";
  /** What gets focus back when the picker closes; the anchor when absent. */
  returnFocus?: HTMLElement | null | undefined;
  onPick: (emoji: string) => void;
  onClose: () => void;
}) {
  const [query, setQuery] = useState("");
  const panel = useRef<HTMLDivElement>(null);
  const search = useRef<HTMLInputElement>(null);
  // Placed again when the window changes size (a phone turned, a keyboard shown).
  const [, setSize] = useState(0);
  useEffect(() => {
    const resized = () => setSize((count) => count + 1);
    window.addEventListener("resize", resized);
    return () => window.removeEventListener("resize", resized);
  }, []);

  useEffect(() => {
    search.current?.focus();
    const back = returnFocus ?? anchor;
    function outside(event: MouseEvent) {
      if (!panel.current?.contains(event.target as Node) && !anchor.contains(event.target as Node)) onClose();
    }
    document.addEventListener("mousedown", outside);
    return () => {
      document.removeEventListener("mousedown", outside);
      if (back.isConnected) back.focus({ preventScroll: true });
    };
  }, [anchor, returnFocus, onClose]);

  const typed = asReaction(query);
  const groups = useMemo(
    () => (query.trim() === "" || typed ? EMOJI_GROUPS : [{ name: "Found", entries: searchEmoji(query) }]),
    [query, typed],
  );

  function cells(): HTMLElement[] {
    return [...(panel.current?.querySelectorAll<HTMLElement>("[data-emoji]") ?? [])];
  }

  function onKeyDown(event: KeyboardEvent) {
    if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      onClose();
      return;
    }
    const all = cells();
    const index = all.indexOf(document.activeElement as HTMLElement);
    if (index < 0) {
      if (event.key === "ArrowDown" && all.length > 0) {
        event.preventDefault();
        all[0]?.focus();
      } else if (event.key === "Enter" && event.target === search.current) {
        event.preventDefault();
        const first = typed ?? all[0]?.dataset.emoji;
        if (first) onPick(first);
      }
      return;
    }
    if (event.key === "ArrowRight" || event.key === "ArrowLeft") {
      event.preventDefault();
      all[Math.max(0, Math.min(all.length - 1, index + (event.key === "ArrowRight" ? 1 : -1)))]?.focus();
    } else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      const next = verticalNeighbour(all, index, event.key === "ArrowDown");
      if (next) next.focus();
      else if (event.key === "ArrowUp") search.current?.focus();
    }
  }

  return (
    <div
      ref={panel}
      class="emoji-picker"
      role="dialog"
      aria-label={label}
      style={pickerPosition(anchor, side)}
      onKeyDown={onKeyDown}
    >
      <input
        ref={search}
        type="search"
        class="emoji-search"
        placeholder="Search emoji"
        aria-label="Search emoji"
        value={query}
        onInput={(event) => setQuery(event.currentTarget.value)}
      />
      <div class="emoji-groups">
        {typed && (
          <button type="button" class="emoji-typed" data-emoji={typed} onClick={() => onPick(typed)}>
            Use {typed}
          </button>
        )}
        {groups.map((group) =>
          group.entries.length === 0 ? (
            <p key={group.name} class="muted">
              No emoji match.
            </p>
          ) : (
            <div key={group.name} role="group" aria-label={group.name}>
              <h3>{group.name}</h3>
              <div class="emoji-grid">
                {group.entries.map(([emoji, words]) => (
                  <button
                    key={emoji}
                    type="button"
                    data-emoji={emoji}
                    aria-label={`${emoji} ${words.split(" ")[0]}`}
                    title={words}
                    onClick={() => onPick(emoji)}
                  >
                    {emoji}
                  </button>
                ))}
              </div>
            </div>
          ),
        )}
      </div>
    </div>
  );
}

/**
 * The cell on the next row down (or up) nearest in column to `all[index]`:
 * groups end in short rows, so the row below is found by position, not by
 * counting.
 */
function verticalNeighbour(all: HTMLElement[], index: number, down: boolean): HTMLElement | undefined {
  const from = all[index];
  if (!from) return undefined;
  const top = from.offsetTop;
  const rows = [...new Set(all.map((cell) => cell.offsetTop))].sort((a, b) => a - b);
  const row = rows.indexOf(top);
  // Without layout (no offsets), rows are counted in eights.
  if (rows.length <= 1) return all[index + (down ? 8 : -8)];
  const target = rows[row + (down ? 1 : -1)];
  if (target === undefined) return undefined;
  const left = from.offsetLeft;
  return all
    .filter((cell) => cell.offsetTop === target)
    .reduce<HTMLElement | undefined>(
      (best, cell) =>
        best === undefined || Math.abs(cell.offsetLeft - left) < Math.abs(best.offsetLeft - left) ? cell : best,
      undefined,
    );
}
