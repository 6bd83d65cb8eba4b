/**
 * The timed reads of "a patient's current grants" in `npm run bench:indexer`, in a process of their
 * own: a reader as an app server would be (the sdk's history and ledger readers), not sharing a heap
 * and an event loop with the benchmark's seeding of 100,000 transactions. The gateway's
 * `GET /fhir/Consent` is timed from a FHIR client's process (scripts/bench/fhir-reads.ts). Started
 * by scripts/bench/indexer-bench.ts with one JSON argument; prints one JSON line of p50/p99
 * latencies (ms).
 *
 *   node scripts/bench/indexer-reads.ts '{"indexerUrl":…,"rpcUrl":…,"registry":…,"patient":…,
 *     "samples":300,"expectedGrants":100}'
 */
import { type Address, type PublicClient, createPublicClient, http } from "viem";

import { historyPatientGrants, indexerClient } from "#sdk/history.ts";
import { readPatientGrants } from "#sdk/ledger.ts";
import { type Latency, time } from "./timed.ts";

export interface ReadsInput {
  indexerUrl: string;
  rpcUrl: string;
  registry: Address;
  patient: Address;
  samples: number;
  expectedGrants: number;
}

export interface ReadsOutput {
  grantsIndexer: Latency;
  grantsLogScan: Latency;
}

const say = (line: string) => void process.stderr.write(`[bench:indexer reads] ${line}\n`);

const input = JSON.parse(process.argv[2] ?? "") as ReadsInput;
const ix = indexerClient(input.indexerUrl);
const chain = createPublicClient({ transport: http(input.rpcUrl) }) as PublicClient;

// Both paths answer the same current grants.
const now = Math.floor(Date.now() / 1000);
const current = (grants: { revoked: unknown; expiresAt: number }[]) =>
  grants.filter((g) => g.revoked === null && g.expiresAt > now).length;
const viaIndexer = current((await historyPatientGrants(ix, input.patient)).grants);
const viaLogs = current((await readPatientGrants(chain, { registry: input.registry, patient: input.patient })).grants);
if (viaIndexer !== input.expectedGrants || viaLogs !== input.expectedGrants) {
  throw new Error(`current grants: indexer ${viaIndexer}, log scan ${viaLogs}, expected ${input.expectedGrants}`);
}

say(`"a patient's current grants" through the indexer, ${input.samples} sequential calls ...`);
const grantsIndexer = await time(input.samples, async () => {
  await historyPatientGrants(ix, input.patient);
});
say(`... and by today's log scan (readPatientGrants), ${Math.ceil(input.samples / 3)} calls ...`);
const grantsLogScan = await time(Math.ceil(input.samples / 3), async () => {
  await readPatientGrants(chain, { registry: input.registry, patient: input.patient });
});
console.log(JSON.stringify({ grantsIndexer, grantsLogScan } satisfies ReadsOutput));
