import { describe, expect, it } from "vitest";
import { ALL_EMOJI, asReaction, EMOJI_GROUPS, MAX_REACTION_BYTES, searchEmoji } from "../src/emoji";

describe("emoji", () => {
  it("offers each emoji once, each one a reaction the core takes", () => {
    const emoji = ALL_EMOJI.map(([one]) => one);
    expect(new Set(emoji).size).toBe(emoji.length);
    expect(emoji.length).toBeGreaterThan(300);
    for (const [one, words] of ALL_EMOJI) {
      expect(asReaction(one), one).toBe(one);
      expect(words.length, one).toBeGreaterThan(0);
    }
    expect(EMOJI_GROUPS.every((group) => group.entries.length > 0)).toBe(true);
  });

  it("finds emoji by the start of their words, in any case", () => {
    expect(searchEmoji("thumbs").map(([one]) => one)).toEqual(["👍", "👎"]);
    expect(searchEmoji("HEART EY").map(([one]) => one)).toEqual(["😍"]);
    expect(searchEmoji("no such thing")).toEqual([]);
    expect(searchEmoji("  ")).toHaveLength(ALL_EMOJI.length);
  });

  it("takes any emoji typed or pasted as a reaction, and nothing else", () => {
    for (const one of ["🫠", "🇫🇷", "👨‍👩‍👧", "👍🏽", "❤️", " 🦄 "]) expect(asReaction(one)).toBe(one.trim());
    for (const text of ["", "a", "12", "#", "hi 😀", "😀 😀", "🇫"]) expect(asReaction(text), text).toBeNull();
    const long = "👨‍👩‍👧‍👦".repeat(2);
    expect(new TextEncoder().encode(long).length).toBeGreaterThan(MAX_REACTION_BYTES);
    expect(asReaction(long)).toBeNull();
  });
});
