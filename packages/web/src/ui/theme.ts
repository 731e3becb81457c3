import { effect } from "@preact/signals";
import { type ThemeChoice, theme } from "../state/model.js";

const KEY = "parley-theme";
const CHOICES: readonly ThemeChoice[] = ["system", "modern-light", "modern-dark", "terminal"];

/**
 * Applies the theme as `data-theme` on <html> (CSS does the rest): the user's choice, or for
 * "system" the modern theme in the system's light or dark preference, following it live. The
 * choice is kept in localStorage so the first paint already has it.
 */
export function startTheme(): void {
  const saved = localStorage.getItem(KEY);
  if (saved !== null && (CHOICES as readonly string[]).includes(saved)) theme.value = saved as ThemeChoice;
  const dark = matchMedia("(prefers-color-scheme: dark)");
  const apply = () => {
    const choice = theme.value;
    const resolved = choice === "system" ? (dark.matches ? "modern-dark" : "modern-light") : choice;
    document.documentElement.dataset.theme = resolved;
    document.documentElement.dataset.themeChoice = choice;
  };
  dark.addEventListener("change", apply);
  effect(() => {
    apply();
    localStorage.setItem(KEY, theme.value);
  });
}
