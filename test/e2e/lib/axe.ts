/** axe-core in the browser tests: WCAG 2.0–2.2 A and AA rules, at phone and desktop width. */
import { AxeBuilder } from "@axe-core/playwright";
import type { Page } from "playwright-core";

import { DESKTOP, PHONE } from "./environment.ts";

const TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"];

/** Every violation on the page as it is now, at phone then desktop width, with up to 3 of its nodes. */
export async function violations(page: Page, label: string): Promise<string[]> {
  const found: string[] = [];
  for (const viewport of [PHONE, DESKTOP]) {
    await page.setViewportSize(viewport);
    await page.waitForTimeout(200);
    const result = await new AxeBuilder({ page }).withTags(TAGS).analyze();
    for (const v of result.violations) {
      found.push(
        `${label} at ${viewport.width} px: ${v.id} (${v.impact}): ${v.help}\n    ${v.nodes
          .slice(0, 3)
          .map((n) => n.target.join(" "))
          .join("\n    ")}`,
      );
    }
  }
  return found;
}
