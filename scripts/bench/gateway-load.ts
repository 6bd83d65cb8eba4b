/**
 * The load generator of the gateway benchmark (scripts/bench/gateway-bench.ts), run as its own
 * process so that autocannon's CPU use does not share an event loop with the gateway it measures:
 *
 *   node scripts/bench/gateway-load.ts '{"url":…,"headers":{…},"connections":10,"warmupSeconds":3,"durationSeconds":10}'
 *
 * Runs a warm-up (results discarded but for its status codes), then the measured run, with
 * autocannon (keep-alive connections, one request in flight on each), and prints one JSON line.
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
  warmup: { total: number; non2xx: number; errors: number };
}

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

const autocannon = createRequire(import.meta.url)("autocannon") as Autocannon;

async function run(spec: LoadSpec, seconds: number): Promise<AutocannonResult> {
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

const spec = JSON.parse(process.argv[2] ?? "{}") as LoadSpec;
const warm = await run(spec, spec.warmupSeconds);
const measured = await run(spec, spec.durationSeconds);
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
  warmup: { total: warm.requests.total, non2xx: warm.non2xx, errors: warm.errors },
};
process.stdout.write(`${JSON.stringify(result)}\n`);
