/** Driving a page by keyboard only, as the keyboard tests do: no clicks, no `.focus()`. */
import { expect } from "chai";
import type { Page } from "playwright-core";

/** What the keyboard is on: role, accessible name as the page gives it, and the text inside. */
export async function describeFocus(page: Page): Promise<string> {
  return page.evaluate(() => {
    const el = document.activeElement as HTMLElement | null;
    if (!el || el === document.body) return "(page)";
    const label =
      el.getAttribute("aria-label") ??
      ((el as HTMLInputElement).labels?.[0]?.textContent || null) ??
      el.textContent ??
      "";
    return `${el.getAttribute("role") ?? el.tagName.toLowerCase()}: ${label.replace(/\s+/g, " ").trim()}`;
  });
}

/** Presses Tab until the focused element's description matches (keyboard only: no clicks, no .focus()). */
export async function tabTo(page: Page, match: RegExp, max = 250): Promise<void> {
  const seen: string[] = [];
  for (let i = 0; i < max; i++) {
    await page.keyboard.press("Tab");
    const now = await describeFocus(page);
    if (match.test(now)) return;
    seen.push(now);
  }
  expect.fail(`Tab never reached ${match}; went through:\n${seen.slice(-60).join("\n")}`);
}
