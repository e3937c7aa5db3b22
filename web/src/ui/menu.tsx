// A pop-up menu beside the button that opened it: focus moves to its first
// item, arrow keys move between items, Esc or a click outside closes it and
// focus goes back to `returnFocus` (or the opener).

import type { ComponentChildren } from "preact";
import { useEffect, useRef } from "preact/hooks";

/** Where a menu opens, kept inside the window: below its anchor, on the `side` it favours. */
export function menuPosition(anchor: HTMLElement, side: "left" | "right", height = 280, width = 240) {
  const rect = anchor.getBoundingClientRect();
  const top = Math.max(8, Math.min(rect.bottom + 4, window.innerHeight - height));
  const left = Math.max(8, Math.min(side === "right" ? rect.right - width : rect.left, window.innerWidth - width - 8));
  return { top: `${top}px`, left: `${left}px` };
}

export function Menu({
  label,
  anchor,
  side,
  returnFocus,
  onClose,
  children,
}: {
  label: string;
  anchor: HTMLElement;
  side: "left" | "right";
  /** What gets focus back when the menu closes; the anchor when absent. */
  returnFocus?: HTMLElement | null | undefined;
  onClose: () => void;
  children: ComponentChildren;
}) {
  const menu = useRef<HTMLDivElement>(null);
  useEffect(() => {
    menu.current?.querySelector<HTMLElement>("[role=menuitem]")?.focus();
    const back = returnFocus ?? anchor;
    function outside(event: MouseEvent) {
      if (!menu.current?.contains(event.target as Node)) onClose();
    }
    document.addEventListener("mousedown", outside);
    return () => {
      document.removeEventListener("mousedown", outside);
      if (back.isConnected) back.focus({ preventScroll: true });
    };
  }, [anchor, returnFocus, onClose]);

  function onKeyDown(event: KeyboardEvent) {
    const items = [...(menu.current?.querySelectorAll<HTMLElement>("[role=menuitem]") ?? [])];
    const index = items.indexOf(document.activeElement as HTMLElement);
    if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      onClose();
    } else if (event.key === "ArrowDown" || event.key === "ArrowRight") {
      event.preventDefault();
      items[(index + 1) % items.length]?.focus();
    } else if (event.key === "ArrowUp" || event.key === "ArrowLeft") {
      event.preventDefault();
      items[(index - 1 + items.length) % items.length]?.focus();
    } else if (event.key === "Home" || event.key === "End") {
      event.preventDefault();
      items[event.key === "Home" ? 0 : items.length - 1]?.focus();
    } else if (event.key === "Tab") {
      event.preventDefault();
    }
  }

  return (
    <div
      ref={menu}
      class="menu"
      role="menu"
      aria-label={label}
      style={menuPosition(anchor, side)}
      onKeyDown={onKeyDown}
    >
      {children}
    </div>
  );
}

/** One item of a menu. */
export function MenuItem({
  onSelect,
  danger = false,
  children,
}: {
  onSelect: () => void;
  danger?: boolean;
  children: ComponentChildren;
}) {
  return (
    <button type="button" role="menuitem" tabIndex={-1} class={danger ? "danger" : undefined} onClick={onSelect}>
      {children}
    </button>
  );
}
