/**
 * The timed reads of `npm run bench:indexer`, in a process of their own: a reader as an app server
 * or a FHIR client would be, not sharing a heap and an event loop with the benchmark's seeding of
 * 100,000 transactions or with the gateway it calls. Started by scripts/bench/indexer-bench.ts with
 * one JSON argument; prints one JSON line of p50/p99 latencies (ms).
 *
 *   node scripts/bench/indexer-reads.ts '{"indexerUrl":…,"rpcUrl":…,"registry":…,"patient":…,
 *     "consentUrl":…,"headers":{…},"samples":300,"expectedGrants":100}'
 */
import { type Address, type PublicClient, createPublicClient, http } from "viem";

import { historyPatientGrants, indexerClient } from "#sdk/history.ts";
import { readPatientGrants } from "#sdk/ledger.ts";

export interface ReadsInput {
  indexerUrl: string;
  rpcUrl: string;
  registry: Address;
  patient: Address;
  consentUrl: string;
  headers: Record<string, string>;
  samples: number;
  expectedGrants: number;
}

export interface Latency {
  p50: number;
  p99: number;
  n: number;
}

export interface ReadsOutput {
  grantsIndexer: Latency;
  grantsLogScan: Latency;
  consentIndexer: Latency;
}

const percentile = (sorted: readonly number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

/** `samples` sequential calls after a warm-up of up to 20. */
async function time(samples: number, fn: () => Promise<void>): Promise<Latency> {
  for (let i = 0; i < Math.min(20, samples); i++) await fn();
  const ms: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t = performance.now();
    await fn();
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  return { p50: percentile(ms, 50), p99: percentile(ms, 99), n: samples };
}

const say = (line: string) => void process.stderr.write(`[bench:indexer reads] ${line}\n`);

const input = JSON.parse(process.argv[2] ?? "") as ReadsInput;
const ix = indexerClient(input.indexerUrl);
const chain = createPublicClient({ transport: http(input.rpcUrl) }) as PublicClient;

// Both paths answer the same current grants, and so does the gateway.
const now = Math.floor(Date.now() / 1000);
const current = (grants: { revoked: unknown; expiresAt: number }[]) =>
  grants.filter((g) => g.revoked === null && g.expiresAt > now).length;
const viaIndexer = current((await historyPatientGrants(ix, input.patient)).grants);
const viaLogs = current((await readPatientGrants(chain, { registry: input.registry, patient: input.patient })).grants);
if (viaIndexer !== input.expectedGrants || viaLogs !== input.expectedGrants) {
  throw new Error(`current grants: indexer ${viaIndexer}, log scan ${viaLogs}, expected ${input.expectedGrants}`);
}
const first = await fetch(input.consentUrl, { headers: input.headers });
const bundle = (await first.json()) as { entry?: unknown[] };
if (first.status !== 200 || bundle.entry?.length !== input.expectedGrants) {
  throw new Error(`GET /fhir/Consent: ${first.status}, ${bundle.entry?.length} entries`);
}

say(`"a patient's current grants" through the indexer, ${input.samples} sequential calls ...`);
const grantsIndexer = await time(input.samples, async () => {
  await historyPatientGrants(ix, input.patient);
});
say(`... and by today's log scan (readPatientGrants), ${Math.ceil(input.samples / 3)} calls ...`);
const grantsLogScan = await time(Math.ceil(input.samples / 3), async () => {
  await readPatientGrants(chain, { registry: input.registry, patient: input.patient });
});
say(`GET /fhir/Consent?patient= at the gateway (through the indexer), ${input.samples} sequential requests ...`);
const consentIndexer = await time(input.samples, async () => {
  const res = await fetch(input.consentUrl, { headers: input.headers });
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`GET /fhir/Consent answered ${res.status}`);
});
console.log(JSON.stringify({ grantsIndexer, grantsLogScan, consentIndexer } satisfies ReadsOutput));
