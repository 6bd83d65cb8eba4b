import { readFileSync } from "node:fs";

import { expect } from "chai";
import type { Abi, AbiFunction, Address, Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { verifyTypedData } from "viem";

import { DEV_PRIVATE_KEYS } from "./demo.ts";
import { consentRegistryAbi, studyEscrowAbi } from "./generated/abis.ts";
import { preventionRewardsAbi } from "./generated/prevention-abis.ts";
import {
  RelayBodyError,
  SIGNED_ACTIONS,
  type SignedAction,
  type SignedActionMessages,
  parseRelayBody,
  relayBody,
  relayCallArgs,
  signedActionTypedData,
} from "./signed-actions.ts";

const registry: Address = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const escrow: Address = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512";
const prevention: Address = "0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9";
const domain = { chainId: 31337, registry, escrow, prevention };
const patient = privateKeyToAccount(DEV_PRIVATE_KEYS[3]!);
const other: Address = "0x70997970C51812dC3A010c7D01b50e20d4DC79c8";
const token: Address = "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0";
const scope: Hex = `0x${"ab".repeat(32)}`;

const MESSAGES: { [A in SignedAction]: SignedActionMessages[A] } = {
  grant: {
    patient: patient.address,
    grantee: other,
    categories: 5,
    purpose: 2n ** 63n + 7n,
    validFrom: 0,
    expiresAt: 2_000_000_000,
    nonce: 3n,
    deadline: 2n ** 200n,
  },
  revoke: { patient: patient.address, grantee: other, scope, nonce: 1n, deadline: 1_900_000_000n },
  "revoke-all": { patient: patient.address, nonce: 2n, deadline: 1_900_000_000n },
  "cancel-signatures": { patient: patient.address, nonce: 4n, deadline: 1_900_000_000n },
  join: {
    studyId: 2n ** 130n,
    patient: patient.address,
    registryNonce: 5n,
    nonce: 0n,
    deadline: 1_900_000_000n,
    terms: {
      researcher: other,
      purpose: 9n,
      categories: 1,
      price: 10n ** 18n,
      endTime: 1_950_000_000,
      protocolHash: scope,
    },
  },
  leave: { studyId: 7n, patient: patient.address, nonce: 1n, deadline: 1_900_000_000n },
  withdraw: { patient: patient.address, token, fee: 10n ** 17n, relayer: other, nonce: 0n, deadline: 1_900_000_000n },
  "prevention-opt-in": {
    programmeId: 3n,
    patient: patient.address,
    registryNonce: 2n,
    nonce: 1n,
    deadline: 1_900_000_000n,
    terms: {
      payer: other,
      category: 5,
      codeSystem: scope,
      code: `0x${"cd".repeat(32)}`,
      reward: 10n ** 18n,
      currency: token,
      endTime: 1_950_000_000,
    },
  },
  "prevention-opt-out": { programmeId: 3n, patient: patient.address, nonce: 2n, deadline: 1_900_000_000n },
  "prevention-withdraw": {
    patient: patient.address,
    token,
    fee: 10n ** 16n,
    relayer: other,
    nonce: 4n,
    deadline: 1_900_000_000n,
  },
};

const ACTIONS = Object.keys(SIGNED_ACTIONS) as SignedAction[];

/** EIP-712 encodeType: the primary type, then every type it references, sorted by name. */
function encodeType(types: Record<string, readonly { name: string; type: string }[]>, primary: string): string {
  const deps = new Set<string>();
  const walk = (type: string) => {
    for (const field of types[type] ?? []) {
      const base = field.type.replace(/\[\d*\]$/, "");
      if (types[base] && base !== primary && !deps.has(base)) {
        deps.add(base);
        walk(base);
      }
    }
  };
  walk(primary);
  const one = (type: string) => `${type}(${types[type]!.map((f) => `${f.type} ${f.name}`).join(",")})`;
  return [primary, ...[...deps].sort()].map(one).join("");
}

/** Every string a contract hashes into a typehash (`keccak256("A(...)" "B(...)")`), joined. */
function typehashStrings(contract: string): string[] {
  const source = readFileSync(new URL(`../contracts/${contract}.sol`, import.meta.url), "utf8");
  return [...source.matchAll(/TYPEHASH\s*=\s*keccak256\(\s*((?:"[^"]*"\s*)+)\)/g)].map((m) =>
    [...m[1]!.matchAll(/"([^"]*)"/g)].map((s) => s[1]).join(""),
  );
}

describe("the sdk's table of signed actions", () => {
  for (const action of ACTIONS) {
    const spec = SIGNED_ACTIONS[action];
    const abi: Abi =
      spec.contract === "registry"
        ? consentRegistryAbi
        : spec.contract === "prevention"
          ? preventionRewardsAbi
          : studyEscrowAbi;

    it(`${action}: signs the type the contract hashes`, () => {
      const typed = signedActionTypedData(action, domain, MESSAGES[action]);
      expect(typed.primaryType).to.equal(spec.primaryType);
      // The escrows' signed withdrawal lives in their accounting core, EarningsEscrow.
      const strings =
        spec.contract === "registry"
          ? typehashStrings("ConsentRegistry")
          : [
              ...typehashStrings(spec.contract === "prevention" ? "PreventionRewards" : "StudyEscrow"),
              ...typehashStrings("EarningsEscrow"),
            ];
      expect(strings).to.include(
        encodeType(typed.types as Record<string, readonly { name: string; type: string }[]>, typed.primaryType),
      );
    });

    it(`${action}: calls ${spec.functionName} with its arguments in the contract's order and types`, () => {
      const fn = abi.find((e): e is AbiFunction => e.type === "function" && e.name === spec.functionName);
      expect(fn, spec.functionName).to.not.equal(undefined);
      expect(fn!.inputs.map((i) => i.name)).to.deep.equal([...spec.args]);
      for (const input of fn!.inputs) {
        const kind = (spec.fields as Record<string, unknown>)[input.name!];
        if (kind === undefined) continue;
        expect(input.type, input.name).to.equal(
          typeof kind === "object" ? `uint${(kind as { uint: number }).uint}` : kind,
        );
      }
    });

    it(`${action}: its relay body reads back to what was signed, and the signature checks out`, async () => {
      const message = MESSAGES[action];
      const typed = signedActionTypedData(action, domain, message);
      const signature = await patient.signTypedData(typed as Parameters<typeof patient.signTypedData>[0]);
      const body = JSON.parse(JSON.stringify(relayBody(action, message, signature))) as Record<string, unknown>;
      const parsed = parseRelayBody(action, body);
      expect(parsed.patient).to.equal(message.patient);
      expect(parsed.nonce).to.equal(message.nonce);
      expect(parsed.deadline).to.equal(message.deadline);
      const values = message as unknown as Record<string, unknown>;
      for (const [name, value] of Object.entries(parsed.fields)) {
        expect(typeof value === "bigint" ? value : String(value).toLowerCase(), name).to.equal(
          typeof value === "bigint" ? BigInt(values[name] as bigint | number) : String(values[name]).toLowerCase(),
        );
      }
      const args = relayCallArgs(action, parsed);
      expect(args).to.have.length(spec.args.length);
      expect(args.at(-1)).to.equal(signature);
      expect(
        await verifyTypedData({
          address: patient.address,
          signature,
          ...(typed as Omit<Parameters<typeof verifyTypedData>[0], "address" | "signature">),
        }),
      ).to.equal(true);
    });
  }

  it("refuses a body with a bad field, naming it", () => {
    const body = relayBody("grant", MESSAGES.grant, "0x1234");
    const bad = (patch: Record<string, unknown>, field: string) => {
      expect(() => parseRelayBody("grant", { ...body, ...patch }))
        .to.throw(RelayBodyError)
        .with.property("field", field);
    };
    bad({ categories: String(2n ** 32n) }, "categories");
    bad({ purpose: "-1" }, "purpose");
    bad({ expiresAt: "1e9" }, "expiresAt");
    bad({ grantee: "0x0000000000000000000000000000000000000000" }, "grantee");
    bad({ grantee: other.toLowerCase().replace("c", "C") }, "grantee");
    bad({ patient: "nobody" }, "patient");
    bad({ deadline: 1.5 }, "deadline");
    bad({ signature: "0x123" }, "signature");
    expect(() => parseRelayBody("revoke", { ...relayBody("revoke", MESSAGES.revoke, "0x12"), scope: "0x12" }))
      .to.throw(RelayBodyError)
      .with.property("field", "scope");
  });

  it("a withdrawal signed for prevention rewards is worth nothing to the StudyEscrow (their own domains)", async () => {
    const message = MESSAGES["prevention-withdraw"];
    const signature = await patient.signTypedData(
      signedActionTypedData("prevention-withdraw", domain, message) as unknown as Parameters<
        typeof patient.signTypedData
      >[0],
    );
    const asStudy = signedActionTypedData("withdraw", domain, message);
    expect(asStudy.domain.verifyingContract).to.equal(escrow);
    expect(
      await verifyTypedData({
        address: patient.address,
        signature,
        ...(asStudy as unknown as Omit<Parameters<typeof verifyTypedData>[0], "address" | "signature">),
      }),
    ).to.equal(false);
    expect(() =>
      signedActionTypedData("prevention-opt-out", { chainId: 1, registry }, MESSAGES["prevention-opt-out"]),
    ).to.throw(/PreventionRewards' address/);
  });

  it("passes small integers to viem as numbers and large ones as bigints", () => {
    const args = relayCallArgs("grant", parseRelayBody("grant", relayBody("grant", MESSAGES.grant, "0x12")));
    expect(args.slice(2, 6)).to.deep.equal([5, 2n ** 63n + 7n, 0, 2_000_000_000]);
  });
});
