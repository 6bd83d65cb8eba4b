/**
 * A complete gateway for tests: the real app on the shared test database and the shared test
 * chain, for a custodian of the demo (the lab, by default: the hospital's clinician reads from it)
 * or a fresh one. Helpers sign in with Ethereum, ingest records and link wallets through the
 * app's own routes.
 */
import type { Bundle, Patient } from "@medplum/fhirtypes";
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from "fastify";
import type { Address, Hex } from "viem";
import type { LocalAccount } from "viem/accounts";
import { createSiweMessage } from "viem/siwe";
import { buildApp, type AppConfig } from "../app.ts";
import type { IndexerClient } from "#sdk/history.ts";
import { GatewayChain } from "../chain/chain.ts";
import { generateSyntheticData, syntheticTransactionBundle } from "../dev/synthetic.ts";
import type { SupportedResource } from "../fhir/resources.ts";
import type { Store } from "../store/store.ts";
import { testChain, type TestChain } from "./chain.ts";
import { testIndexer } from "./indexer.ts";
import { freshStore, testAppConfig, TEST_ADMIN_TOKEN, TEST_LINK_CODE_TOKEN } from "./fixtures.ts";

export const FHIR = "application/fhir+json";
export const ADMIN = { authorization: `Bearer ${TEST_ADMIN_TOKEN}` };
/** The link-code issuer's token (POST /admin/link-codes), not the admin token. */
export const LINK_ISSUER = { authorization: `Bearer ${TEST_LINK_CODE_TOKEN}` };

export interface TestGateway {
  app: FastifyInstance;
  store: Store;
  chain: GatewayChain;
  t: TestChain;
  config: AppConfig;
  /** SIWE sign-in through the routes; the bearer token. */
  signIn(account: LocalAccount): Promise<string>;
  /** Ingests a synthetic data set (transaction) and returns its patients. */
  ingest(options?: {
    seed?: string;
    patients?: number;
  }): Promise<{ patients: Patient[]; resources: SupportedResource[] }>;
  /** Links a patient to a wallet: an admin link code, redeemed by the signed-in wallet. */
  link(patientId: string, account: LocalAccount): Promise<void>;
  /** A FHIR read with a bearer token and a purpose. */
  read(token: string, url: string, purpose?: string, extra?: Partial<InjectOptions>): Promise<LightMyRequestResponse>;
  /** Waits until the indexer lists are read from has the chain's latest block (no-op without one). */
  caughtUp(): Promise<void>;
  close(): Promise<void>;
}

export interface TestGatewayOptions {
  /** A demo custodian (default "lab") or a custodian with its gateway key. */
  custodian?: "hospital" | "lab" | { organization: LocalAccount; gateway: LocalAccount & { privateKey: Hex } };
  config?: Partial<AppConfig>;
  /** Keep the database as it is (default: emptied first). */
  keepDatabase?: Store;
  now?: () => Date;
  /**
   * The indexer lists are read from (INDEXER_URL). Default: the tests' shared indexer of the test
   * chain (testing/indexer.ts), waited for before every list read (`read` of /fhir/Consent and
   * /research/). null: no indexer (lists answer 503).
   */
  indexer?: IndexerClient | null;
  /** The PreventionRewards (PREVENTION_REWARDS_ADDRESS); default: none (the test chain deploys none). */
  preventionRewards?: Address;
}

/** Reads that list through the indexer: `read` waits until it has the chain's latest block. */
const LISTS = /^\/(fhir\/Consent|research\/)/;

export async function testGateway(options: TestGatewayOptions = {}): Promise<TestGateway> {
  const t = await testChain();
  const shared = options.indexer === undefined ? await testIndexer() : undefined;
  const indexer = options.indexer === undefined ? shared!.client : (options.indexer ?? undefined);
  const store = options.keepDatabase ?? (await freshStore(options.now ? { now: options.now } : {}));
  const custodian = options.custodian ?? "lab";
  const organization = typeof custodian === "string" ? t.actors[custodian] : custodian.organization;
  const gatewayKey =
    typeof custodian === "string"
      ? t.actors[custodian === "lab" ? "labGateway" : "hospitalGateway"].privateKey
      : custodian.gateway.privateKey;
  const config = testAppConfig({
    custodianAddress: organization.address,
    custodianName: typeof custodian === "string" ? `Demo ${custodian}` : "Test custodian",
    chainId: t.chainId,
    ...options.config,
  });
  const chain = new GatewayChain({
    chainId: t.chainId,
    transport: t.transport,
    consentRegistry: t.registry,
    auditAnchor: t.auditAnchor,
    studyEscrow: t.studyEscrow,
    preventionRewards: options.preventionRewards,
    gatewayKey,
    custodian: organization.address,
    indexer,
  });
  const app = buildApp({ config, store, chain });
  await app.ready();

  const signIn = async (account: LocalAccount): Promise<string> => {
    const nonce = (await app.inject({ method: "GET", url: "/auth/nonce" })).json() as { nonce: string };
    const url = new URL(config.publicUrl);
    const message = createSiweMessage({
      domain: url.host,
      address: account.address,
      statement: "Sign in to the Consentry gateway.",
      uri: url.origin,
      version: "1",
      chainId: t.chainId,
      nonce: nonce.nonce,
      issuedAt: new Date(),
    });
    const signature = await account.signMessage!({ message });
    const res = await app.inject({ method: "POST", url: "/auth/siwe", payload: { message, signature } });
    if (res.statusCode !== 200) throw new Error(`sign-in failed: ${res.statusCode} ${res.body}`);
    return (res.json() as { access_token: string }).access_token;
  };

  const ingest: TestGateway["ingest"] = async (o = {}) => {
    const data = generateSyntheticData({
      seed: o.seed ?? `seed-${Math.random()}`,
      custodian: config.custodianName,
      patients: o.patients ?? 1,
    });
    const bundle: Bundle = syntheticTransactionBundle(data);
    const res = await app.inject({
      method: "POST",
      url: "/fhir",
      headers: { ...ADMIN, "content-type": FHIR },
      payload: JSON.stringify(bundle),
    });
    if (res.statusCode !== 200) throw new Error(`ingest failed: ${res.statusCode} ${res.body.slice(0, 500)}`);
    return { patients: data.patients, resources: data.resources };
  };

  const link: TestGateway["link"] = async (patientId, account) => {
    const issued = await app.inject({
      method: "POST",
      url: "/admin/link-codes",
      headers: LINK_ISSUER,
      payload: { patientId },
    });
    if (issued.statusCode !== 201) throw new Error(`link code failed: ${issued.statusCode} ${issued.body}`);
    const token = await signIn(account);
    const res = await app.inject({
      method: "POST",
      url: "/auth/link",
      headers: { authorization: `Bearer ${token}` },
      payload: { code: (issued.json() as { code: string }).code },
    });
    if (res.statusCode !== 200) throw new Error(`link failed: ${res.statusCode} ${res.body}`);
  };

  const read: TestGateway["read"] = async (token, url, purpose = "TREAT", extra = {}) => {
    if (shared && LISTS.test(url)) await shared.caughtUp();
    return app.inject({
      method: "GET",
      url,
      ...extra,
      headers: {
        authorization: `Bearer ${token}`,
        accept: FHIR,
        ...(purpose ? { "x-purpose-of-use": purpose } : {}),
        ...(extra.headers ?? {}),
      },
    });
  };

  const caughtUp = async () => {
    if (shared) await shared.caughtUp();
  };
  return { app, store, chain, t, config, signIn, ingest, link, read, caughtUp, close: () => app.close() };
}
