/**
 * The indexer's Ponder configuration: one chain (CHAIN_ID at RPC_URL) and every Consentry contract
 * on it, from its deployment block, with the ABIs the sdk generates (sdk/generated/abis.ts).
 *
 * Research funds are found, not listed: every fund, its Governor and its timelock that the
 * deployment's ResearchFundFactory announced (FundCreated), Ponder's factory pattern.
 *
 * Addresses: CONSENTRY_DEPLOYMENT (a JSON object shaped like an entry of
 * sdk/generated/deployments.json) when set, else the sdk's deployment for CHAIN_ID. The database:
 * PostgreSQL when DATABASE_URL is set, else PGlite in INDEXER_DATA_DIR (set by indexer/start.ts
 * to a folder of its own per chain instance: a fresh chain gets a fresh index).
 */
import { createConfig, factory } from "ponder";
import { getAbiItem } from "viem";

import { auditAnchorAbi, consentRegistryAbi, remunerationTokenAbi, studyEscrowAbi } from "../sdk/generated/abis.ts";
import { preventionBadgeAbi, preventionRewardsAbi } from "../sdk/generated/prevention-abis.ts";
import {
  researchFundAbi,
  researchFundFactoryAbi,
  researchFundGovernorAbi,
  timelockControllerAbi,
} from "../sdk/generated/fund-abis.ts";
import { getLogsBlockRange, indexerDeployment, indexerEnv } from "./settings.ts";

const env = indexerEnv(process.env);
const deployment = indexerDeployment(env);
const startBlock = deployment.deploymentBlock ?? 0;
const on = (address: `0x${string}` | undefined) => (address ? { address, startBlock } : undefined);

const registry = on(deployment.ConsentRegistry);
if (!registry) throw new Error(`no ConsentRegistry is deployed on chain ${env.chainId}`);
const anchor = on(deployment.AuditAnchor);
const escrow = on(deployment.StudyEscrow);
const token = on(deployment.RemunerationToken);
const rewards = on(deployment.PreventionRewards);
const badge = on(deployment.PreventionBadge);
const fundFactory = on(deployment.ResearchFundFactory) ?? unused(startBlock);
const fundCreated = getAbiItem({ abi: researchFundFactoryAbi, name: "FundCreated" });
/** The contracts the factory's FundCreated names in `parameter`, from the factory's first block. */
const createdByFactory = (parameter: "fund" | "governor" | "timelock") => ({
  address: factory({ address: fundFactory.address, event: fundCreated, parameter }),
  startBlock,
});

export default createConfig({
  database: env.databaseUrl
    ? { kind: "postgres", connectionString: env.databaseUrl }
    : { kind: "pglite", directory: env.dataDir },
  chains: {
    consentry: {
      id: env.chainId,
      rpc: env.rpcUrl,
      pollingInterval: env.pollingInterval,
      ethGetLogsBlockRange: getLogsBlockRange(env),
    },
  },
  contracts: {
    ConsentRegistry: { chain: "consentry", abi: consentRegistryAbi, ...registry },
    // A deployment without one of these still indexes the others: an address no contract lives
    // at yields no events.
    AuditAnchor: { chain: "consentry", abi: auditAnchorAbi, ...(anchor ?? unused(startBlock)) },
    StudyEscrow: { chain: "consentry", abi: studyEscrowAbi, ...(escrow ?? unused(startBlock)) },
    RemunerationToken: { chain: "consentry", abi: remunerationTokenAbi, ...(token ?? unused(startBlock)) },
    PreventionRewards: { chain: "consentry", abi: preventionRewardsAbi, ...(rewards ?? unused(startBlock)) },
    PreventionBadge: { chain: "consentry", abi: preventionBadgeAbi, ...(badge ?? unused(startBlock)) },
    // Every research fund anyone created through the factory, with its Governor and timelock.
    ResearchFundFactory: { chain: "consentry", abi: researchFundFactoryAbi, ...fundFactory },
    ResearchFund: { chain: "consentry", abi: researchFundAbi, ...createdByFactory("fund") },
    ResearchFundGovernor: { chain: "consentry", abi: researchFundGovernorAbi, ...createdByFactory("governor") },
    ResearchFundTimelock: { chain: "consentry", abi: timelockControllerAbi, ...createdByFactory("timelock") },
  },
});

/** An address nothing is deployed at (the zero address emits no events). */
function unused(startBlock: number) {
  return { address: "0x0000000000000000000000000000000000000000" as const, startBlock };
}
