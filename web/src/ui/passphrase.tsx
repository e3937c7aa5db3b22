// The passphrase field that opening, creating, re-keying and exporting the
// profile all ask for, the shortest passphrase a new one may be, and the
// strength shown while a new one is typed.

import { passphraseStrength } from "../passphrase-strength";

/** Shorter passphrases are refused: the whole database rests on this one secret. */
export const MIN_PASSPHRASE = 8;

/**
 * A required password input under its label. `autocomplete` tells password
 * managers whether the passphrase is being chosen or is already known;
 * `strength` shows how hard the one being chosen is to guess.
 */
export function PassphraseField({
  label,
  value,
  onInput,
  autocomplete,
  hint,
  strength = false,
}: {
  label: string;
  value: string;
  onInput: (value: string) => void;
  autocomplete: "current-password" | "new-password";
  hint?: string;
  strength?: boolean;
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
      {strength && <StrengthMeter passphrase={value} />}
      {hint && <span class="hint">{hint}</span>}
    </label>
  );
}

/** The estimate of passphrase-strength.ts as a meter and a sentence. */
function StrengthMeter({ passphrase }: { passphrase: string }) {
  if (passphrase === "") return null;
  const { bits, level, advice } = passphraseStrength(passphrase);
  return (
    <span class={`strength strength-${level}`}>
      <meter min={0} max={80} low={40} high={55} optimum={80} value={Math.min(bits, 80)} aria-hidden="true" />
      <span class="strength-text" aria-live="polite">
        {`Strength: ${level} (about ${bits} bits, an estimate). ${advice}`.trim()}
      </span>
    </span>
  );
}
