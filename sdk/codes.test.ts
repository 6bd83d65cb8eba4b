import { readFileSync } from "node:fs";

import { expect } from "chai";

import { encodeAbiParameters, keccak256, parseAbiParameters } from "viem";
import {
  emergencyReasonCommitment,
  formatEmergencyReason,
  newEmergencyReasonSalt,
  parseEmergencyReason,
  ALL_CATEGORIES_MASK,
  CATEGORIES,
  CONSENT_REASONS,
  EMERGENCY_REASONS,
  KINDS,
  PURPOSES,
  PURPOSE_FLAGS,
  ROLES,
  categoriesToMask,
  decodePurpose,
  describeScope,
  encodePurpose,
  maskToCategories,
  purposeByCode,
  purposeScope,
} from "./codes.ts";

const solidity = readFileSync(new URL("../contracts/libraries/ConsentCodes.sol", import.meta.url), "utf8");
const solConstants = new Map<string, number>();
for (const m of solidity.matchAll(/uint(?:8|16|32) internal constant (\w+) = ([^;]+);/g)) {
  const value = /^\d+$/.test(m[2]!) ? Number(m[2]) : NaN;
  solConstants.set(m[1]!, value);
}
const sol = (name: string) => {
  const v = solConstants.get(name);
  if (v === undefined) throw new Error(`ConsentCodes.sol has no constant ${name}`);
  return v;
};

describe("sdk codes mirror ConsentCodes.sol", () => {
  it("has the same purpose codes", () => {
    for (const [name, p] of Object.entries(PURPOSES)) expect(sol(name), name).to.equal(p.id);
    expect(sol("MAX_PURPOSE")).to.equal(Math.max(...Object.values(PURPOSES).map((p) => p.id)));
  });

  it("has the same purpose hierarchy and kinds as the contract's parent() and requiredKind()", () => {
    const parents: Record<string, string | null> = { ETREAT: "TREAT", DS: "HMB", HMB: "GRU", GRU: "HRESCH" };
    for (const [name, p] of Object.entries(PURPOSES)) expect(p.parent, name).to.equal(parents[name] ?? null);
    // requiredKind in ConsentCodes.sol: TREAT, ETREAT, HOPERAT -> PROVIDER; HPAYMT -> PAYER; PUBHLTH -> PUBLIC_HEALTH; research -> RESEARCHER
    expect(solidity).to.match(/if \(c <= ETREAT \|\| c == HOPERAT\) return KIND_PROVIDER;/);
    expect(solidity).to.match(/if \(c == HPAYMT\) return KIND_PAYER;/);
    expect(solidity).to.match(/if \(c == PUBHLTH\) return KIND_PUBLIC_HEALTH;/);
    expect(PURPOSES.TREAT.kind).to.equal("PROVIDER");
    expect(PURPOSES.ETREAT.kind).to.equal("PROVIDER");
    expect(PURPOSES.HOPERAT.kind).to.equal("PROVIDER");
    expect(PURPOSES.HPAYMT.kind).to.equal("PAYER");
    expect(PURPOSES.PUBHLTH.kind).to.equal("PUBLIC_HEALTH");
    for (const n of ["HRESCH", "GRU", "HMB", "DS"] as const) expect(PURPOSES[n].kind).to.equal("RESEARCHER");
  });

  it("has the same flags, categories, kinds, roles and emergency reasons", () => {
    expect(sol("FLAG_NCU")).to.equal(PURPOSE_FLAGS.NCU.bit);
    expect(sol("FLAG_NPU")).to.equal(PURPOSE_FLAGS.NPU.bit);
    const catConst = (name: string) => `CAT_${name.replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase()}`;
    for (const [name, c] of Object.entries(CATEGORIES)) expect(sol(catConst(name)), name).to.equal(c.bit);
    expect(sol("CATEGORY_COUNT")).to.equal(Object.keys(CATEGORIES).length);
    for (const [name, v] of Object.entries(KINDS)) expect(sol(`KIND_${name}`), name).to.equal(v);
    for (const [name, v] of Object.entries(ROLES)) expect(sol(`ROLE_${name}`), name).to.equal(v);
    expect(sol("MAX_EMERGENCY_REASON")).to.equal(Object.keys(EMERGENCY_REASONS).length);
  });

  it("has the contract's Reason enum in order", () => {
    const iface = readFileSync(new URL("../contracts/interfaces/IConsentRegistry.sol", import.meta.url), "utf8");
    const body = /enum Reason \{([^}]*)\}/.exec(iface)![1]!;
    const names = body
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
    expect(names).to.deep.equal(CONSENT_REASONS.map((r) => r.name));
  });
});

describe("sdk purpose and category encoding", () => {
  it("round-trips purposes", () => {
    expect(encodePurpose("TREAT")).to.equal(1n);
    const ds = encodePurpose({ purpose: "DS", disease: 5015, flags: ["NCU", "NPU"] });
    expect(ds).to.equal(9n | (3n << 8n) | (5015n << 16n));
    expect(decodePurpose(ds)).to.deep.equal({ purpose: "DS", disease: 5015, flags: ["NCU", "NPU"] });
    expect(decodePurpose(encodePurpose("HPAYMT"))).to.deep.equal({ purpose: "HPAYMT", disease: 0, flags: [] });
  });

  it("refuses malformed purposes", () => {
    expect(() => encodePurpose({ purpose: "DS" })).to.throw(/disease/);
    expect(() => encodePurpose({ purpose: "HMB", disease: 3 })).to.throw(/disease/);
    expect(() => encodePurpose({ purpose: "TREAT", flags: ["NCU"] })).to.throw(/research/);
    expect(() => encodePurpose("NOPE" as never)).to.throw(/unknown purpose/);
    expect(decodePurpose(0n)).to.equal(null);
    expect(decodePurpose(10n)).to.equal(null);
    expect(decodePurpose(1n | (1n << 8n))).to.equal(null);
    expect(decodePurpose(9n)).to.equal(null);
    expect(decodePurpose((1n << 48n) | 1n)).to.equal(null);
  });

  it("finds purposes by HL7 or DUO code and builds scopes", () => {
    expect(purposeByCode("TREAT")).to.equal("TREAT");
    expect(purposeByCode("DUO:0000042")).to.equal("GRU");
    expect(purposeByCode("XYZ")).to.equal(null);
    expect(purposeScope("HPAYMT")).to.equal(`0x${"0".repeat(63)}3`);
  });

  it("maps categories to masks and back, and describes a scope in plain words", () => {
    const mask = categoriesToMask(["Observation", "Condition"]);
    expect(mask).to.equal(0b110);
    expect(maskToCategories(mask)).to.deep.equal(["Observation", "Condition"]);
    expect(maskToCategories(ALL_CATEGORIES_MASK)).to.have.length(10);
    expect(describeScope(mask, 1n)).to.equal("Lab results and vital signs and conditions, for treatment");
    expect(describeScope(ALL_CATEGORIES_MASK, encodePurpose({ purpose: "GRU", flags: ["NCU"] }))).to.equal(
      "All of your records, for general research use, non-commercial use only",
    );
    expect(() => categoriesToMask(["Nope" as never])).to.throw(/unknown category/);
  });
});

describe("sdk break-glass reasons", () => {
  it("commits to a reason with a fresh salt, and reads the header back", () => {
    const at = {
      chainId: 31337,
      registry: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
      patient: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
      organization: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
    } as const;
    const salt = newEmergencyReasonSalt();
    expect(salt).to.match(/^0x[0-9a-f]{64}$/);
    expect(newEmergencyReasonSalt()).to.not.equal(salt);
    const commitment = emergencyReasonCommitment(at, { reasonCode: 2, salt });
    expect(commitment).to.equal(
      keccak256(
        encodeAbiParameters(parseAbiParameters("uint256, address, address, address, uint16, bytes32"), [
          31337n,
          at.registry,
          at.patient,
          at.organization,
          2,
          salt,
        ]),
      ),
    );
    expect(emergencyReasonCommitment(at, { reasonCode: 1, salt })).to.not.equal(commitment);
    expect(emergencyReasonCommitment({ ...at, chainId: 1 }, { reasonCode: 2, salt })).to.not.equal(commitment);
    expect(parseEmergencyReason(formatEmergencyReason({ reasonCode: 2, salt }))).to.deep.equal({ reasonCode: 2, salt });
    for (const bad of [undefined, "", "2", `5;${salt}`, `0;${salt}`, "2;0x12", `2;${salt}00`, `x;${salt}`]) {
      expect(parseEmergencyReason(bad), String(bad)).to.equal(null);
    }
  });
});
