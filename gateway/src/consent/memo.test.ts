import { expect } from "chai";
import type { Hex, Transport } from "viem";
import type { LocalAccount } from "viem/accounts";
import { categoriesToMask, encodePurpose, purposeScope } from "#sdk/codes.ts";
import { GatewayChain, type BlockRef } from "../chain/chain.ts";
import { testGateway, type TestGateway } from "../testing/gateway.ts";
import { AccessControl, BlockMemo } from "./access.ts";

const block = (n: number, hash = `0x${n.toString(16).padStart(64, "0")}`): BlockRef => ({
  number: BigInt(n),
  hash: hash as Hex,
  timestamp: 1_700_000_000 + n,
});

describe("BlockMemo: a chain read remembered for one block only", () => {
  it("reads once per block and key, and concurrent requests share the read", async () => {
    const memo = new BlockMemo();
    let reads = 0;
    const read = async () => ++reads;
    const answers = await Promise.all([memo.get(block(1), "k", read), memo.get(block(1), "k", read)]);
    expect(answers).to.deep.equal([1, 1]);
    expect(await memo.get(block(1), "k", read)).to.equal(1);
    expect(await memo.get(block(1), "other", read)).to.equal(2);
    expect(reads).to.equal(2);
  });

  it("reads again at a new block, and at a block of the same number with another hash (a reorg)", async () => {
    const memo = new BlockMemo();
    let reads = 0;
    const read = async () => ++reads;
    expect(await memo.get(block(1), "k", read)).to.equal(1);
    expect(await memo.get(block(2), "k", read)).to.equal(2);
    expect(await memo.get(block(2, `0x${"ab".repeat(32)}`), "k", read)).to.equal(3);
  });

  it("forgets a failed read, so the next request asks the chain again", async () => {
    const memo = new BlockMemo();
    let reads = 0;
    const failing = async (): Promise<number> => {
      reads++;
      throw new Error("node unavailable");
    };
    await memo.get(block(1), "k", failing).then(
      () => expect.fail("the read failed"),
      (err: Error) => expect(err.message).to.equal("node unavailable"),
    );
    expect(await memo.get(block(1), "k", async () => 7)).to.equal(7);
    expect(reads).to.equal(1);
  });

  it("keeps the newest blocks only, and nothing with maxEntries 0", async () => {
    const memo = new BlockMemo({ maxBlocks: 2 });
    let reads = 0;
    const read = async () => ++reads;
    await memo.get(block(1), "k", read);
    await memo.get(block(2), "k", read);
    await memo.get(block(3), "k", read); // block 1 dropped
    expect(await memo.get(block(2), "k", read)).to.equal(2);
    expect(await memo.get(block(1), "k", read)).to.equal(4);

    const off = new BlockMemo({ maxEntries: 0 });
    await off.get(block(1), "k", read);
    await off.get(block(1), "k", read);
    expect(reads).to.equal(6);
  });
});

describe("AccessControl over the block memo (real chain, real store)", function () {
  this.timeout(180_000);
  let gw: TestGateway;
  let patient: LocalAccount;
  let patientId: string;
  let access: AccessControl;
  let clock: Date;
  let ethCalls = 0;
  let blockReads = 0;
  /** The block parameter of every eth_call the access control made. */
  const callBlocks: unknown[] = [];
  /** A header to answer eth_getBlockByNumber with instead of the node's (a header read just before a reorg). */
  let staleHeader: unknown;
  let chain: GatewayChain;

  before(async () => {
    clock = new Date();
    gw = await testGateway({ custodian: "lab" });
    const { patients } = await gw.ingest({ seed: "block-memo", patients: 1 });
    patientId = patients[0]!.id!;
    patient = await gw.t.newAccount();
    await gw.link(patientId, patient);
    // The same chain as the gateway's, through a transport that counts the node's eth_calls.
    const counting: Transport = (params) => {
      const inner = gw.t.transport(params);
      return {
        ...inner,
        request: (async (args: { method: string; params?: unknown[] }) => {
          if (args.method === "eth_call") {
            ethCalls++;
            callBlocks.push(args.params?.[1]);
          }
          if (args.method === "eth_getBlockByNumber") {
            blockReads++;
            if (staleHeader !== undefined) return staleHeader;
          }
          return inner.request(args as never);
        }) as typeof inner.request,
      };
    };
    chain = new GatewayChain({
      chainId: gw.t.chainId,
      transport: counting,
      consentRegistry: gw.t.registry,
      auditAnchor: gw.t.auditAnchor,
      gatewayKey: gw.t.actors.labGateway.privateKey,
      custodian: gw.t.actors.lab.address,
    });
    access = new AccessControl(gw.store, chain, { now: () => clock });
  });
  after(() => gw?.close());

  const clinician = () => gw.t.actors.clinician.address;
  const decide = () => access.decide(patientId, clinician(), ["Observation", "Condition"], "TREAT");
  async function grantFor(seconds: number) {
    const expiresAt = (await gw.t.now()) + seconds;
    await gw.t.registryWrite(patient, "grant", [
      gw.t.actors.hospital.address,
      categoriesToMask(["Observation"]),
      encodePurpose("TREAT"),
      0,
      expiresAt,
    ]);
    return expiresAt;
  }

  it("reads the chain once per block: a second decision at the same block makes no eth_call and is the same", async () => {
    clock = new Date((await gw.t.now()) * 1000);
    await grantFor(3600);
    const before = ethCalls;
    const first = await decide();
    const made = ethCalls - before;
    expect(made, "delegate + one consent read per category").to.be.greaterThan(0);
    expect(first.allowed).to.deep.equal(["Observation"]);
    expect(first.refused.map((d) => d.reason)).to.deep.equal(["CategoryNotGranted"]);

    const second = await decide();
    expect(ethCalls - before, "nothing read again at the same block").to.equal(made);
    expect(second).to.deep.equal(first);

    await gw.t.mine(1); // a new block with nothing changed: read afresh, same answer
    const third = await decide();
    expect(ethCalls - before).to.equal(2 * made);
    expect(third.allowed).to.deep.equal(["Observation"]);
    expect(third.block!.number).to.equal(first.block!.number + 1n);
  });

  it("refuses the first decision after a revocation is mined", async () => {
    await grantFor(3600);
    expect((await decide()).allowed).to.deep.equal(["Observation"]);
    expect((await decide()).allowed).to.deep.equal(["Observation"]);
    await gw.t.registryWrite(patient, "revoke", [gw.t.actors.hospital.address, purposeScope("TREAT")]);
    const after = await decide();
    expect(after.allowed).to.deep.equal([]);
    expect(after.refused.map((d) => d.reason)).to.deep.equal(["NoGrant", "NoGrant"]);
  });

  it("refuses a grant that has ended by the gateway's clock while the remembered block says allowed", async () => {
    const expiresAt = await grantFor(120);
    clock = new Date((expiresAt - 60) * 1000);
    expect((await decide()).allowed).to.deep.equal(["Observation"]);
    const before = ethCalls;
    clock = new Date((expiresAt + 1) * 1000); // no block since: the memo answers, the clock refuses
    const lapsed = await decide();
    expect(ethCalls).to.equal(before);
    expect(lapsed.allowed).to.deep.equal([]);
    expect(lapsed.refused[0]).to.include({ category: "Observation", reason: "Expired" });
  });

  it("reads consent and delegation at the decision block's hash (EIP-1898), not at its number", async () => {
    await grantFor(3600);
    callBlocks.length = 0;
    const decision = await decide();
    expect(decision.allowed).to.deep.equal(["Observation"]);
    expect(callBlocks.length).to.be.greaterThan(0);
    for (const b of callBlocks) expect(b).to.deep.equal({ blockHash: decision.block!.hash });
  });

  it("never answers for a block reorganised away with the state of the block now at its height", async () => {
    const node = gw.t.client as unknown as { request(args: { method: string; params?: unknown[] }): Promise<unknown> };
    await gw.t.registryWrite(patient, "revoke", [gw.t.actors.hospital.address, purposeScope("TREAT")]);
    const snapshot = await node.request({ method: "evm_snapshot" });
    await grantFor(3600); // block N: the grant
    const header = await node.request({ method: "eth_getBlockByNumber", params: ["latest", false] });
    const granted = await decide();
    expect(granted.allowed).to.deep.equal(["Observation"]);
    // A reorganisation: block N replaced by one without the grant, after the gateway read N's header.
    await node.request({ method: "evm_revert", params: [snapshot] });
    await gw.t.mine(1);
    const replaced = (await node.request({ method: "eth_getBlockByNumber", params: ["latest", false] })) as {
      number: string;
      hash: string;
    };
    expect(replaced.number).to.equal((header as { number: string }).number);
    expect(replaced.hash).to.not.equal((header as { hash: string }).hash);
    staleHeader = header;
    const fresh = new AccessControl(gw.store, chain, { now: () => clock }); // nothing remembered
    const outcome = await fresh.decide(patientId, clinician(), ["Observation"], "TREAT").then(
      (d) => JSON.stringify(d.allowed),
      (err: unknown) => (err instanceof Error ? `error: ${err.name}` : "?"),
    );
    staleHeader = undefined;
    // Read at N's hash: the node answers for N (the grant), or no longer knows N (an error, a 503);
    // never with the "no grant" of the block that replaced N.
    expect(outcome).to.be.oneOf(['["Observation"]', "error: ChainError"]);
  });

  it("reads the latest block once for the callers of one turn, and afresh for a caller after it was sent", async () => {
    const before = blockReads;
    const [a, b] = await Promise.all([chain.latestBlock(), chain.latestBlock()]);
    expect(blockReads - before).to.equal(1);
    expect(b).to.deep.equal(a);

    const first = chain.latestBlock();
    await new Promise((resolve) => setImmediate(resolve)); // the shared call is sent
    await gw.t.mine(1);
    const second = await chain.latestBlock(); // asked after the block was mined: sees it
    expect(blockReads - before).to.equal(3);
    expect(second.number).to.equal(a.number + 1n);
    expect((await first).number).to.be.oneOf([a.number, a.number + 1n]);
  });
});
