// The question before an action that cannot be undone: what it does, in a
// sentence, and a button named after the action.

import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { errorMessage } from "../errors";
import { Dialog } from "./dialog";

export function ConfirmDialog({
  title,
  action,
  onConfirm,
  onClose,
  children,
}: {
  title: string;
  /** The confirming button's label: "Delete chat", "Block". */
  action: string;
  onConfirm: () => Promise<void>;
  onClose: () => void;
  children: ComponentChildren;
}) {
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  async function confirm() {
    setBusy(true);
    setError("");
    try {
      await onConfirm();
      onClose();
    } catch (caught) {
      setError(errorMessage(caught));
      setBusy(false);
    }
  }
  return (
    <Dialog title={title} onClose={onClose}>
      <div class="stack">
        <div class="confirm-text">{children}</div>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <div class="buttons">
          <button type="button" onClick={onClose} autoFocus>
            Cancel
          </button>
          <button type="button" class="danger primary" disabled={busy} onClick={() => void confirm()}>
            {action}
          </button>
        </div>
      </div>
    </Dialog>
  );
}
