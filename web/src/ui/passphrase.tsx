// The passphrase field that opening, creating, re-keying and exporting the
// profile all ask for, and the shortest passphrase a new one may be.

/** Shorter passphrases are refused: the whole database rests on this one secret. */
export const MIN_PASSPHRASE = 8;

/**
 * A required password input under its label. `autocomplete` tells password
 * managers whether the passphrase is being chosen or is already known.
 */
export function PassphraseField({
  label,
  value,
  onInput,
  autocomplete,
  hint,
}: {
  label: string;
  value: string;
  onInput: (value: string) => void;
  autocomplete: "current-password" | "new-password";
  hint?: string;
}) {
  return (
    <label>
      {label}
      <input
        type="password"
        value={value}
        onInput={(e) => onInput(e.currentTarget.value)}
        autocomplete={autocomplete}
        required
      />
      {hint && <span class="hint">{hint}</span>}
    </label>
  );
}
