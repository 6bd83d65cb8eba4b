"use client";
import { type FormEvent, useId, useState } from "react";
import { isHex, keccak256, toHex } from "viem";

import { KIND_WORDS, KINDS, type KindName } from "#sdk/codes.ts";
import { consentRegistryAbi } from "#sdk/generated/abis.ts";
import { findOrganization } from "#sdk/ledger.ts";
import { AddressField } from "../../_components/AddressField.tsx";
import { TxStatusLine } from "../../_components/TxStatusLine.tsx";
import { parseAddressInput } from "../../_lib/address.ts";
import { capitalize } from "../../_lib/format.ts";
import { useOrganizations } from "../../_lib/ledger.ts";
import { call, useTx } from "../../_lib/tx.ts";
import { registryAddress } from "../../_lib/wagmi.ts";

type Errors = Partial<Record<"address" | "name" | "gateway" | "licence", string>>;

/** The gateway URL the registry accepts: empty, or http(s) of at most 200 bytes. */
export function gatewayUrlError(value: string): string | undefined {
  if (value === "") return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return "Enter the gateway's full address, such as https://fhir.example.org/fhir, or leave it empty.";
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return "The gateway address must start with https://.";
  if (new TextEncoder().encode(value).length > 200) return "The gateway address may have at most 200 characters.";
  return undefined;
}

export function AccreditForm() {
  const id = useId();
  const tx = useTx();
  const { organizations } = useOrganizations();
  const [address, setAddress] = useState("");
  const [kind, setKind] = useState<KindName>("PROVIDER");
  const [name, setName] = useState("");
  const [gateway, setGateway] = useState("");
  const [licence, setLicence] = useState("");
  const [commercial, setCommercial] = useState(true);
  const [forProfit, setForProfit] = useState(true);
  const [errors, setErrors] = useState<Errors>({});
  const [confirmed, setConfirmed] = useState("Accredited.");

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    const found: Errors = {};
    const parsed = parseAddressInput(address, "the organization's address");
    if (typeof parsed !== "string") found.address = parsed.error;
    else if (findOrganization(organizations, parsed)) found.address = "That organization is already accredited.";
    const trimmedName = name.trim();
    const nameBytes = new TextEncoder().encode(trimmedName).length;
    if (nameBytes === 0) found.name = "Enter the organization's name.";
    else if (nameBytes > 100) found.name = "The name may have at most 100 characters.";
    const url = gateway.trim();
    const urlError = gatewayUrlError(url);
    if (urlError) found.gateway = urlError;
    const licenceText = licence.trim();
    if (!licenceText) found.licence = "Enter the licence documents you reviewed (a reference or their hash).";
    setErrors(found);
    if (Object.keys(found).length > 0 || typeof parsed !== "string") {
      tx.fail("Some answers need correcting: see the message under each of them.");
      return;
    }
    const licenceHash = isHex(licenceText) && licenceText.length === 66 ? licenceText : keccak256(toHex(licenceText));
    const uses = `${commercial ? "commercial" : "non-commercial"}, ${forProfit ? "for-profit" : "not-for-profit"}`;
    const done = `${trimmedName} is accredited as a ${KIND_WORDS[kind]}; its uses count as ${uses}.`;
    // No record counts as commercial and for-profit: a second transaction only to record otherwise.
    const recordUses = !commercial || !forProfit;
    setConfirmed(
      recordUses ? `${trimmedName} is accredited as a ${KIND_WORDS[kind]}; now its uses are recorded.` : done,
    );
    let ok = await tx.run(() =>
      call(registryAddress!, consentRegistryAbi, "accredit", [parsed, KINDS[kind], trimmedName, url, licenceHash]),
    );
    if (ok && recordUses) {
      // The second run's status and the final message change in one render: "…count as …" is
      // never shown before the record is mined.
      const recorded = tx.run(() =>
        call(registryAddress!, consentRegistryAbi, "setUseProfile", [parsed, commercial, forProfit]),
      );
      setConfirmed(done);
      ok = await recorded;
    }
    if (ok) {
      setAddress("");
      setName("");
      setGateway("");
      setLicence("");
      setCommercial(true);
      setForProfit(true);
    }
  }

  const described = (field: keyof Errors, help = false) => ({
    "aria-invalid": !!errors[field],
    "aria-describedby": `${help ? `${id}-${field}-help ` : ""}${id}-${field}-error`,
  });
  const error = (field: keyof Errors) => (
    <p id={`${id}-${field}-error`} className="field-error">
      {errors[field]}
    </p>
  );

  return (
    <section className="card" aria-labelledby={`${id}-heading`}>
      <h2 id={`${id}-heading`}>Accredit an organization</h2>
      <form noValidate onSubmit={onSubmit} className="form" aria-labelledby={`${id}-heading`}>
        <AddressField
          id={`${id}-address`}
          label="Organization's address"
          value={address}
          onChange={setAddress}
          error={errors.address}
        />
        <div className="field">
          <label htmlFor={`${id}-kind`}>Kind</label>
          <select id={`${id}-kind`} value={kind} onChange={(e) => setKind(e.target.value as KindName)}>
            {(Object.keys(KINDS) as KindName[]).map((k) => (
              <option key={k} value={k}>
                {capitalize(KIND_WORDS[k])}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={`${id}-name`}>Name</label>
          <input
            id={`${id}-name`}
            type="text"
            autoComplete="off"
            value={name}
            onChange={(e) => setName(e.target.value)}
            {...described("name")}
          />
          {error("name")}
        </div>
        <div className="field">
          <label htmlFor={`${id}-gateway`}>Gateway URL (optional)</label>
          <input
            id={`${id}-gateway`}
            type="url"
            autoComplete="off"
            placeholder="https://fhir.example.org/fhir"
            value={gateway}
            onChange={(e) => setGateway(e.target.value)}
            {...described("gateway", true)}
          />
          <p id={`${id}-gateway-help`} className="help">
            For hospitals and labs that hold records: the base URL of their FHIR gateway.
          </p>
          {error("gateway")}
        </div>
        <div className="field">
          <label htmlFor={`${id}-licence`}>Licence documents</label>
          <input
            id={`${id}-licence`}
            type="text"
            autoComplete="off"
            value={licence}
            onChange={(e) => setLicence(e.target.value)}
            {...described("licence", true)}
          />
          <p id={`${id}-licence-help`} className="help">
            Only their hash goes on-chain: paste the documents&apos; 0x… hash, or a reference that is hashed for you.
          </p>
          {error("licence")}
        </div>
        <fieldset className="field">
          <legend>Its uses of data</legend>
          <label>
            <input type="checkbox" checked={commercial} onChange={(e) => setCommercial(e.target.checked)} /> Commercial
          </label>
          <label>
            <input type="checkbox" checked={forProfit} onChange={(e) => setForProfit(e.target.checked)} /> For profit
          </label>
          <p className="help">
            Every consent check of its reads carries these: a patient&apos;s grant for non-commercial or not-for-profit
            use only refuses a commercial or for-profit reader. Untick only what the licence documents show.
          </p>
        </fieldset>
        <button type="submit" className="button primary" disabled={tx.busy}>
          Accredit
        </button>
        <TxStatusLine status={tx.status} confirmed={confirmed} />
      </form>
    </section>
  );
}
