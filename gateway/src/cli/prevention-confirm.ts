/**
 * Runs the custodian's prevention confirmations for a programme, for cron: asks the running gateway
 * (`POST /prevention/programmes/{programmeId}/confirmations` with the admin token), which reads the
 * records, sends `reportConfirmations` with the custodian's GATEWAY key (the one process that sends
 * its transactions, so nonces never collide; a PGlite data directory is open there only) and writes
 * the AuditEvents.
 *
 *   node gateway/src/cli/prevention-confirm.ts --programme <id> [--period <n>] [--json]
 *                                                             (npm run prevention:confirm -- …)
 *
 * Reads GATEWAY_PUBLIC_URL (or GATEWAY_HOST and GATEWAY_PORT on loopback, as the gateway does) and
 * GATEWAY_ADMIN_TOKEN. Without --period, the programme's current period. Prints a line (or the
 * gateway's JSON summary with --json). Exit status: 0 done (also when nobody new was confirmed),
 * 1 refused by the gateway (unknown programme, not one of its custodians, period not begun, …),
 * 64 usage, 69 gateway unreachable or unavailable (503: e.g. PREVENTION_REWARDS_ADDRESS not set),
 * 78 configuration.
 */
import type { OperationOutcome } from "@medplum/fhirtypes";
import { ConfigError, loadPreventionConfirmConfig, type Env } from "../config/config.ts";
import { outcomeText } from "../fhir/outcomes.ts";
import type { ConfirmationSummary } from "../routes/prevention.ts";

/** How long a run may take (a programme with many patients sends several transactions). */
const TIMEOUT_MS = 15 * 60_000;
const DECIMAL = /^(0|[1-9][0-9]{0,77})$/;

export interface PreventionConfirmDeps {
  fetch?: typeof fetch;
}

const USAGE = "usage: node gateway/src/cli/prevention-confirm.ts --programme <id> [--period <n>] [--json]";

export async function runPreventionConfirm(
  env: Env,
  argv: readonly string[],
  out: (line: string) => void,
  deps: PreventionConfirmDeps = {},
): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    out(`${USAGE}   (settings from the environment; see the file header)`);
    return 0;
  }
  let programme: string | undefined;
  let period: number | undefined;
  let asJson = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--json") asJson = true;
    else if (arg === "--programme" && programme === undefined && DECIMAL.test(argv[i + 1] ?? "")) programme = argv[++i];
    else if (arg === "--period" && period === undefined && /^[0-9]{1,10}$/.test(argv[i + 1] ?? "")) {
      period = Number(argv[++i]);
      if (period > 2 ** 32 - 1) {
        out("prevention-confirm: --period must be at most 4294967295");
        return 64;
      }
    } else {
      out(`prevention-confirm: unexpected argument ${arg.slice(0, 80)}\n${USAGE}`);
      return 64;
    }
  }
  if (programme === undefined) {
    out(`prevention-confirm: --programme <id> is required\n${USAGE}`);
    return 64;
  }
  let config;
  try {
    config = loadPreventionConfirmConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      out(err.message);
      return 78;
    }
    throw err;
  }
  const url = `${config.publicUrl}/prevention/programmes/${programme}/confirmations`;
  let res: Response;
  try {
    res = await (deps.fetch ?? fetch)(url, {
      method: "POST",
      headers: {
        authorization: `Bearer ${config.adminToken.reveal()}`,
        "content-type": "application/json",
        accept: "application/json",
      },
      body: JSON.stringify(period === undefined ? {} : { period }),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (err) {
    const reason = err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
    out(`prevention-confirm: the gateway at ${config.publicUrl} is unreachable: ${reason.split("\n")[0]}`);
    return 69;
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (!res.ok) {
    const said =
      (body as OperationOutcome | undefined)?.resourceType === "OperationOutcome"
        ? outcomeText(body as OperationOutcome)
        : text.slice(0, 200);
    out(`prevention-confirm: the gateway answered ${res.status}: ${said}`);
    return res.status >= 500 ? 69 : 1;
  }
  const summary = body as ConfirmationSummary;
  if (asJson) {
    out(JSON.stringify(summary));
    return 0;
  }
  const reasons = Object.entries(summary.skippedReasons ?? {})
    .map(([reason, n]) => `${n} ${reason}`)
    .join(", ");
  out(
    `prevention programme ${summary.programmeId}, period ${summary.period} (block ${summary.block}): ` +
      `${summary.confirmed} confirmed, ${summary.skipped} skipped${reasons ? ` (${reasons})` : ""}, ` +
      `${summary.notMet} not meeting the criterion`,
  );
  for (const tx of summary.transactions ?? []) out(`  transaction ${tx}`);
  return 0;
}

if (import.meta.main) {
  runPreventionConfirm(process.env, process.argv.slice(2), (line) => process.stdout.write(`${line}\n`)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`prevention-confirm failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(70);
    },
  );
}
