/**
 * Shared by the anvil tests (test/anvil/anvil-story.test.ts, test/e2e/anvil-app.test.ts): anvil's
 * (= Hardhat's) development accounts and the processes they start.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";

import { type Abi, type Address, type Hex, createPublicClient, createWalletClient, getAddress, http } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { DEV_PRIVATE_KEYS } from "#sdk/demo.ts";

export const CHAIN_ID = 31338;
/**
 * anvil's development keys are Hardhat's (the same mnemonic): one list, in the sdk. anvil funds
 * the first ten (the sdk's list goes on to the demo payer's, #10, which only Hardhat's node funds).
 */
export const KEYS = DEV_PRIVATE_KEYS.slice(0, 10) as unknown as readonly [
  Hex,
  Hex,
  Hex,
  Hex,
  Hex,
  Hex,
  Hex,
  Hex,
  Hex,
  Hex,
];
export const who = {
  deployer: privateKeyToAccount(KEYS[0]),
  multisig: privateKeyToAccount(KEYS[1]),
  patient: privateKeyToAccount(KEYS[2]),
  hospital: privateKeyToAccount(KEYS[3]),
  clinician: privateKeyToAccount(KEYS[4]),
  lab: privateKeyToAccount(KEYS[6]),
  labGateway: privateKeyToAccount(KEYS[7]),
  research: privateKeyToAccount(KEYS[8]),
  issuer: privateKeyToAccount(KEYS[9]),
};
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Runs a command to its end (stdin not a terminal); its output, or throws with it. */
export function run(args: string[], env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(args[0]!, args.slice(1), {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...env },
    });
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (out += c.toString()));
    child.once("exit", (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${args.join(" ")} exited ${code}:\n${out}`)),
    );
  });
}

/** Starts a long-running process; resolves when `ready` appears in its output. */
export function start(
  args: string[],
  env: Record<string, string>,
  ready: RegExp,
): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(args[0]!, args.slice(1), { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
  let out = "";
  return new Promise((resolve, reject) => {
    const onData = (c: Buffer) => {
      out += c.toString();
      if (ready.test(out)) resolve({ child, output: () => out });
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => reject(new Error(`${args.join(" ")} exited (${code}) before it was ready:\n${out}`)));
  });
}

export function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}

/** Starts anvil (the pinned npm @foundry-rs/anvil) on a free port with chain id 31338; its RPC URL. */
export async function startAnvil(): Promise<{ child: ChildProcess; rpc: string }> {
  const port = await freePort();
  const { child } = await start(
    [
      process.execPath,
      "node_modules/@foundry-rs/anvil/bin.mjs",
      "--host",
      "127.0.0.1",
      "--port",
      String(port),
      "--chain-id",
      String(CHAIN_ID),
    ],
    { TARGET_TOOL: "anvil" },
    /Listening on/,
  );
  return { child, rpc: `http://127.0.0.1:${port}` };
}

/** A stablecoin that exists before Consentry: a plain ERC-20 of its own issuer (account #9). */
export async function deployStablecoin(rpc: string): Promise<Address> {
  const artifact = JSON.parse(
    readFileSync("artifacts/contracts/RemunerationToken.sol/RemunerationToken.json", "utf8"),
  ) as { abi: Abi; bytecode: Hex };
  const issuer = createWalletClient({ account: who.issuer, transport: http(rpc) });
  const hash = await issuer.deployContract({
    abi: artifact.abi,
    bytecode: artifact.bytecode,
    args: ["Test USD", "TUSD", who.issuer.address, who.issuer.address],
    chain: null,
  });
  const client = createPublicClient({ transport: http(rpc) });
  return getAddress((await client.waitForTransactionReceipt({ hash })).contractAddress!);
}
