// @vitest-environment node
import { describe, expect, it } from "vitest";
import { passphraseStrength } from "../src/passphrase-strength";

const level = (passphrase: string) => passphraseStrength(passphrase).level;

describe("passphraseStrength", () => {
  it("calls common, repeated and sequential passphrases weak", () => {
    for (const weak of [
      "password",
      "Password123!",
      "p4ssw0rd",
      "12345678",
      "aaaaaaaaaaaa",
      "qwertyuiop",
      "Tr0ub4dor&3",
    ])
      expect(level(weak), weak).toBe("weak");
  });

  it("counts words as words, not as letters", () => {
    // Four words from a large list: about 52 bits, plus a little for the separator.
    const four = passphraseStrength("correct horse battery staple");
    expect(four.bits).toBeGreaterThanOrEqual(52);
    expect(four.bits).toBeLessThan(62);
    expect(four.level).toBe("good");
    expect(level("correct horse battery staple orbit")).toBe("strong");
    expect(level("correct horse")).toBe("weak");
  });

  it("rewards random characters of several kinds", () => {
    expect(level("x9#Lq2!vR8%m")).toBe("strong");
    expect(passphraseStrength("x9#Lq2!vR8%m").advice).toBe("");
    expect(level("kq8z-w3x")).not.toBe("strong");
  });

  it("grows with length and never goes below zero", () => {
    expect(passphraseStrength("").bits).toBe(0);
    let previous = -1;
    for (const passphrase of ["maple", "maple river", "maple river quartz", "maple river quartz lantern"]) {
      const { bits } = passphraseStrength(passphrase);
      expect(bits).toBeGreaterThan(previous);
      previous = bits;
    }
  });
});
