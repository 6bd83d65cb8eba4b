/**
 * Deploy anywhere, proven on a second EVM implementation: Foundry's anvil (npm @foundry-rs/anvil,
 * pinned) with chain id 31338, deployed with the command a consortium runs
 * (`npm run deploy -- --network anvil`, no terminal, key from a file), organizations accredited
 * from a file (`npm run accredit`), and the core story with every part configured by environment
 * only: the custodian's gateway is its production entry point (`node gateway/src/server.ts`).
 *
 * Accounts are anvil's (= Hardhat's) development accounts: #0 deployer, #1 stands for the
 * consortium's multisig (admin and governance), #2 the patient, #3 a hospital (the provider that
 * reads) with #4 its clinician, #6 a lab (the custodian) with #7 its gateway key, #8 a research
 * organization, #9 the issuer of a stand-in stablecoin (an ERC-20 that exists before Consentry).
 * The gateway uses PostgreSQL when CONSENTRY_ANVIL_DATABASE_URL is set, else PGlite in a temp dir.
 */
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

import type { Bundle, Patient } from "@medplum/fhirtypes";
import { expect } from "chai";
import { type Abi, type Address, type Hex, createPublicClient, createWalletClient, http, keccak256, toHex } from "viem";
import { generatePrivateKey, privateKeyToAccount, type LocalAccount } from "viem/accounts";
import { createSiweMessage } from "viem/siwe";

import { generateSyntheticData, syntheticTransactionBundle } from "../../gateway/src/dev/synthetic.ts";
import { categoriesToMask, encodePurpose, purposeScope, ROLES } from "#sdk/codes.ts";
import { custodianShare } from "#sdk/escrow.ts";
import { consentRegistryAbi, remunerationTokenAbi, studyEscrowAbi } from "#sdk/generated/abis.ts";
import { researchFundFactoryAbi } from "#sdk/generated/fund-abis.ts";
import { preventionRewardsAbi } from "#sdk/generated/prevention-abis.ts";
import { CHAIN_ID, KEYS, deployStablecoin, freePort, run, start, startAnvil, stop, who } from "./lib.ts";
import { type RunningIndexer, caughtUp, runIndexer } from "../indexer/lib.ts";
import type { Deployment } from "#sdk/deployments.ts";

const analyst = privateKeyToAccount(generatePrivateKey());
const ADMIN_TOKEN = `anvil-admin-${"k7Q2".repeat(10)}`;
const LINK_TOKEN = `anvil-link-${"Zp9x".repeat(10)}`;
const PRICE = 5n * 10n ** 18n; // 5 units of the stand-in stablecoin (18 decimals)
const SHARE_BPS = 1_000;

describe("deploy anywhere: Consentry on anvil (chain 31338), configured by environment only", function () {
  this.timeout(240_000);
  const dir = mkdtempSync(path.join(tmpdir(), "consentry-anvil-"));
  let anvil: ChildProcess | undefined;
  let gateway: { child: ChildProcess; output: () => string } | undefined;
  let rpc: string;
  let gatewayUrl: string;
  let stablecoin: Address;
  let indexer: RunningIndexer | undefined;
  let deployed: {
    ConsentRegistry: Address;
    AuditAnchor: Address;
    StudyEscrow: Address;
    PreventionRewards: Address;
    ResearchFundFactory: Address;
    deploymentBlock: number;
  };
  let patientId: string;
  const client = () => createPublicClient({ transport: http(rpc) });
  const journal = path.resolve("ignition/deployments/consentry-31338");

  async function send(account: LocalAccount, address: Address, abi: Abi, functionName: string, args: unknown[]) {
    const wallet = createWalletClient({ account, transport: http(rpc) });
    const hash = await wallet.writeContract({ address, abi, functionName, args, chain: null });
    const receipt = await client().waitForTransactionReceipt({ hash });
    expect(receipt.status, `${functionName} reverted`).to.equal("success");
    return receipt;
  }
  const deployEnv = () => ({
    ANVIL_RPC_URL: rpc,
    DEPLOYER_PRIVATE_KEY_FILE: path.join(dir, "deployer.key"),
    DEPLOYER_PRIVATE_KEY: "",
  });

  before(async () => {
    ({ child: anvil, rpc } = await startAnvil());
    rmSync(journal, { recursive: true, force: true }); // a fresh chain: the journal of the last run is void
    writeFileSync(path.join(dir, "deployer.key"), `${KEYS[0]}\n`, { mode: 0o600 });
  });
  after(async () => {
    await stop(gateway?.child);
    await stop(indexer?.child);
    await stop(anvil);
    rmSync(dir, { recursive: true, force: true });
  });

  it("deploys with `npm run deploy -- --network anvil` (no terminal, key from a file), then again sending nothing", async () => {
    stablecoin = await deployStablecoin(rpc);
    const parameters = path.join(dir, "anvil.json");
    writeFileSync(
      parameters,
      JSON.stringify({
        ConsentryModule: { admin: who.multisig.address, governance: who.multisig.address, currency: stablecoin },
      }),
    );

    const started = performance.now();
    const out = await run(
      ["npm", "run", "deploy", "--", "--network", "anvil", "--parameters", parameters],
      deployEnv(),
    );
    console.log(`      first deployment: ${((performance.now() - started) / 1000).toFixed(1)} s`);
    expect(out).to.match(/network\s+anvil \(chain id 31338/);
    expect(out).to.match(/ConsentRegistry\s+\d{6,}/); // gas per contract
    expect(out).to.match(/StudyEscrow\s+\d{6,}/);
    expect(out).to.match(/AuditAnchor\s+\d{5,}/);
    expect(out).to.match(/total\s+\d+/);
    const all = JSON.parse(readFileSync("sdk/generated/deployments.json", "utf8")) as Record<string, typeof deployed>;
    deployed = all[String(CHAIN_ID)]!;
    expect(deployed.deploymentBlock).to.be.greaterThan(1); // after the stablecoin's block
    expect(deployed).to.include({ StudyCurrency: stablecoin });
    expect(all["31337"], "the local chain's deployment is kept").to.not.equal(undefined);

    // No demo token, no faucet: the escrow allows exactly the stablecoin; the deployer holds no role.
    const c = client();
    expect(
      await c.readContract({
        address: deployed.StudyEscrow,
        abi: studyEscrowAbi,
        functionName: "isCurrencyAllowed",
        args: [stablecoin],
      }),
    ).to.equal(true);
    // The research-fund factory is there, on this escrow (it holds no role: nothing to hand over).
    expect(
      await c.readContract({
        address: deployed.ResearchFundFactory,
        abi: researchFundFactoryAbi,
        functionName: "escrow",
      }),
    ).to.equal(deployed.StudyEscrow);
    const governanceRole = keccak256(toHex("GOVERNANCE_ROLE"));
    const adminRole = `0x${"00".repeat(32)}` as Hex;
    expect(
      await c.readContract({
        address: deployed.PreventionRewards,
        abi: preventionRewardsAbi,
        functionName: "isCurrencyAllowed",
        args: [stablecoin],
      }),
    ).to.equal(true);
    for (const [address, abi] of [
      [deployed.ConsentRegistry, consentRegistryAbi],
      [deployed.StudyEscrow, studyEscrowAbi],
      [deployed.PreventionRewards, preventionRewardsAbi],
    ] as const) {
      for (const role of [governanceRole, adminRole]) {
        const has = (account: Address) =>
          c.readContract({ address, abi: abi as Abi, functionName: "hasRole", args: [role, account] });
        expect(await has(who.deployer.address), `deployer role on ${address}`).to.equal(false);
        expect(await has(who.multisig.address), `multisig role on ${address}`).to.equal(true);
      }
    }

    // Idempotent: the journal says everything is done; nothing is sent.
    const block = await c.getBlockNumber();
    const again = await run(
      ["npm", "run", "deploy", "--", "--network", "anvil", "--parameters", parameters],
      deployEnv(),
    );
    expect(again).to.match(/journal .*\(exists: resuming\)/);
    expect(await c.getBlockNumber()).to.equal(block);
    expect(
      (JSON.parse(readFileSync("sdk/generated/deployments.json", "utf8")) as Record<string, unknown>)["31338"],
    ).to.deep.equal(deployed);
  });

  it("accredits the first organizations from a file (governance's step), skipping those already accredited", async () => {
    const file = path.join(dir, "organizations.json");
    writeFileSync(
      file,
      JSON.stringify([
        { address: who.hospital.address, kind: "PROVIDER", name: "Anvil General Hospital", licence: "licence H" },
        {
          address: who.lab.address,
          kind: "PROVIDER",
          name: "Anvil Clinical Lab",
          gatewayUrl: "https://fhir.lab.example/fhir",
          licence: "licence L",
        },
        { address: who.research.address, kind: "RESEARCHER", name: "Anvil Research Institute", licence: "licence R" },
      ]),
    );
    // For a multisig: a Safe Transaction Builder batch, nothing sent.
    const batch = await run(
      ["npm", "run", "--silent", "accredit", "--", "--network", "anvil", "--file", file, "--calldata"],
      {
        ANVIL_RPC_URL: rpc,
      },
    );
    const parsed = JSON.parse(batch.slice(batch.indexOf("{"))) as { chainId: string; transactions: { to: string }[] };
    expect(parsed.chainId).to.equal("31338");
    expect(parsed.transactions).to.have.length(3);
    expect(parsed.transactions[0]!.to).to.equal(deployed.ConsentRegistry);

    const env = { ANVIL_RPC_URL: rpc, GOVERNANCE_PRIVATE_KEY: KEYS[1] };
    expect(await run(["npm", "run", "accredit", "--", "--network", "anvil", "--file", file], env)).to.match(
      /3 accredited, 0 already were/,
    );
    expect(await run(["npm", "run", "accredit", "--", "--network", "anvil", "--file", file], env)).to.match(
      /0 accredited, 3 already were/,
    );
    // Each organization offers membership with its own key (not governance's); the member accepts
    // with its own.
    const member = async (org: LocalAccount, account: LocalAccount, role: number) => {
      await send(org, deployed.ConsentRegistry, consentRegistryAbi, "offerMembership", [
        org.address,
        account.address,
        role,
      ]);
      // A new member's own address may hold no ether yet (the analyst's is fresh): its organization pays.
      if ((await client().getBalance({ address: account.address })) === 0n) {
        const hash = await createWalletClient({ account: org, transport: http(rpc) }).sendTransaction({
          to: account.address,
          value: 10n ** 17n,
          chain: null,
        });
        await client().waitForTransactionReceipt({ hash });
      }
      await send(account, deployed.ConsentRegistry, consentRegistryAbi, "acceptMembership", [org.address, role]);
    };
    await member(who.hospital, who.clinician, ROLES.CLINICIAN);
    await member(who.lab, who.labGateway, ROLES.GATEWAY);
    await member(who.research, analyst, ROLES.ANALYST);
  });

  it("starts the custodian's gateway from its production entry point, saying which chain, contracts and custodian", async () => {
    const port = await freePort();
    gatewayUrl = `http://127.0.0.1:${port}`;
    writeFileSync(path.join(dir, "gateway.key"), KEYS[7], { mode: 0o600 });
    writeFileSync(path.join(dir, "master.key"), "5e".repeat(16) + "a1b2c3d4".repeat(4), { mode: 0o600 });
    writeFileSync(path.join(dir, "token.secret"), `anvil-token-secret-${"q8W3".repeat(8)}`, { mode: 0o600 });
    const database: Record<string, string> = process.env.CONSENTRY_ANVIL_DATABASE_URL
      ? { DATABASE_URL: process.env.CONSENTRY_ANVIL_DATABASE_URL }
      : { GATEWAY_DATA_DIR: path.join(dir, "gateway-data") };
    // The gateway lists (a study's participants, consents) through an indexer of this chain.
    indexer = await runIndexer(rpc, deployed as unknown as Deployment, path.join(dir, "indexer"));
    // Only the environment: no address, no deployment block (both from the sdk for CHAIN_ID).
    gateway = await start(
      [process.execPath, "gateway/src/server.ts"],
      {
        RPC_URL: rpc,
        CHAIN_ID: String(CHAIN_ID),
        CUSTODIAN_ADDRESS: who.lab.address,
        GATEWAY_CUSTODIAN_NAME: "Anvil Clinical Lab",
        GATEWAY_HOST: "127.0.0.1",
        GATEWAY_PORT: String(port),
        GATEWAY_PRIVATE_KEY_FILE: path.join(dir, "gateway.key"),
        GATEWAY_MASTER_KEY_FILE: path.join(dir, "master.key"),
        GATEWAY_TOKEN_SECRET_FILE: path.join(dir, "token.secret"),
        GATEWAY_ADMIN_TOKEN: ADMIN_TOKEN,
        GATEWAY_LINK_CODE_TOKEN: LINK_TOKEN,
        INDEXER_URL: indexer.url,
        ...database,
      },
      /Consentry gateway listening/,
    );
    const log = gateway.output();
    expect(log).to.include(`chain ${CHAIN_ID}, ConsentRegistry ${deployed.ConsentRegistry}`);
    expect(log).to.include(`(events from block ${deployed.deploymentBlock})`);
    expect(log).to.include(`custodian Anvil Clinical Lab ${who.lab.address}`);
  });

  const api = async (method: string, url: string, headers: Record<string, string>, body?: unknown) => {
    const res = await fetch(`${gatewayUrl}${url}`, {
      method,
      headers: { ...headers, ...(body !== undefined ? { "content-type": "application/fhir+json" } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, text: await res.text() };
  };
  async function signIn(account: LocalAccount): Promise<string> {
    const { nonce } = JSON.parse((await api("GET", "/auth/nonce", {})).text) as { nonce: string };
    const url = new URL(gatewayUrl);
    const message = createSiweMessage({
      domain: url.host,
      address: account.address,
      statement: "Sign in to the Consentry gateway.",
      uri: url.origin,
      version: "1",
      chainId: CHAIN_ID,
      nonce,
      issuedAt: new Date(),
    });
    const signature = await account.signMessage!({ message });
    const res = await fetch(`${gatewayUrl}/auth/siwe`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ message, signature }),
    });
    expect(res.status, await res.clone().text()).to.equal(200);
    return ((await res.json()) as { access_token: string }).access_token;
  }

  it("serves a read the patient granted, and refuses the next one after the patient revokes", async () => {
    const data = generateSyntheticData({ seed: "anvil-story", custodian: "Anvil Clinical Lab", patients: 1 });
    const bundle: Bundle = syntheticTransactionBundle(data);
    const ingested = await api("POST", "/fhir", { authorization: `Bearer ${ADMIN_TOKEN}` }, bundle);
    expect(ingested.status, ingested.text.slice(0, 400)).to.equal(200);
    patientId = (data.patients[0] as Patient).id!;
    // The registration desk links the record to the patient's wallet.
    const code = await fetch(`${gatewayUrl}/admin/link-codes`, {
      method: "POST",
      headers: { authorization: `Bearer ${LINK_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ patientId }),
    });
    expect(code.status).to.equal(201);
    const patientToken = await signIn(who.patient);
    const linked = await fetch(`${gatewayUrl}/auth/link`, {
      method: "POST",
      headers: { authorization: `Bearer ${patientToken}`, "content-type": "application/json" },
      body: JSON.stringify({ code: ((await code.json()) as { code: string }).code }),
    });
    expect(linked.status, await linked.clone().text()).to.equal(200);

    const clinician = await signIn(who.clinician);
    const read = () =>
      api("GET", `/fhir/Patient/${patientId}`, {
        authorization: `Bearer ${clinician}`,
        accept: "application/fhir+json",
        "x-purpose-of-use": "TREAT",
      });
    // Refused without a grant: the 403/404 that does not tell whether the patient is held here.
    expect((await read()).status, "no grant yet").to.be.oneOf([403, 404]);

    const now = Number((await client().getBlock()).timestamp);
    await send(who.patient, deployed.ConsentRegistry, consentRegistryAbi, "grant", [
      who.hospital.address,
      categoriesToMask(["Patient", "Observation"]),
      encodePurpose("TREAT"),
      0,
      now + 3600,
    ]);
    const granted = await read();
    expect(granted.status, granted.text.slice(0, 400)).to.equal(200);
    expect(JSON.parse(granted.text)).to.include({ resourceType: "Patient", id: patientId });

    await send(who.patient, deployed.ConsentRegistry, consentRegistryAbi, "revoke", [
      who.hospital.address,
      purposeScope("TREAT"),
    ]);
    const refused = await read();
    expect(refused.status).to.be.oneOf([403, 404]);
    expect(refused.text).to.not.include(data.patients[0]!.name![0]!.family!);
  });

  it("funds a study in the allowed stablecoin, pays a delivery through the gateway, and the patient withdraws", async () => {
    const budget = 10n * PRICE;
    await send(who.issuer, stablecoin, remunerationTokenAbi, "mint", [who.research.address, budget]);
    await send(who.research, stablecoin, remunerationTokenAbi, "approve", [deployed.StudyEscrow, budget]);
    const now = Number((await client().getBlock()).timestamp);
    await send(who.research, deployed.StudyEscrow, studyEscrowAbi, "createStudy", [
      {
        currency: stablecoin,
        purpose: encodePurpose("HMB"),
        categories: categoriesToMask(["Patient", "Observation", "Condition"]),
        price: PRICE,
        maxParticipants: 10,
        enrolmentDeadline: now + 86_400,
        endTime: now + 30 * 86_400,
        protocolHash: keccak256(toHex("anvil study protocol")),
        custodians: [{ custodian: who.lab.address, shareBps: SHARE_BPS }],
        attestedEnrolment: false,
      },
      budget,
    ]);
    const studyId = await client().readContract({
      address: deployed.StudyEscrow,
      abi: studyEscrowAbi,
      functionName: "studyCount",
    });
    await send(who.patient, deployed.StudyEscrow, studyEscrowAbi, "join", [studyId]);
    await caughtUp(indexer!, rpc); // the export's participants come from the indexer

    const token = await signIn(analyst);
    const dataset = await api("GET", `/research/studies/${studyId}/dataset`, { authorization: `Bearer ${token}` });
    expect(dataset.status, dataset.text.slice(0, 600)).to.equal(200);
    expect(dataset.text).to.match(/1 participant\(s\) released/);

    const { patient: share } = custodianShare(PRICE, SHARE_BPS);
    const earned = await client().readContract({
      address: deployed.StudyEscrow,
      abi: studyEscrowAbi,
      functionName: "balanceOf",
      args: [stablecoin, who.patient.address],
    });
    expect(earned).to.equal(share);
    const balance = () =>
      client().readContract({
        address: stablecoin,
        abi: remunerationTokenAbi,
        functionName: "balanceOf",
        args: [who.patient.address],
      });
    const before = await balance();
    await send(who.patient, deployed.StudyEscrow, studyEscrowAbi, "withdraw", [stablecoin]);
    expect(await balance()).to.equal(before + share);
  });
});
