// Light or dark: the system's choice unless the user picked one. The choice
// is kept in this browser's localStorage (it says nothing about the profile,
// and the lock screen needs it before any unlock) and applied as
// `data-theme` on the root element, which the styles follow.

export type Theme = "system" | "light" | "dark";

const THEME_KEY = "sotto.theme";
const DARK = "(prefers-color-scheme: dark)";

let followSystem: (() => void) | null = null;

export function storedTheme(): Theme {
  try {
    const stored = window.localStorage.getItem(THEME_KEY);
    return stored === "light" || stored === "dark" ? stored : "system";
  } catch {
    return "system";
  }
}

/** Applies `theme` to the page now and, for "system", whenever the system's choice changes. */
export function applyTheme(theme: Theme = storedTheme()): void {
  const media = typeof window.matchMedia === "function" ? window.matchMedia(DARK) : null;
  if (followSystem && media) media.removeEventListener("change", followSystem);
  followSystem = null;
  const set = () => {
    const dark = theme === "dark" || (theme === "system" && media?.matches === true);
    document.documentElement.dataset.theme = dark ? "dark" : "light";
  };
  set();
  if (theme === "system" && media) {
    followSystem = set;
    media.addEventListener("change", set);
  }
}

/** Keeps and applies the user's choice. */
export function chooseTheme(theme: Theme): void {
  try {
    if (theme === "system") window.localStorage.removeItem(THEME_KEY);
    else window.localStorage.setItem(THEME_KEY, theme);
  } catch {
    // Not kept: it applies until the page is loaded again.
  }
  applyTheme(theme);
}
