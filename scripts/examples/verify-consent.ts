/**
 * What a provider's own backend does before a record leaves it, with the sdk by its name (`#sdk`):
 * ask the chain whether this reader may read this kind of record of this patient, for this
 * purpose, now. The decision is read at the chain's latest block; print it in words.
 *
 *   node scripts/examples/verify-consent.ts <patient> <reader> [category] [purpose]
 *   (default category Observation, purpose TREAT; RPC_URL, default http://127.0.0.1:8545; the
 *   registry's address comes from the sdk's deployments for the chain's id)
 *
 * Exits 0 when allowed, 3 when not, 1 on bad input or an unreachable chain.
 */
import { createPublicClient, http, isAddress } from "viem";

import { CATEGORY_NAMES, type CategoryName, PURPOSES, type PurposeName, contractAddress, verifyConsent } from "#sdk";

const [patient, reader, category = "Observation", purpose = "TREAT"] = process.argv.slice(2);
if (!patient || !reader || !isAddress(patient) || !isAddress(reader)) {
  console.error(
    "usage: node scripts/examples/verify-consent.ts <patient address> <reader address> [category] [purpose]",
  );
  process.exit(1);
}

if (!CATEGORY_NAMES.includes(category as CategoryName)) {
  console.error(`unknown category ${category}: one of ${CATEGORY_NAMES.join(", ")}`);
  process.exit(1);
}
if (!(purpose in PURPOSES)) {
  console.error(`unknown purpose ${purpose}: one of ${Object.keys(PURPOSES).join(", ")}`);
  process.exit(1);
}

try {
  const client = createPublicClient({ transport: http(process.env.RPC_URL ?? "http://127.0.0.1:8545") });
  const registry = contractAddress(await client.getChainId(), "ConsentRegistry");
  const decision = await verifyConsent(client, {
    registry,
    patient,
    grantee: reader,
    category: category as CategoryName,
    purpose: purpose as PurposeName,
  });
  console.log(
    `${decision.allowed ? "allowed" : "not allowed"} at block ${decision.blockNumber}: ${decision.explanation}`,
  );
  process.exit(decision.allowed ? 0 : 3);
} catch (error) {
  console.error(`could not check consent: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
