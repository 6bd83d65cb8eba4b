/**
 * Prints a deterministic synthetic data set as a FHIR transaction Bundle, to POST to a gateway:
 *
 *   node gateway/src/cli/synthetic.ts --seed 42 --custodian "Riverside General Hospital" [--patients 5] [--as-of 2025-06-30]
 */
import { parseArgs } from "node:util";
import { generateSyntheticData, syntheticTransactionBundle } from "../dev/synthetic.ts";

export function syntheticBundleJson(argv: string[]): string {
  const { values } = parseArgs({
    args: argv,
    options: {
      seed: { type: "string", default: "consentry" },
      custodian: { type: "string" },
      patients: { type: "string", default: "5" },
      "as-of": { type: "string" },
    },
    strict: true,
  });
  if (!values.custodian) throw new Error("--custodian is required");
  const data = generateSyntheticData({
    seed: values.seed,
    custodian: values.custodian,
    patients: Number(values.patients),
    ...(values["as-of"] ? { asOf: values["as-of"] } : {}),
  });
  return JSON.stringify(syntheticTransactionBundle(data));
}

if (import.meta.main) {
  try {
    process.stdout.write(`${syntheticBundleJson(process.argv.slice(2))}\n`);
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(64);
  }
}
