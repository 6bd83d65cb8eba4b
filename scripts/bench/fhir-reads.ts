/**
 * The timed `GET /fhir/Consent?patient=` of `npm run bench:indexer`, in a process of its own that
 * loads what a FHIR client loads: Node's fetch and nothing of the sdk or of Ponder. (In the process
 * of scripts/bench/indexer-reads.ts, whose heap holds Ponder's framework through sdk/history.ts,
 * the same requests measured a p99 about 10 ms higher: the client's own collections, not the
 * gateway's time.) Started by scripts/bench/indexer-bench.ts with one JSON argument; prints one
 * JSON line of p50/p99 latencies (ms).
 *
 *   node scripts/bench/fhir-reads.ts '{"url":…,"headers":{…},"samples":300,"expectedEntries":100}'
 */
import { type Latency, time } from "./timed.ts";

export interface FhirReadsInput {
  url: string;
  headers: Record<string, string>;
  samples: number;
  /** Entries the first answer's searchset must have. */
  expectedEntries: number;
}

export interface FhirReadsOutput {
  consentIndexer: Latency;
}

const input = JSON.parse(process.argv[2] ?? "") as FhirReadsInput;

// The first answer is the searchset expected (fetch asks for gzip and inflates, as a client would).
const first = await fetch(input.url, { headers: input.headers });
const bundle = (await first.json()) as { resourceType?: string; entry?: unknown[] };
if (first.status !== 200 || bundle.resourceType !== "Bundle" || bundle.entry?.length !== input.expectedEntries) {
  throw new Error(
    `GET ${input.url}: ${first.status}, ${bundle.entry?.length} entries, ${input.expectedEntries} expected`,
  );
}

process.stderr.write(
  `[bench:indexer reads] GET /fhir/Consent?patient= at the gateway (through the indexer), ${input.samples} sequential requests from a FHIR client ...\n`,
);
const consentIndexer = await time(input.samples, async () => {
  const res = await fetch(input.url, { headers: input.headers });
  const body = await res.arrayBuffer();
  if (res.status !== 200 || body.byteLength === 0) throw new Error(`GET /fhir/Consent answered ${res.status}`);
});
console.log(JSON.stringify({ consentIndexer } satisfies FhirReadsOutput));
