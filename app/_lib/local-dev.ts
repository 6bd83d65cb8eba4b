/**
 * The local development path (`npm start`, `npm run app:dev`): the chain a build serves when no
 * NEXT_PUBLIC_CONSENTRY_CHAIN_ID is set, which is also the only chain with the demo token's faucet
 * (RemunerationToken's faucet works on Hardhat's development chain only). Nothing else in the app
 * names this chain: every other build takes its chain from the environment (see wagmi.ts).
 */
import { hardhat } from "viem/chains";

export const LOCAL_DEV_CHAIN = hardhat;
export const LOCAL_DEV_RPC_URL = "http://127.0.0.1:8545";
