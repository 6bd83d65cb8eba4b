/**
 * Writes a file so that a reader at the same time sees the old content or the new, never a part:
 * the new content goes to a file beside it, which then replaces it (rename is atomic on one file
 * system). For sdk/generated/deployments.json, which a deploy rewrites while the web app's build or
 * a test may be reading it.
 */
import { renameSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export function writeFileAtomically(file: string | URL, text: string): void {
  const path = file instanceof URL ? fileURLToPath(file) : file;
  const beside = `${path}.${process.pid}.tmp`;
  writeFileSync(beside, text);
  renameSync(beside, path);
}
