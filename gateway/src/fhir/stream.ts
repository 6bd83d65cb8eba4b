/**
 * A Bundle written as it is produced: the Bundle's own elements first, then each entry as its
 * generator yields it, so that a page of records is decrypted, transformed and sent one record at
 * a time instead of being built in memory and serialized at once. An error while entries are
 * produced destroys the stream: the client sees a broken response, never a shorter valid Bundle.
 * No entry: no `entry` element (FHIR has no empty arrays).
 */
import type { Bundle, BundleEntry } from "@medplum/fhirtypes";
import { randomUUID } from "node:crypto";
import { Readable } from "node:stream";

export function bundleStream(head: Omit<Bundle, "entry">, entries: Iterable<BundleEntry>): Readable {
  return Readable.from(bundleChunks(head, entries), { objectMode: false });
}

/**
 * A Bundle's JSON in pieces: its own elements, with the entries in the place of its `entry` key
 * (last when it has none), one piece per entry. No entry: the Bundle's own elements as they are.
 */
function* bundleChunks(bundle: object, entries: Iterable<unknown>): Generator<string> {
  const iterator = entries[Symbol.iterator]();
  let next = iterator.next();
  if (next.done) {
    yield JSON.stringify(bundle);
    return;
  }
  const marker = `"${randomUUID()}"`;
  const [before, after] = JSON.stringify({ ...bundle, entry: JSON.parse(marker) as string }).split(marker) as [
    string,
    string,
  ];
  yield `${before}[${JSON.stringify(next.value)}`;
  for (next = iterator.next(); !next.done; next = iterator.next()) yield `,${JSON.stringify(next.value)}`;
  yield `]${after}`;
}

/**
 * A resource's JSON as bytes, the same text as JSON.stringify. A Bundle's entries are serialized
 * one by one into a buffer, so that a large answer (a patient's 100 Consents are 190 kB) never
 * exists as one string: V8 puts a string that large in its old generation, which only a full
 * collection frees, and a gateway answering such lists filled it with them (a full collection of
 * 40 to 76 ms every 600 to 800 listings, measured on bench:indexer's chain; 7 to 37 ms with the
 * buffers, whose memory is outside the heap). The entries' strings die young.
 */
export function jsonBytes(resource: object): Buffer {
  const entries = (resource as { entry?: unknown }).entry;
  if (!Array.isArray(entries) || entries.length === 0) return Buffer.from(JSON.stringify(resource));
  const parts = [...bundleChunks(resource, entries)];
  let size = 0;
  for (const part of parts) size += Buffer.byteLength(part);
  const bytes = Buffer.allocUnsafe(size);
  let offset = 0;
  for (const part of parts) offset += bytes.write(part, offset);
  return bytes;
}
