/**
 * A Bundle written as it is produced: the Bundle's own elements first, then each entry as its
 * generator yields it, so that a page of records is decrypted, transformed and sent one record at
 * a time instead of being built in memory and serialized at once. An error while entries are
 * produced destroys the stream: the client sees a broken response, never a shorter valid Bundle.
 * No entry: no `entry` element (FHIR has no empty arrays).
 */
import type { Bundle, BundleEntry } from "@medplum/fhirtypes";
import { Readable } from "node:stream";

export function bundleStream(head: Omit<Bundle, "entry">, entries: Iterable<BundleEntry>): Readable {
  function* chunks(): Generator<string> {
    const iterator = entries[Symbol.iterator]();
    let next = iterator.next();
    const start = JSON.stringify(head);
    if (next.done) {
      yield start;
      return;
    }
    yield `${start.slice(0, -1)},"entry":[${JSON.stringify(next.value)}`;
    for (next = iterator.next(); !next.done; next = iterator.next()) yield `,${JSON.stringify(next.value)}`;
    yield "]}";
  }
  return Readable.from(chunks(), { objectMode: false });
}
