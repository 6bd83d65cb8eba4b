"use client";
import { type FormEvent, useId, useState } from "react";
import { type Address, isAddressEqual } from "viem";

import { ROLES, type RoleName } from "#sdk/codes.ts";
import { consentRegistryAbi } from "#sdk/generated/abis.ts";
import { type MemberEntry, type MembershipOfferEntry, findOrganization } from "#sdk/ledger.ts";
import { AddressField } from "../../_components/AddressField.tsx";
import { ListLag } from "../../_components/ListLag.tsx";
import { TxStatusLine } from "../../_components/TxStatusLine.tsx";
import { parseAddressInput } from "../../_lib/address.ts";
import { capitalize, shortAddress } from "../../_lib/format.ts";
import { useHistory } from "../../_lib/history.ts";
import { useOrganizations } from "../../_lib/ledger.ts";
import { call, useTx } from "../../_lib/tx.ts";
import { registryAddress } from "../../_lib/wagmi.ts";

const ROLE_WORDS: Record<Exclude<RoleName, "ORGANIZATION">, string> = {
  ADMIN: "Administrator (manages members and studies)",
  CLINICIAN: "Clinician (reads for treatment, may open emergency access)",
  GATEWAY: "Gateway (reports deliveries, anchors audit logs, relays)",
  ANALYST: "Analyst (research)",
};
const MEMBER_ROLES = Object.keys(ROLE_WORDS) as (keyof typeof ROLE_WORDS)[];
const roleName = (role: number) => MEMBER_ROLES.find((r) => ROLES[r] === role);
/** "Clinician" (or "Role 7", a role this console does not know). */
const roleLabel = (role: number) => {
  const name = roleName(role);
  return name ? capitalize(name.toLowerCase()) : `Role ${role}`;
};

/** The membership offers made to the connected account: it becomes a member only by accepting one. */
export function MembershipOffers({ account }: { account: Address }) {
  const id = useId();
  const { nameOf } = useOrganizations();
  const tx = useTx();
  const [confirmed, setConfirmed] = useState("Done.");
  const { data: offers = [] } = useHistory<MembershipOfferEntry[]>(
    "membership-offers",
    registryAddress ? { member: account } : null,
  );
  if (offers.length === 0) return null;
  return (
    <section className="card" aria-labelledby={`${id}-heading`}>
      <h2 id={`${id}-heading`}>Membership offers to you</h2>
      <p>
        An organization offered this address a role. Nothing changes for your address until you accept; an address
        belongs to one organization at a time.
      </p>
      <ul className="plain rows" aria-label="Membership offers to you">
        {offers.map((o) => {
          const orgName = nameOf(o.organization) ?? shortAddress(o.organization);
          const role = roleName(o.role);
          const roleWords = role ? ROLE_WORDS[role] : `Role ${o.role}`;
          return (
            <li key={o.organization} className="row">
              <span>
                {orgName}: {roleWords}
              </span>
              <button
                type="button"
                className="button small primary"
                disabled={tx.busy}
                onClick={() => {
                  setConfirmed(`You are now a member of ${orgName}.`);
                  void tx.run(() =>
                    call(registryAddress!, consentRegistryAbi, "acceptMembership", [o.organization, o.role]),
                  );
                }}
              >
                Accept<span className="visually-hidden"> the offer of {orgName}</span>
              </button>
            </li>
          );
        })}
      </ul>
      <TxStatusLine status={tx.status} confirmed={confirmed} />
    </section>
  );
}

/** The members of an organization; its own address and ADMIN members offer membership (the member
 * accepts) and remove members; governance may remove any member. */
export function Members({ manages, governs = false }: { manages: Address | null; governs?: boolean }) {
  const id = useId();
  const { organizations, nameOf } = useOrganizations();
  const [chosen, setChosen] = useState<string>("");
  const organization = (chosen || manages || organizations[0]?.address || "") as Address | "";
  const {
    data: members = [],
    isPending,
    lag,
  } = useHistory<MemberEntry[]>("members", registryAddress && organization ? { organization } : null);
  const canManage = !!manages && !!organization && isAddressEqual(manages, organization);
  const canRemove = canManage || governs;
  const { data: offers = [] } = useHistory<MembershipOfferEntry[]>(
    "membership-offers",
    registryAddress && organization && canManage ? { organization } : null,
  );
  const orgName = organization ? (nameOf(organization) ?? shortAddress(organization)) : "";
  const tx = useTx();
  const [confirmed, setConfirmed] = useState("Done.");

  return (
    <section className="card" aria-labelledby={`${id}-heading`}>
      <h2 id={`${id}-heading`}>Members</h2>
      <p>
        An organization acts through member addresses with a role. The organization itself and its administrators offer
        membership, which the member&apos;s own address accepts, and remove members; governance may remove any member.
      </p>
      <div className="field">
        <label htmlFor={`${id}-org`}>Organization</label>
        <select id={`${id}-org`} value={organization} onChange={(e) => setChosen(e.target.value)}>
          {organizations.map((o) => (
            <option key={o.address} value={o.address}>
              {o.name}
            </option>
          ))}
        </select>
      </div>
      <ListLag lag={lag} />
      {isPending && organization ? (
        <p aria-busy="true">Reading the members…</p>
      ) : members.length === 0 ? (
        <p>{orgName} has no members.</p>
      ) : (
        <ul className="plain rows" aria-label={`Members of ${orgName}`}>
          {members.map((m) => (
            <li key={m.member} className="row">
              <span className="address" title={m.member}>
                {m.member}
              </span>
              <span className="badge badge-not-yet-valid">{roleLabel(m.role)}</span>
              {canRemove ? (
                <button
                  type="button"
                  className="button small danger"
                  disabled={tx.busy}
                  onClick={() => {
                    setConfirmed(`${shortAddress(m.member)} no longer acts for ${orgName}.`);
                    void tx.run(() =>
                      call(registryAddress!, consentRegistryAbi, "removeMember", [organization as Address, m.member]),
                    );
                  }}
                >
                  Remove<span className="visually-hidden"> member {shortAddress(m.member)}</span>
                </button>
              ) : null}
            </li>
          ))}
        </ul>
      )}
      {canManage && offers.length > 0 ? (
        <ul className="plain rows" aria-label={`Open membership offers of ${orgName}`}>
          {offers.map((o) => (
            <li key={o.member} className="row">
              <span className="address" title={o.member}>
                {o.member}
              </span>
              <span className="badge badge-not-yet-valid">Offered: {roleLabel(o.role)}</span>
              <button
                type="button"
                className="button small"
                disabled={tx.busy}
                onClick={() => {
                  setConfirmed(`The offer to ${shortAddress(o.member)} is withdrawn.`);
                  void tx.run(() =>
                    call(registryAddress!, consentRegistryAbi, "withdrawMembershipOffer", [
                      organization as Address,
                      o.member,
                    ]),
                  );
                }}
              >
                Withdraw offer<span className="visually-hidden"> to {shortAddress(o.member)}</span>
              </button>
            </li>
          ))}
        </ul>
      ) : null}
      {canManage ? (
        <AddMemberForm
          organization={organization as Address}
          name={orgName}
          taken={(a) => !!findOrganization(organizations, a)}
        />
      ) : null}
      <TxStatusLine status={tx.status} confirmed={confirmed} />
    </section>
  );
}

function AddMemberForm({
  organization,
  name,
  taken,
}: {
  organization: Address;
  name: string;
  taken: (a: Address) => boolean;
}) {
  const id = useId();
  const tx = useTx();
  const [address, setAddress] = useState("");
  const [role, setRole] = useState<keyof typeof ROLE_WORDS>("CLINICIAN");
  const [error, setError] = useState("");

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    const parsed = parseAddressInput(address, "the member's address");
    const problem =
      typeof parsed !== "string"
        ? parsed.error
        : taken(parsed)
          ? "That address is an organization itself; a member needs its own address."
          : "";
    setError(problem);
    if (problem || typeof parsed !== "string") {
      tx.fail("An answer needs correcting: see the message under it.");
      return;
    }
    const ok = await tx.run(() =>
      call(registryAddress!, consentRegistryAbi, "offerMembership", [organization, parsed, ROLES[role]]),
    );
    if (ok) setAddress("");
  }

  return (
    <form noValidate onSubmit={onSubmit} className="form inline-form" aria-label={`Offer membership of ${name}`}>
      <AddressField id={`${id}-address`} label="Member's address" value={address} onChange={setAddress} error={error} />
      <div className="field">
        <label htmlFor={`${id}-role`}>Role</label>
        <select id={`${id}-role`} value={role} onChange={(e) => setRole(e.target.value as keyof typeof ROLE_WORDS)}>
          {MEMBER_ROLES.map((r) => (
            <option key={r} value={r}>
              {ROLE_WORDS[r]}
            </option>
          ))}
        </select>
      </div>
      <button type="submit" className="button primary" disabled={tx.busy}>
        Offer membership
      </button>
      <TxStatusLine
        status={tx.status}
        confirmed={`Offer sent: the address becomes a member of ${name} once it accepts (here, with its own wallet).`}
      />
    </form>
  );
}
