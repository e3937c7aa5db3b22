// A modal dialog: labelled, traps Tab, closes on Esc (even when the focused
// control was removed) or a click outside, and gives focus back to what had it.

import type { ComponentChildren } from "preact";
import { useLayoutEffect, useRef } from "preact/hooks";
import { IconClose } from "./icons";

const FOCUSABLE =
  'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

export function Dialog({
  title,
  onClose,
  children,
  wide = false,
}: {
  title: string;
  onClose: () => void;
  children: ComponentChildren;
  wide?: boolean;
}) {
  const panel = useRef<HTMLDivElement>(null);

  // Layout effects: focus moves in and keys are caught as soon as the dialog
  // is in the page, before a key can reach what is behind it.
  useLayoutEffect(() => {
    const previous = document.activeElement as HTMLElement | null;
    const root = panel.current;
    const first = root?.querySelector<HTMLElement>("[autofocus]") ?? root?.querySelector<HTMLElement>(FOCUSABLE);
    (first ?? root)?.focus();
    return () => previous?.focus?.();
  }, []);

  // Focus may be outside the dialog: its control went away (a request
  // accepted, say) and focus fell to the page, or a key came before the dialog
  // took focus. Esc must still close it and Tab must come back in. Only the
  // topmost dialog answers, in the capture phase, before the page's shortcuts.
  useLayoutEffect(() => {
    function onStrayKey(event: KeyboardEvent) {
      const root = panel.current;
      if (!root || root.contains(document.activeElement)) return;
      const dialogs = document.querySelectorAll('[role="dialog"]');
      if (dialogs[dialogs.length - 1] !== root) return;
      if (event.key === "Escape") {
        event.preventDefault();
        event.stopPropagation();
        onClose();
      } else if (event.key === "Tab") {
        event.preventDefault();
        event.stopPropagation();
        (root.querySelector<HTMLElement>(FOCUSABLE) ?? root).focus();
      }
    }
    document.addEventListener("keydown", onStrayKey, true);
    return () => document.removeEventListener("keydown", onStrayKey, true);
  }, [onClose]);

  function onKeyDown(event: KeyboardEvent) {
    if (event.key === "Escape") {
      event.stopPropagation();
      onClose();
      return;
    }
    if (event.key !== "Tab" || !panel.current) return;
    const items = [...panel.current.querySelectorAll<HTMLElement>(FOCUSABLE)];
    const first = items[0];
    const last = items[items.length - 1];
    if (!first || !last) return;
    if (event.shiftKey && document.activeElement === first) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && document.activeElement === last) {
      event.preventDefault();
      first.focus();
    }
  }

  const titleId = `dialog-${title.replace(/\W+/g, "-").toLowerCase()}`;
  return (
    <div
      class="backdrop"
      onMouseDown={(event) => {
        if (event.target === event.currentTarget) onClose();
      }}
    >
      <div
        ref={panel}
        class={`dialog${wide ? " wide" : ""}`}
        role="dialog"
        aria-modal="true"
        aria-labelledby={titleId}
        tabIndex={-1}
        onKeyDown={onKeyDown}
      >
        <header class="dialog-header">
          <h2 id={titleId}>{title}</h2>
          <button class="icon-button" type="button" aria-label="Close" onClick={onClose}>
            <IconClose />
          </button>
        </header>
        <div class="dialog-body">{children}</div>
      </div>
    </div>
  );
}
