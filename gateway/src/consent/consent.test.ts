import type { AuditEvent, Bundle, Consent, OperationOutcome, Patient } from "@medplum/fhirtypes";
import { expect } from "chai";
import { sql } from "drizzle-orm";
import type { LightMyRequestResponse } from "fastify";
import type { LocalAccount } from "viem/accounts";
import {
  categoriesToMask,
  emergencyReasonCommitment,
  encodePurpose,
  formatEmergencyReason,
  newEmergencyReasonSalt,
  purposeScope,
  type CategoryName,
} from "#sdk/codes.ts";
import { listAudit, verifyChain } from "../audit/log.ts";
import { assertValidFhir } from "../fhir/validation.ts";
import { ADMIN, FHIR, testGateway, type TestGateway } from "../testing/gateway.ts";

function bundleOf(res: LightMyRequestResponse): Bundle {
  expect(res.statusCode, res.body.slice(0, 600)).to.equal(200);
  expect(res.headers["content-type"]).to.match(/^application\/fhir\+json/);
  const bundle = res.json() as Bundle;
  expect(bundle).to.include({ resourceType: "Bundle", type: "searchset" });
  return bundle;
}

function refused(res: LightMyRequestResponse, status: number, text: RegExp): OperationOutcome {
  expect(res.statusCode, res.body.slice(0, 600)).to.equal(status);
  const body = res.json() as OperationOutcome;
  expect(body.resourceType).to.equal("OperationOutcome");
  const said = (body.issue ?? []).map((i) => `${i.details?.text ?? ""} ${i.diagnostics ?? ""}`).join("\n");
  expect(said).to.match(text);
  return body;
}

/**
 * What a reader without any relation to the patient gets, as for a patient not held here: an
 * empty searchset for a search, 404 for a read.
 */
function asUnknown(res: LightMyRequestResponse): void {
  if (res.statusCode === 404) {
    refused(res, 404, /is not held by this gateway/);
    return;
  }
  const bundle = bundleOf(res);
  expect(bundle.total, res.body.slice(0, 300)).to.equal(0);
  expect(bundle.entry ?? []).to.deep.equal([]);
}

const types = (b: Bundle) => [...new Set((b.entry ?? []).map((e) => e.resource?.resourceType))];

describe("consent-checked reads", function () {
  this.timeout(180_000);
  let gw: TestGateway;
  let patient: LocalAccount;
  let patientId: string;
  let unlinkedId: string;
  let patientToken: string;
  let clinicianToken: string;

  before(async () => {
    gw = await testGateway({ custodian: "lab" });
    const { patients } = await gw.ingest({ seed: "consent-reads", patients: 2 });
    patientId = patients[0]!.id!;
    unlinkedId = patients[1]!.id!;
    patient = await gw.t.newAccount();
    await gw.link(patientId, patient);
    patientToken = await gw.signIn(patient);
    clinicianToken = await gw.signIn(gw.t.actors.clinician);
  });
  after(() => gw.close());

  const hospital = () => gw.t.actors.hospital.address;
  async function grant(categories: CategoryName[], seconds = 3600, purpose: "TREAT" | "HOPERAT" = "TREAT") {
    const expiresAt = (await gw.t.now()) + seconds;
    await gw.t.registryWrite(patient, "grant", [
      hospital(),
      categoriesToMask(categories),
      encodePurpose(purpose),
      0,
      expiresAt,
    ]);
  }
  const revoke = () => gw.t.registryWrite(patient, "revoke", [hospital(), purposeScope("TREAT")]);

  it("lets the patient read all of its own records (read, search, $everything)", async () => {
    const pat = await gw.read(patientToken, `/fhir/Patient/${patientId}`);
    expect(pat.statusCode, pat.body).to.equal(200);
    expect((pat.json() as Patient).id).to.equal(patientId);
    expect(pat.headers["etag"]).to.equal('W/"1"');
    const obs = bundleOf(await gw.read(patientToken, `/fhir/Observation?patient=Patient/${patientId}`));
    expect(obs.total).to.be.greaterThan(0);
    const all = bundleOf(await gw.read(patientToken, `/fhir/Patient/${patientId}/$everything`, "TREAT"));
    expect(types(all)).to.include.members(["Patient", "Observation", "Condition", "Encounter"]);
    assertValidFhir(all);
  });

  it("pages $everything: bounded pages linked by next, every record exactly once, stable while records arrive", async () => {
    const url = `/fhir/Patient/${patientId}/$everything`;
    const path = (link: string) => link.slice(new URL(link).origin.length);
    const next = (b: Bundle) => b.link?.find((l) => l.relation === "next")?.url;
    const whole = bundleOf(await gw.read(patientToken, `${url}?_count=1000`, "TREAT"));
    expect(next(whole)).to.equal(undefined);
    const ids = (whole.entry ?? []).map((e) => `${e.resource!.resourceType}/${e.resource!.id}`);
    expect(ids.length).to.equal(whole.total).and.to.be.greaterThan(15);
    // The default page is bounded too.
    const first = bundleOf(await gw.read(patientToken, url, "TREAT"));
    expect(first.entry!.length).to.be.at.most(100);
    // Pages of 7: the same first page twice, every record once, in (type, id) order, Patient first.
    const page1 = await gw.read(patientToken, `${url}?_count=7`, "TREAT");
    expect((await gw.read(patientToken, `${url}?_count=7`, "TREAT")).body).to.equal(page1.body);
    const seen: string[] = [];
    let bundle = bundleOf(page1);
    let pages = 0;
    for (;;) {
      pages++;
      expect(bundle.entry!.length).to.be.at.most(7);
      expect(bundle.total).to.equal(ids.length + (pages > 2 ? 2 : 0));
      seen.push(...bundle.entry!.map((e) => `${e.resource!.resourceType}/${e.resource!.id}`));
      if (pages === 2) {
        // Records arrive while the reader pages: nothing already there is skipped or repeated.
        for (const id of ["0000-early", "zzzz-late"]) {
          const res = await gw.app.inject({
            method: "PUT",
            url: `/fhir/Observation/${id}`,
            headers: { ...ADMIN, "content-type": FHIR },
            payload: JSON.stringify({
              resourceType: "Observation",
              id,
              status: "final",
              code: { coding: [{ system: "http://loinc.org", code: "8480-6" }] },
              subject: { reference: `Patient/${patientId}` },
            }),
          });
          expect(res.statusCode, res.body).to.equal(201);
        }
      }
      const link = next(bundle);
      if (link === undefined) break;
      expect(link).to.match(/_count=7&_cursor=/);
      bundle = bundleOf(await gw.read(patientToken, path(link), "TREAT"));
    }
    expect(pages).to.equal(Math.ceil(seen.length / 7));
    expect(seen.filter((id) => id !== "Observation/zzzz-late")).to.deep.equal(ids);
    expect(seen).to.include("Observation/zzzz-late");
    expect(seen[0]).to.equal(`Patient/${patientId}`);
    // Out of bounds or forged cursors are refused.
    refused(await gw.read(patientToken, `${url}?_count=0`, "TREAT"), 400, /_count must be an integer from 1 to 1000/);
    refused(await gw.read(patientToken, `${url}?_count=1001`, "TREAT"), 400, /_count/);
    refused(await gw.read(patientToken, `${url}?_cursor=Nope/x`, "TREAT"), 400, /_cursor/);
    refused(await gw.read(patientToken, `${url}?_cursor=Observation`, "TREAT"), 400, /_cursor/);
  });

  it("finds the Patient linked to a wallet by identifier (did:pkh), consent-checked like any search", async () => {
    const did = `did:pkh:eip155:${gw.t.chainId}:${patient.address}`;
    for (const value of [did, `urn:ietf:rfc:3986|${did}`, did.toLowerCase()]) {
      const found = bundleOf(await gw.read(patientToken, `/fhir/Patient?identifier=${encodeURIComponent(value)}`));
      expect(found.total, value).to.equal(1);
      expect(found.entry?.[0]?.resource?.id).to.equal(patientId);
    }
    const stranger = `did:pkh:eip155:${gw.t.chainId}:${gw.t.unfundedAccount().address}`;
    expect(bundleOf(await gw.read(patientToken, `/fhir/Patient?identifier=${stranger}`)).total).to.equal(0);
    // A reader without any consent learns nothing: as for a wallet linked to nobody.
    const byWallet = `/fhir/Patient?identifier=${encodeURIComponent(did)}`;
    asUnknown(await gw.read(clinicianToken, byWallet));
    // With consent to lab results only: the record's id (to read them), not the demographics.
    await grant(["Observation"]);
    const masked = bundleOf(await gw.read(clinicianToken, byWallet));
    assertValidFhir(masked);
    expect(masked.entry?.[0]?.resource).to.deep.equal({
      resourceType: "Patient",
      id: patientId,
      meta: {
        security: [
          {
            system: "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
            code: "REDACTED",
            display: "redacted",
          },
        ],
      },
    });
    expect(JSON.stringify(masked.entry?.[1])).to.match(/Patient \(demographics\) withheld.*CategoryNotGranted/);
    await revoke();
    asUnknown(await gw.read(clinicianToken, byWallet));
    // With consent to another purpose only: told what is missing.
    await grant(["Observation"], 3600, "HOPERAT");
    refused(
      await gw.read(clinicianToken, byWallet),
      403,
      /No consent for Patient.*No consent for Observation.*NoGrant/s,
    );
    await gw.t.registryWrite(patient, "revoke", [hospital(), purposeScope("HOPERAT")]);
    refused(await gw.read(patientToken, `/fhir/Patient?identifier=MRN123`), 400, /not a wallet as did:pkh/);
    refused(await gw.read(patientToken, `/fhir/Patient?identifier=http://x|${did}`), 400, /only wallets are searched/);
    refused(await gw.read(patientToken, `/fhir/Patient?identifier=${did}&_id=${patientId}`), 400, /not both/);
  });

  it("answers a reader without any consent as for no patient; with some, 403 naming category, purpose and reason", async () => {
    asUnknown(await gw.read(clinicianToken, `/fhir/Observation?patient=${patientId}`));
    asUnknown(await gw.read(clinicianToken, `/fhir/Patient/${patientId}`));
    await grant(["Condition"], 3600, "HOPERAT");
    const res = await gw.read(clinicianToken, `/fhir/Observation?patient=${patientId}`);
    refused(
      res,
      403,
      /No consent for Observation \(lab results and vital signs\) for purpose TREAT.*no grant exists.*NoGrant/,
    );
    expect(res.body).not.to.include(patientId);
    refused(await gw.read(clinicianToken, `/fhir/Patient/${patientId}`), 403, /No consent for Patient/);
    await gw.t.registryWrite(patient, "revoke", [hospital(), purposeScope("HOPERAT")]);
  });

  it("serves consented categories only, and refuses the very next read after a revocation is mined", async () => {
    await grant(["Observation", "Condition"]);
    const obs = bundleOf(await gw.read(clinicianToken, `/fhir/Observation?patient=${patientId}&_count=2`));
    expect(obs.entry).to.have.length(2);
    assertValidFhir(obs);
    // Paging: self and next links; the next page continues where this one stopped.
    expect(obs.link?.find((l) => l.relation === "self")?.url).to.equal(
      `http://127.0.0.1:8080/fhir/Observation?patient=${patientId}&_count=2&_offset=0`,
    );
    const next = obs.link?.find((l) => l.relation === "next")?.url;
    expect(next).to.equal(`http://127.0.0.1:8080/fhir/Observation?patient=${patientId}&_count=2&_offset=2`);
    const page2 = bundleOf(await gw.read(clinicianToken, next!.replace("http://127.0.0.1:8080", "")));
    expect(page2.entry?.[0]?.resource?.id).not.to.equal(obs.entry?.[0]?.resource?.id);
    expect(page2.total).to.equal(obs.total);

    const conditionId = (bundleOf(await gw.read(clinicianToken, `/fhir/Condition?patient=${patientId}`)).entry ?? [])[0]
      ?.resource?.id;
    if (conditionId) expect((await gw.read(clinicianToken, `/fhir/Condition/${conditionId}`)).statusCode).to.equal(200);
    refused(await gw.read(clinicianToken, `/fhir/MedicationRequest?patient=${patientId}`), 403, /CategoryNotGranted/);

    const everything = bundleOf(await gw.read(clinicianToken, `/fhir/Patient/${patientId}/$everything`));
    expect(
      types(everything)
        .filter((t) => t !== "OperationOutcome")
        .sort(),
    ).to.deep.equal(conditionId ? ["Condition", "Observation"] : ["Observation"]);
    const withheld = everything.entry?.find((e) => e.search?.mode === "outcome")?.resource as OperationOutcome;
    expect(JSON.stringify(withheld)).to.match(/Patient \(demographics\) withheld.*CategoryNotGranted/);
    assertValidFhir(everything);

    await revoke();
    asUnknown(await gw.read(clinicianToken, `/fhir/Observation?patient=${patientId}`));
  });

  it("stops reads at the next block after revoke-all, suspension and expiry", async () => {
    const url = `/fhir/Observation?patient=${patientId}&_count=1`;
    await grant(["Observation"]);
    expect((await gw.read(clinicianToken, url)).statusCode).to.equal(200);
    await gw.t.registryWrite(patient, "revokeAll", []);
    asUnknown(await gw.read(clinicianToken, url)); // RevokedByRevokeAll: no consent left at all

    await grant(["Observation"]);
    expect((await gw.read(clinicianToken, url)).statusCode).to.equal(200);
    await gw.t.registryWrite(gw.t.actors.governance, "suspend", [hospital(), `0x${"00".repeat(32)}`]);
    try {
      asUnknown(await gw.read(clinicianToken, url)); // OrganizationSuspended
    } finally {
      await gw.t.registryWrite(gw.t.actors.governance, "reinstate", [hospital()]);
    }
    expect((await gw.read(clinicianToken, url)).statusCode).to.equal(200);

    await grant(["Observation"], 100);
    expect((await gw.read(clinicianToken, url)).statusCode).to.equal(200);
    await gw.t.mine(200);
    asUnknown(await gw.read(clinicianToken, url)); // Expired
    // With another consent still in force, the reason is given.
    await grant(["Condition"], 3600, "HOPERAT");
    await grant(["Observation"], 100);
    await gw.t.mine(200);
    refused(await gw.read(clinicianToken, url), 403, /Expired/);
    await gw.t.registryWrite(patient, "revoke", [hospital(), purposeScope("HOPERAT")]);
  });

  it("checks the purpose: missing or unknown is 400 naming the header; an uncovered one is 403", async () => {
    await grant(["Observation"]);
    const url = `/fhir/Observation?patient=${patientId}`;
    refused(await gw.read(clinicianToken, url, ""), 400, /Missing X-Purpose-Of-Use/);
    refused(await gw.read(clinicianToken, url, "SHOPPING"), 400, /X-Purpose-Of-Use: unknown purpose of use "SHOPPING"/);
    refused(await gw.read(clinicianToken, url, "TREAT,HPAYMT"), 400, /exactly one/);
    expect(
      (await gw.read(clinicianToken, url, "http://terminology.hl7.org/CodeSystem/v3-ActReason|TREAT")).statusCode,
    ).to.equal(200);
    refused(await gw.read(clinicianToken, url, "HPAYMT"), 403, /WrongOrganizationKind/);
    // The research analyst asks for general research use (a DUO code): no research grant.
    const analyst = await gw.signIn(gw.t.actors.analyst);
    asUnknown(await gw.read(analyst, url, "DUO:0000042")); // holds no consent of the patient
    await revoke();
  });

  it("takes a research read's use flags from governance's record of the reader's organization (none: commercial and for-profit)", async () => {
    const research = gw.t.actors.research.address;
    const governance = gw.t.actors.governance;
    const analyst = await gw.signIn(gw.t.actors.analyst);
    const url = `/fhir/Observation?patient=${patientId}`;
    const researchGrant = async (flags: Array<"NCU" | "NPU">) =>
      gw.t.registryWrite(patient, "grant", [
        research,
        categoriesToMask(["Observation"]),
        encodePurpose({ purpose: "GRU", flags }),
        0,
        (await gw.t.now()) + 3600,
      ]);
    const read = () => gw.read(analyst, url, "DUO:0000042");
    const refusedAsCommercial = async () => refused(await read(), 403, /No consent for Observation.*PurposeNotCovered/);
    try {
      await researchGrant([]);
      expect((await read()).statusCode).to.equal(200);
      // No record: every research read counts as commercial and for-profit.
      for (const flags of [["NCU"], ["NPU"], ["NCU", "NPU"]] as Array<Array<"NCU" | "NPU">>) {
        await researchGrant(flags);
        await refusedAsCommercial();
      }
      // Recorded non-commercial but for-profit: NCU passes, NPU still refuses.
      await gw.t.registryWrite(governance, "setUseProfile", [research, false, true]);
      await researchGrant(["NCU"]);
      expect((await read()).statusCode).to.equal(200);
      await researchGrant(["NPU"]);
      await refusedAsCommercial();
      // Recorded non-commercial and not-for-profit: both restrictions pass.
      await gw.t.registryWrite(governance, "setUseProfile", [research, false, false]);
      await researchGrant(["NCU", "NPU"]);
      expect((await read()).statusCode).to.equal(200);
    } finally {
      await gw.t.registryWrite(governance, "setUseProfile", [research, true, true]);
      await gw.t.registryWrite(patient, "revoke", [research, purposeScope("GRU")]);
    }
  });

  it("lets a current delegate read (and list consents and the access log) until the term ends", async () => {
    const delegate = await gw.t.newAccount();
    const until = (await gw.t.now()) + 1000;
    await gw.t.registryWrite(patient, "appointDelegate", [delegate.address, until]);
    const token = await gw.signIn(delegate);
    const all = bundleOf(await gw.read(token, `/fhir/Patient/${patientId}/$everything`, "HOPERAT"));
    expect(types(all)).to.include("Observation");
    expect((await gw.read(token, `/fhir/AuditEvent?patient=${patientId}`)).statusCode).to.equal(200);
    expect((await gw.read(token, `/fhir/Consent?patient=${patientId}`)).statusCode).to.equal(200);
    await gw.t.mine(2000);
    asUnknown(await gw.read(token, `/fhir/Observation?patient=${patientId}`)); // UnknownGrantee
    asUnknown(await gw.read(token, `/fhir/AuditEvent?patient=${patientId}`));
  });

  it("serves break-glass emergency access for ETREAT only with its reason, checked against the chain's commitment, and logs the reason", async () => {
    // The registry holds only a commitment to the reason (a watcher of the chain learns nothing of
    // why); the clinician's console sends reason and salt with the read, and the patient's access
    // log here is where the reason is written.
    const reason = { reasonCode: 2, salt: newEmergencyReasonSalt() } as const;
    const commitment = emergencyReasonCommitment(
      { chainId: gw.t.chainId, registry: gw.t.registry, patient: patient.address, organization: hospital() },
      reason,
    );
    await gw.t.registryWrite(gw.t.actors.clinician, "openEmergencyAccess", [patient.address, commitment, 3600]);
    const url = `/fhir/AllergyIntolerance?patient=${patientId}`;
    const withReason = (value: string) => ({ headers: { "x-emergency-reason": value } });
    // Without the reason, with another reason or another salt: refused, and the refusal says why.
    refused(await gw.read(clinicianToken, url, "ETREAT"), 403, /EmergencyReasonMissing/);
    refused(
      await gw.read(clinicianToken, url, "ETREAT", withReason(formatEmergencyReason({ ...reason, reasonCode: 1 }))),
      403,
      /EmergencyReasonMissing/,
    );
    refused(
      await gw.read(
        clinicianToken,
        url,
        "ETREAT",
        withReason(formatEmergencyReason({ ...reason, salt: newEmergencyReasonSalt() })),
      ),
      403,
      /EmergencyReasonMissing/,
    );
    refused(await gw.read(clinicianToken, url, "ETREAT", withReason("2")), 400, /X-Emergency-Reason/);
    const res = await gw.read(clinicianToken, url, "ETREAT", withReason(formatEmergencyReason(reason)));
    expect(res.statusCode, res.body).to.equal(200);
    refused(await gw.read(clinicianToken, url, "TREAT"), 403, /NoGrant/);
    const trail = await listAudit(gw.store.db, patientId, { limit: 1000 });
    const emergency = trail.filter((e) => e.event.purposeOfEvent?.some((p) => p.coding?.[0]?.code === "BTG"));
    expect(emergency).to.have.length(1);
    expect(emergency[0]!.event.outcomeDesc).to.match(/Emergency \(break-glass\) access: AllergyIntolerance/);
    expect(emergency[0]!.event.outcomeDesc).to.match(/reason: Life-threatening condition/);
    const details = (emergency[0]!.event.entity ?? []).flatMap((e) => e.detail ?? []);
    expect(details).to.deep.include({ type: "emergency-reason", valueString: "2 Life-threatening condition" });
    expect(emergency[0]!.event.purposeOfEvent?.[0]?.coding?.[0]?.code).to.equal("ETREAT");
    await gw.t.registryWrite(patient, "closeEmergencyAccess", [patient.address, hospital()]);
    asUnknown(await gw.read(clinicianToken, url, "ETREAT", withReason(formatEmergencyReason(reason))));
  });

  it("answers everyone for a patient without a linked wallet as for no patient: no consent can exist", async () => {
    await grant(["Observation"]);
    asUnknown(await gw.read(clinicianToken, `/fhir/Observation?patient=${unlinkedId}`));
    asUnknown(await gw.read(patientToken, `/fhir/Patient/${unlinkedId}`));
    const trail = await listAudit(gw.store.db, unlinkedId, { limit: 1000 });
    expect(trail.at(-1)!.event.outcomeDesc).to.match(/no linked wallet/);
    expect(trail.at(-1)!.event.outcome).to.equal("4");
    await revoke();
  });

  it("lists the patient's grants from the chain as FHIR Consents: all for the patient, own ones for a grantee", async () => {
    await grant(["Observation", "Condition"], 7200, "HOPERAT");
    // A grant to another organization: the patient sees it, the hospital does not.
    await gw.t.registryWrite(patient, "grant", [
      gw.t.actors.research.address,
      categoriesToMask(["Observation"]),
      encodePurpose("GRU"),
      0,
      (await gw.t.now()) + 3600,
    ]);
    const mine = bundleOf(await gw.read(patientToken, `/fhir/Consent?patient=${patientId}`));
    assertValidFhir(mine);
    const consents = (mine.entry ?? []).map((e) => e.resource as Consent);
    expect(consents.length).to.be.greaterThan(1);
    expect(consents.every((c) => c.patient?.reference === `Patient/${patientId}`)).to.equal(true);
    const active = consents.filter((c) => c.status === "active");
    expect(active.map((c) => c.provision?.purpose?.at(-1)?.code)).to.deep.equal(["DUO:0000042", "HOPERAT"]);
    expect(active[1]!.provision?.actor?.[0]?.reference?.display).to.equal("St. Example Hospital");
    expect(active[1]!.provision?.class?.map((c) => c.code)).to.deep.equal(["Observation", "Condition"]);

    const asGrantee = bundleOf(await gw.read(clinicianToken, `/fhir/Consent?patient=${patientId}`));
    const toHospital = consents.filter((c) => c.provision?.actor?.[0]?.reference?.display === "St. Example Hospital");
    expect(asGrantee.total).to.equal(toHospital.length);
    expect(toHospital.length).to.be.lessThan(consents.length); // the research organization's grant is not shown
    // The grantee sees the patient by its record here, never by its wallet.
    expect(asGrantee.entry?.[0]?.resource).to.deep.include({ patient: { reference: `Patient/${patientId}` } });
    expect(JSON.stringify(asGrantee).toLowerCase()).not.to.include(patient.address.toLowerCase().slice(2));
    const lab = await gw.signIn(gw.t.actors.lab);
    asUnknown(await gw.read(lab, `/fhir/Consent?patient=${patientId}`));
    refused(
      await gw.read(patientToken, `/fhir/Consent?patient=${patientId}&status=active`),
      400,
      /Unsupported search parameter "status"/,
    );
    await gw.t.registryWrite(patient, "revoke", [gw.t.actors.research.address, purposeScope("GRU")]);
  });

  it("shows the patient its access log, newest first, paged; refused reads included; nobody else", async () => {
    const first = bundleOf(await gw.read(patientToken, `/fhir/AuditEvent?patient=${patientId}&_count=5`));
    assertValidFhir(first);
    const events = (first.entry ?? []).map((e) => e.resource as AuditEvent);
    expect(events).to.have.length(5);
    const recorded = events.map((e) => e.recorded!);
    expect([...recorded].sort().reverse()).to.deep.equal(recorded);
    const next = first.link?.find((l) => l.relation === "next")?.url;
    expect(next).to.match(/_before=\d+/);
    const second = bundleOf(await gw.read(patientToken, next!.replace("http://127.0.0.1:8080", "")));
    expect(
      new Date(
        second.entry![0]!.resource!.meta?.lastUpdated ?? (second.entry![0]!.resource as AuditEvent).recorded!,
      ).getTime(),
    ).to.be.at.most(new Date(recorded.at(-1)!).getTime());
    await gw.app.audit.flush(); // a reader's repeated refusals are folded until their window ends
    const all = await listAudit(gw.store.db, patientId, { limit: 1000 });
    expect(all.some((e) => e.event.outcome === "4" && /NoGrant/.test(e.event.outcomeDesc ?? ""))).to.equal(true);
    expect(all.some((e) => e.event.agent[0]?.who?.identifier?.value?.endsWith(gw.t.actors.clinician.address))).to.equal(
      true,
    );
    refused(await gw.read(clinicianToken, `/fhir/AuditEvent?patient=${patientId}`), 403, /Only the patient/);
    expect((await verifyChain(gw.store.db)).ok).to.equal(true);
  });

  it("sends nothing when the read's AuditEvent cannot be committed", async () => {
    const [observation] =
      bundleOf(await gw.read(patientToken, `/fhir/Observation?patient=${patientId}&_count=1`)).entry ?? [];
    const url = `/fhir/Observation/${observation!.resource!.id}`;
    const read = await gw.read(patientToken, url);
    expect(read.statusCode).to.equal(200);
    expect(read.headers["etag"]).to.be.a("string");
    // A search large enough to be gzipped (the answer is compressed while its AuditEvent commits).
    const search = `/fhir/Observation?patient=${patientId}&_count=20`;
    const gzip = { headers: { "accept-encoding": "gzip" } };
    const listed = await gw.read(patientToken, search, "TREAT", gzip);
    expect(listed.statusCode).to.equal(200);
    expect(listed.headers["content-encoding"]).to.equal("gzip");
    const db = gw.store.db;
    await db.execute(sql`CREATE FUNCTION test_refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'audit storage unavailable (test)'; END $$`);
    await db.execute(sql`CREATE TRIGGER test_refuse_audit BEFORE INSERT ON audit_events
      FOR EACH ROW EXECUTE FUNCTION test_refuse_audit()`);
    try {
      const res = await gw.read(patientToken, url);
      expect(res.statusCode).to.equal(500);
      expect(res.body).not.to.contain(observation!.resource!.id);
      expect((res.json() as OperationOutcome).resourceType).to.equal("OperationOutcome");
      // Nothing of the answer: not its version (ETag), not its date.
      expect(res.headers["etag"]).to.equal(undefined);
      expect(res.headers["last-modified"]).to.equal(undefined);
      const search500 = await gw.read(patientToken, search, "TREAT", gzip);
      expect(search500.statusCode).to.equal(500);
      expect(search500.headers["content-encoding"]).to.equal(undefined);
      expect((search500.json() as OperationOutcome).resourceType).to.equal("OperationOutcome");
      expect(search500.body).not.to.contain(observation!.resource!.id);
      expect(search500.headers["cache-control"]).to.equal("no-store");
    } finally {
      await db.execute(sql`DROP TRIGGER test_refuse_audit ON audit_events`);
      await db.execute(sql`DROP FUNCTION test_refuse_audit()`);
    }
    expect((await gw.read(patientToken, url)).statusCode).to.equal(200);
    expect((await verifyChain(db)).ok).to.equal(true);
  });

  it("answers unknown ids 404, bad ids 400, erased patients as unknown ones", async () => {
    refused(await gw.read(patientToken, "/fhir/Observation/does-not-exist"), 404, /not held/);
    refused(await gw.read(patientToken, "/fhir/Observation/bad$id"), 400, /Invalid resource id/);
    refused(await gw.read(patientToken, "/fhir/Spaceship?patient=x"), 404, /not supported/);
    const empty = bundleOf(await gw.read(patientToken, "/fhir/Observation?patient=unknown-patient"));
    expect(empty.total).to.equal(0);
    await gw.store.erasePatient(unlinkedId);
    asUnknown(await gw.read(patientToken, `/fhir/Observation?patient=${unlinkedId}`));
    asUnknown(await gw.read(patientToken, `/fhir/Patient/${unlinkedId}`));
  });
});
