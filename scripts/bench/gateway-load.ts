/**
 * The load generator of the gateway benchmark (scripts/bench/gateway-bench.ts), run as its own
 * process so that autocannon's CPU use does not share an event loop with the gateway it measures:
 *
 *   GATEWAY_LOAD_SPEC='{"url":…,"headers":{…},"connections":10,"warmupSeconds":3,"durationSeconds":10}' \
 *     node scripts/bench/gateway-load.ts
 *
 * (the spec holds a bearer token: the environment keeps it off the process list)
 *
 * Runs a warm-up (results discarded but for its status codes), then the measured run, with
 * autocannon (keep-alive connections, one request in flight on each): prints `measuring` when the
 * measured run starts and its result as one JSON line at the end.
 */
import { createRequire } from "node:module";

export interface LoadSpec {
  url: string;
  headers: Record<string, string>;
  connections: number;
  warmupSeconds: number;
  durationSeconds: number;
}

export interface LoadResult {
  requestsPerSecond: number;
  /** Milliseconds. */
  p50: number;
  p99: number;
  total: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  durationSeconds: number;
  statusCodes: Record<string, number>;
  /** CPU time of this process during the measured run, as a share of one core (1 = 100%). */
  cpu: number;
  warmup: { total: number; non2xx: number; errors: number };
}

/** The environment variable holding the {@link LoadSpec} as JSON. */
export const LOAD_SPEC_VARIABLE = "GATEWAY_LOAD_SPEC";

/** Printed on its own line when the measured run starts (after the warm-up). */
export const MEASURING = "measuring";

interface Histogram {
  average: number;
  p50: number;
  p99: number;
}

interface AutocannonResult {
  requests: Histogram & { total: number };
  latency: Histogram;
  duration: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodeStats?: Record<string, { count: number | string }>;
}

type Autocannon = (options: {
  url: string;
  method: "GET";
  headers: Record<string, string>;
  connections: number;
  duration: number;
  pipelining: number;
  timeout: number;
}) => Promise<AutocannonResult>;

async function run(spec: LoadSpec, seconds: number): Promise<AutocannonResult> {
  const autocannon = createRequire(import.meta.url)("autocannon") as Autocannon;
  return autocannon({
    url: spec.url,
    method: "GET",
    headers: spec.headers,
    connections: spec.connections,
    duration: seconds,
    pipelining: 1,
    timeout: 10,
  });
}

async function main(): Promise<void> {
  const raw = process.env[LOAD_SPEC_VARIABLE];
  if (!raw) throw new Error(`${LOAD_SPEC_VARIABLE} is not set`);
  const spec = JSON.parse(raw) as LoadSpec;
  const warm = await run(spec, spec.warmupSeconds);
  process.stdout.write(`${MEASURING}\n`);
  const cpuBefore = process.cpuUsage();
  const wallBefore = performance.now();
  const measured = await run(spec, spec.durationSeconds);
  const cpuUsed = process.cpuUsage(cpuBefore);
  const cpu = (cpuUsed.user + cpuUsed.system) / 1000 / (performance.now() - wallBefore);
  const statusCodes = Object.fromEntries(
    Object.entries(measured.statusCodeStats ?? {}).map(([code, s]) => [code, Number(s.count)]),
  );
  const result: LoadResult = {
    requestsPerSecond: measured.requests.average,
    p50: measured.latency.p50,
    p99: measured.latency.p99,
    total: measured.requests.total,
    non2xx: measured.non2xx,
    errors: measured.errors,
    timeouts: measured.timeouts,
    durationSeconds: measured.duration,
    statusCodes,
    cpu,
    warmup: { total: warm.requests.total, non2xx: warm.non2xx, errors: warm.errors },
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

if (import.meta.main) await main();
