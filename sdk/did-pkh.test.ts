import { expect } from "chai";

import { formatDidPkh, isDidPkh, normalizeDidPkh, parseDidPkh } from "./did-pkh.ts";

const CHECKSUMMED = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

describe("did:pkh", () => {
  it("formats the CAIP-10 account id with the address EIP-55 checksummed, from any case", () => {
    const did = `did:pkh:eip155:31337:${CHECKSUMMED}`;
    expect(formatDidPkh(31337, CHECKSUMMED)).to.equal(did);
    expect(formatDidPkh(31337, CHECKSUMMED.toLowerCase())).to.equal(did);
    expect(formatDidPkh(31337n, `0x${CHECKSUMMED.slice(2).toUpperCase()}`)).to.equal(did);
    expect(() => formatDidPkh(0, CHECKSUMMED)).to.throw(/chain id/);
    expect(() => formatDidPkh(1, "0x1234")).to.throw(/address/);
  });

  it("parses and normalizes what comes in to the one spelling", () => {
    const lower = `did:pkh:eip155:1:${CHECKSUMMED.toLowerCase()}`;
    expect(parseDidPkh(lower)).to.deep.equal({ chainId: 1, address: CHECKSUMMED });
    expect(normalizeDidPkh(lower)).to.equal(`did:pkh:eip155:1:${CHECKSUMMED}`);
    expect(normalizeDidPkh(`did:pkh:eip155:1:${CHECKSUMMED}`)).to.equal(`did:pkh:eip155:1:${CHECKSUMMED}`);
  });

  it("refuses a wrong checksum, another namespace and malformed ids", () => {
    // One letter's case flipped: a mistyped mixed-case address is not silently "fixed".
    const typo = CHECKSUMMED.replace("C5", "c5");
    expect(isDidPkh(`did:pkh:eip155:1:${typo}`)).to.equal(false);
    for (const bad of [
      `did:pkh:solana:1:${CHECKSUMMED}`,
      `did:pkh:eip155:01:${CHECKSUMMED}`,
      `did:pkh:eip155:1:${CHECKSUMMED}x`,
      `did:pkh:eip155::${CHECKSUMMED}`,
      `did:pkh:eip155:99999999999999999999:${CHECKSUMMED}`,
      "did:pkh:eip155:1:0xnotanaddress",
    ]) {
      expect(isDidPkh(bad), bad).to.equal(false);
      expect(() => parseDidPkh(bad), bad).to.throw(/did:pkh/);
    }
  });
});
