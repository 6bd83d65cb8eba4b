#!/usr/bin/env node
// Node wrapper, in the spirit of the Gradle wrapper: `npm start` / `npm test` run through here.
//
//  1. Make sure a Node >= 22.13 runs the project. When the Node that runs this file is older,
//     fetch the pinned Node 24 LTS from the npm registry (package node-<platform>-<arch>) into
//     .tools/, once.
//  2. Make sure node_modules matches package-lock.json and was installed by that Node (npm on an
//     older Node silently skips Hardhat's native EDR binding). A changed lockfile or a tree
//     without a loadable EDR binding is (re)installed with `npm ci` under the chosen Node.
//  3. Run `npm run <script>` under that Node, with it first on PATH.
//
// Dependency-free on purpose: it runs before node_modules exists, on any Node >= 18.
import { createHash } from "node:crypto";
import { spawn, spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
  mkdtempSync,
  readdirSync,
} from "node:fs";
import { dirname, join, delimiter } from "node:path";
import { fileURLToPath } from "node:url";

const PINNED_NODE = "24.22.3";
const MIN_NODE = [22, 13, 0];
const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const toolsDir = join(root, ".tools");
const stampFile = join(root, "node_modules", ".consentry-install.json");

const log = (msg) => process.stderr.write(`[consentry] ${msg}\n`);
const fail = (msg) => {
  process.stderr.write(`[consentry] error: ${msg}\n`);
  process.exit(1);
};

function versionAtLeast(version, min) {
  const parts = version.replace(/^v/, "").split(".").map(Number);
  for (let i = 0; i < 3; i++) {
    if ((parts[i] ?? 0) !== min[i]) return (parts[i] ?? 0) > min[i];
  }
  return true;
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: "inherit", cwd: root, ...opts });
  if (r.error) fail(`could not run ${cmd}: ${r.error.message}`);
  return r.status ?? (r.signal ? 128 : 1);
}

/** The npm CLI script of the npm that invoked us (or the one on PATH). */
function npmCli() {
  const fromEnv = process.env.npm_execpath;
  if (fromEnv && /npm-cli\.js$/.test(fromEnv) && existsSync(fromEnv)) return fromEnv;
  const candidates = [
    join(dirname(process.execPath), "..", "lib", "node_modules", "npm", "bin", "npm-cli.js"),
    "/usr/lib/node_modules/npm/bin/npm-cli.js",
    "/usr/local/lib/node_modules/npm/bin/npm-cli.js",
  ];
  const found = candidates.find((c) => existsSync(c));
  if (!found) fail("cannot find npm's npm-cli.js; run this through `npm start` / `npm test`.");
  return found;
}

function nodePackageName() {
  const platform = { linux: "linux", darwin: "darwin", win32: "win" }[process.platform];
  const arch = { x64: "x64", arm64: "arm64" }[process.arch];
  if (!platform || !arch) return null;
  return `node-${platform}-${arch}`;
}

/** Returns the path of a Node binary >= 22.13, fetching the pinned one if needed. */
function ensureNode() {
  if (versionAtLeast(process.version, MIN_NODE)) return process.execPath;
  const pkg = nodePackageName();
  if (!pkg) {
    fail(
      `Node ${process.version} on ${process.platform}-${process.arch} is too old and no pinned Node exists for this platform: install Node >= 22.13 (Node 24 LTS recommended) and retry.`,
    );
  }
  const home = join(toolsDir, `node-v${PINNED_NODE}`);
  const bin = join(home, process.platform === "win32" ? "node.exe" : join("bin", "node"));
  if (existsSync(bin)) return bin;
  log(`Node ${process.version} is older than 22.13: fetching ${pkg}@${PINNED_NODE} from the npm registry (once) ...`);
  mkdirSync(toolsDir, { recursive: true });
  const tmp = mkdtempSync(join(toolsDir, "tmp-"));
  try {
    const npm = npmCli();
    if (run(process.execPath, [npm, "pack", `${pkg}@${PINNED_NODE}`, "--pack-destination", tmp, "--silent"]) !== 0) {
      fail(`could not fetch ${pkg}@${PINNED_NODE} from the npm registry; install Node >= 22.13 yourself and retry.`);
    }
    const tgz = readdirSync(tmp).find((f) => f.endsWith(".tgz"));
    if (!tgz) fail(`npm pack produced no archive for ${pkg}@${PINNED_NODE}`);
    if (run("tar", ["xzf", join(tmp, tgz), "-C", tmp]) !== 0)
      fail("could not unpack the Node archive (is `tar` installed?)");
    rmSync(home, { recursive: true, force: true });
    renameSync(join(tmp, "package"), home);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  if (!existsSync(bin)) fail(`the ${pkg}@${PINNED_NODE} package has no ${bin}`);
  log(`Node ${PINNED_NODE} ready in ${home}`);
  return bin;
}

function lockHash() {
  const lock = join(root, "package-lock.json");
  if (!existsSync(lock)) fail("package-lock.json is missing: the project installs exactly what its lockfile pins.");
  return createHash("sha256").update(readFileSync(lock)).digest("hex");
}

function edrLoads(node, env) {
  const r = spawnSync(node, ["-e", "require('@nomicfoundation/edr')"], { cwd: root, env, stdio: "ignore" });
  return r.status === 0;
}

function readStamp() {
  try {
    return JSON.parse(readFileSync(stampFile, "utf8"));
  } catch {
    return null;
  }
}

function ensureDeps(node, env) {
  const nodeVersion = spawnSync(node, ["-p", "process.versions.node"], { encoding: "utf8" }).stdout.trim();
  const want = { lock: lockHash(), nodeMajor: nodeVersion.split(".")[0] };
  const stamp = readStamp();
  const hasModules = existsSync(join(root, "node_modules"));
  if (stamp && stamp.lock === want.lock && stamp.nodeMajor === want.nodeMajor && edrLoads(node, env)) return;
  if (!stamp && hasModules && edrLoads(node, env)) {
    // Installed by `npm ci` under a suitable Node: adopt it.
    writeFileSync(stampFile, JSON.stringify(want));
    return;
  }
  const why = !hasModules
    ? "no node_modules yet"
    : stamp && stamp.lock !== want.lock
      ? "package-lock.json changed"
      : "the installed tree lacks Hardhat's native EDR binding (installed by an older Node?)";
  log(`installing dependencies with Node ${nodeVersion} (${why}) ...`);
  if (run(node, [npmCli(), "ci", "--no-audit", "--no-fund"], { env }) !== 0) fail("npm ci failed (see above).");
  if (!edrLoads(node, env)) fail("Hardhat's EDR binding still does not load after npm ci; see the npm output above.");
  writeFileSync(stampFile, JSON.stringify(want));
}

const script = process.argv[2];
if (!script) fail("usage: node scripts/bootstrap.mjs <npm-script> [args...]");
const node = ensureNode();
const nodeHome = dirname(node);
const env = { ...process.env, PATH: `${nodeHome}${delimiter}${process.env.PATH ?? ""}` };
if (node !== process.execPath) {
  // Native addons must build against the headers of the Node that runs them.
  env.npm_config_nodedir = dirname(nodeHome);
}
ensureDeps(node, env);
const child = spawn(node, [npmCli(), "run", "--silent", script, "--", ...process.argv.slice(3)], {
  cwd: root,
  env,
  stdio: "inherit",
});
// Ctrl-C reaches the whole foreground process group; a signal sent to this process alone is passed on.
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(sig, () => {
    if (child.exitCode === null) child.kill(sig);
  });
}
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 130 : 1)));
