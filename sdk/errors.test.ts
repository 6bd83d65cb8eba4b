import { expect } from "chai";
import { type Abi, type AbiParameter, zeroAddress } from "viem";

import { CONTRACT_ABIS, UNEXPLAINED_PREFIX, explainContractError } from "./errors.ts";

/** A plausible value for an error argument of this ABI type, so every sentence can be built. */
function sampleArg(parameter: AbiParameter): unknown {
  const type = parameter.type;
  if (type === "address") return "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
  if (type === "bool") return true;
  if (type === "string") return "text";
  if (type.startsWith("bytes")) return `0x${"ab".repeat(type === "bytes" ? 4 : Number(type.slice(5)))}`;
  if (type.startsWith("uint") || type.startsWith("int")) return 1n;
  return zeroAddress;
}

type AbiError = Extract<Abi[number], { type: "error" }>;

describe("sdk errors: one sentence for every custom error", () => {
  const errors = CONTRACT_ABIS.flatMap((abi) => abi.filter((item): item is AbiError => item.type === "error"));

  it("reads the errors of every contract's ABI", () => {
    // Guards the loop below against an ABI list that lost its contracts.
    expect(errors.map((e) => e.name)).to.include.members([
      "ConsentRegistryNoGrant",
      "OrganizationRegistryUnknownKind",
      "StudyEscrowNoExcess",
      "AuditAnchorInvalidRange",
      "ERC2612InvalidSigner",
    ]);
  });

  it("explains every custom error of every contract in its own words", () => {
    const missing = errors
      .filter((error) => explainContractError(error.name, error.inputs.map(sampleArg)).startsWith(UNEXPLAINED_PREFIX))
      .map((error) => error.name);
    expect([...new Set(missing)], "custom errors with no sentence in sdk/errors.ts").to.deep.equal([]);
  });

  it("falls back to the error's name for an error no ABI knows", () => {
    expect(explainContractError("SomethingNew", [])).to.equal(`${UNEXPLAINED_PREFIX} (SomethingNew).`);
  });
});
