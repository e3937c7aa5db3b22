// A small, honest estimate of how hard a new passphrase is to guess, shown
// where one is chosen. No dictionary ships with the page: the estimate assumes
// that a run of letters is a word (people choose words), counts characters by
// the kinds used, and gives repeats, sequences and the most common passwords
// almost nothing. It errs low: a random string of letters scores less than it
// is worth, never a common word more.

/** How strong, in words, with the estimate in bits. */
export interface PassphraseStrength {
  /** Estimated bits of guessing work (log2 of the guesses needed). */
  bits: number;
  level: "weak" | "fair" | "good" | "strong";
  /** What to do about it, empty when strong. */
  advice: string;
}

/** A word from a large list (7,776 words, as diceware's) is worth about this. */
const WORD_BITS = Math.log2(7776);
/** Letters in a row from this many on count as a word. */
const WORD_MIN = 4;
/** A common password (or one of these with digits and symbols added) is worth about this. */
const COMMON_BITS = 10;
const COMMON = new Set([
  "password",
  "passphrase",
  "qwerty",
  "qwertyuiop",
  "azerty",
  "letmein",
  "iloveyou",
  "admin",
  "welcome",
  "monkey",
  "dragon",
  "football",
  "baseball",
  "sunshine",
  "princess",
  "master",
  "shadow",
  "superman",
  "trustno",
  "abc",
  "abcdef",
  "secret",
  "sotto",
]);

function pool(chars: string[]): number {
  let size = 0;
  if (chars.some((c) => /[a-z]/.test(c))) size += 26;
  if (chars.some((c) => /[A-Z]/.test(c))) size += 26;
  if (chars.some((c) => /[0-9]/.test(c))) size += 10;
  if (chars.some((c) => /[ -/:-@[-`{-~]/.test(c))) size += 33;
  if (chars.some((c) => c.codePointAt(0)! > 0x7f)) size += 100;
  return Math.max(size, 1);
}

/** Digits and symbols that stand for letters ("p4ssw0rd"): still the word. */
const LEET: Record<string, string> = { "0": "o", "1": "l", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", $: "s" };

/** Whether `c` repeats `previous` or continues a run like "abc" or "321". */
function predictable(previous: string | undefined, c: string): boolean {
  if (previous === undefined) return false;
  const step = c.codePointAt(0)! - previous.codePointAt(0)!;
  return step === 0 || step === 1 || step === -1;
}

/** The estimate for `passphrase` (see the file's comment). */
export function passphraseStrength(passphrase: string): PassphraseStrength {
  const chars = [...passphrase];
  const letters = chars.map((c) => LEET[c] ?? c);
  const perChar = Math.log2(pool(chars));
  let bits = 0;
  let index = 0;
  let separator: string | null = null;
  while (index < chars.length) {
    let end = index;
    while (end < chars.length && /\p{L}/u.test(letters[end]!)) end += 1;
    if (end - index >= WORD_MIN) {
      // A word, one capital letter at most a bit more.
      const word = chars.slice(index, end);
      const letters = Math.min(word.length * perChar, WORD_BITS);
      bits += letters + (word.some((c) => c !== c.toLowerCase()) ? 1 : 0);
      index = end;
      continue;
    }
    const c = chars[index]!;
    // The same separator between words again tells nothing new.
    const again = c === separator && /\p{L}/u.test(letters[index - 1] ?? "");
    bits += again || predictable(chars[index - 1], c) ? 1 : perChar;
    if (!/\p{L}/u.test(c)) separator = c;
    index += 1;
  }
  const core = letters
    .join("")
    .toLowerCase()
    .replace(/[^a-z]/g, "");
  if (COMMON.has(core)) bits = Math.min(bits, COMMON_BITS);
  bits = Math.round(bits);
  if (bits < 40)
    return { bits, level: "weak", advice: "Easy to guess. Use four or more words nobody would put together." };
  if (bits < 55) return { bits, level: "fair", advice: "Add another word or two." };
  if (bits < 70) return { bits, level: "good", advice: "One more word makes it strong." };
  return { bits, level: "strong", advice: "" };
}
