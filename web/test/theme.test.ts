import { afterEach, describe, expect, it } from "vitest";
import { applyTheme, chooseTheme, storedTheme } from "../src/theme";

describe("theme", () => {
  afterEach(() => chooseTheme("system"));

  it("keeps the user's choice and applies it", () => {
    chooseTheme("dark");
    expect(storedTheme()).toBe("dark");
    expect(document.documentElement.dataset.theme).toBe("dark");
    applyTheme();
    expect(document.documentElement.dataset.theme).toBe("dark");
    chooseTheme("light");
    expect(document.documentElement.dataset.theme).toBe("light");
  });

  it("follows the system otherwise", () => {
    chooseTheme("system");
    expect(storedTheme()).toBe("system");
    const dark = window.matchMedia("(prefers-color-scheme: dark)").matches;
    expect(document.documentElement.dataset.theme).toBe(dark ? "dark" : "light");
  });
});
