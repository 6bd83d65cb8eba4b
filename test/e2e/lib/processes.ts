/**
 * Processes of the end-to-end tests: each started in its own process group (so that stopping it
 * stops whatever it started), its output kept for error messages; free ports; HTTP readiness.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { join } from "node:path";

export const HOST = "127.0.0.1";
export const ROOT = new URL("../../../", import.meta.url).pathname;
export const NEXT_CLI = join(ROOT, "node_modules/next/dist/bin/next");

export interface Proc {
  name: string;
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

export function startProcess(name: string, args: string[], env: NodeJS.ProcessEnv = {}): Proc {
  // detached: its own process group, so that stopping it stops whatever it started.
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1", ...env },
  });
  let out = "";
  const append = (chunk: Buffer) => {
    out += chunk.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  child.stdout!.on("data", append);
  child.stderr!.on("data", append);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { name, child, output: () => out, exited };
}

export async function waitFor(proc: Proc, ready: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let done = false;
  void proc.exited.then(() => (done = true));
  while (Date.now() < deadline) {
    if (done) throw new Error(`${proc.name} exited (${proc.child.exitCode}) before it was ready:\n${proc.output()}`);
    if (await ready()) return;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`${proc.name} was not ready within ${timeoutMs / 1000} s:\n${proc.output()}`);
}

/** Runs a command to its end; resolves with its duration in seconds, rejects with its output. */
export async function runToEnd(
  name: string,
  args: string[],
  timeoutMs: number,
  env: NodeJS.ProcessEnv = {},
): Promise<number> {
  const started = performance.now();
  const proc = startProcess(name, args, env);
  const timer = setTimeout(() => void stopProcess(proc, "SIGTERM"), timeoutMs);
  const code = await proc.exited;
  clearTimeout(timer);
  if (code !== 0) throw new Error(`${name} failed (exit ${code}):\n${proc.output()}`);
  return (performance.now() - started) / 1000;
}

export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function stopProcess(proc: Proc | undefined, signal: NodeJS.Signals): Promise<void> {
  const pid = proc?.child.pid;
  if (!proc || !pid || !groupAlive(pid)) return;
  try {
    process.kill(-pid, signal);
  } catch {
    return;
  }
  const deadline = Date.now() + 10_000;
  while (groupAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (groupAlive(pid)) process.kill(-pid, "SIGKILL");
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, HOST, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export async function answers(url: string, init?: RequestInit): Promise<boolean> {
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(2_000) });
    return res.ok;
  } catch {
    return false;
  }
}
