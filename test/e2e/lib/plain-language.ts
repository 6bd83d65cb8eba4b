/**
 * What a patient reads on a page, for the jargon test and the reading score (issue 18, item 2):
 * the text of every visible leaf block (paragraph, list item, heading, label, button, option, cell,
 * status…) and the accessible names and placeholders given in attributes, leaving out what is inside
 * a "Details" disclosure (its summary, "Details", counts).
 */
import type { Page } from "playwright-core";

import { findJargon } from "../../../scripts/lib/readability.ts";

const BLOCKS =
  "h1, h2, h3, h4, h5, p, li, dt, dd, th, td, label, legend, button, option, a, summary, caption, figcaption, span.badge, [role=status], [role=alert]";

/** The patient-visible strings of the page now (deduplicated, whitespace collapsed). */
export async function visibleStrings(page: Page): Promise<string[]> {
  return page.evaluate((selector) => {
    const inDetails = (el: Element) => {
      const details = el.closest("details");
      return !!details && !el.closest("summary");
    };
    const shown = (el: Element) =>
      !el.closest("[hidden], [aria-hidden=true], dialog:not([open])") &&
      (typeof (el as HTMLElement).checkVisibility !== "function" ||
        (el as HTMLElement).checkVisibility() ||
        el.tagName === "OPTION");
    const out = new Set<string>();
    for (const el of document.body.querySelectorAll(selector)) {
      if (inDetails(el) || !shown(el)) continue;
      // Leaf blocks only: a container's text is its children's.
      if (el.querySelector(selector) && !["LABEL", "BUTTON", "A", "SUMMARY"].includes(el.tagName)) {
        // Text directly in it (not in a child block) still counts.
        const own = [...el.childNodes]
          .filter((n) => n.nodeType === Node.TEXT_NODE)
          .map((n) => n.textContent ?? "")
          .join(" ");
        if (own.trim()) out.add(own.replace(/\s+/g, " ").trim());
        continue;
      }
      const clone = el.cloneNode(true) as Element;
      for (const d of clone.querySelectorAll("details > :not(summary)")) d.remove();
      const text = (clone.textContent ?? "").replace(/\s+/g, " ").trim();
      if (text) out.add(text);
    }
    for (const el of document.body.querySelectorAll("[aria-label], [placeholder], img[alt]")) {
      if (inDetails(el) || !shown(el)) continue;
      for (const name of ["aria-label", "placeholder", "alt"]) {
        const value = el.getAttribute(name);
        if (value?.trim()) out.add(value.trim());
      }
    }
    return [...out];
  }, BLOCKS);
}

/** Collects what the patient reads in each state reached, and the jargon in it. */
export class PlainLanguageLog {
  readonly strings = new Set<string>();
  readonly problems: string[] = [];

  async collect(page: Page, state: string): Promise<void> {
    for (const text of await visibleStrings(page)) {
      if (this.strings.has(text)) continue;
      this.strings.add(text);
      for (const problem of findJargon(text)) this.problems.push(`${state}: ${problem} in "${text.slice(0, 140)}"`);
    }
  }
}
