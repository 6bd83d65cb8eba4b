import type { Bundle, OperationOutcome, Patient, Resource } from "@medplum/fhirtypes";
import { expect } from "chai";
import { sql } from "drizzle-orm";
import type { LightMyRequestResponse } from "fastify";
import type { Address, Hex } from "viem";
import type { LocalAccount } from "viem/accounts";
import { categoriesToMask, encodePurpose } from "#sdk/codes.ts";
import { custodianShare } from "#sdk/escrow.ts";
import { remunerationTokenAbi, studyEscrowAbi } from "#sdk/generated/abis.ts";
import { listAudit } from "../audit/log.ts";
import { assertValidFhir } from "../fhir/validation.ts";
import { rawRows } from "../store/database.ts";
import { ADMIN, FHIR, testGateway, type TestGateway } from "../testing/gateway.ts";
import { pseudonym } from "./deidentify.ts";
import { said } from "../testing/outcomes.ts";

const PRICE = 10n ** 18n;
const SHARE_BPS = 1_000;

/** The text without UUIDs and runs of 16 or more hex digits (ids, pseudonyms, hashes). */
const withoutHexIds = (text: string) =>
  text.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{16,}/gi, "<id>");

describe("research export: de-identified data for a study, deliveries paid once", function () {
  this.timeout(300_000);
  let gw: TestGateway;
  /** Patients at the lab, by name: their FHIR Patient and their wallet. */
  const people: Record<string, { patient: Patient; wallet: LocalAccount & { privateKey: Hex } }> = {};
  let analystToken: string;
  let studyId: bigint;

  const escrow = () => gw.t.studyEscrow;
  const balance = (account: Address) =>
    gw.t.client.readContract({
      address: escrow(),
      abi: studyEscrowAbi,
      functionName: "balanceOf",
      args: [gw.t.token, account],
    });
  const budget = async (id: bigint) =>
    (await gw.t.client.readContract({ address: escrow(), abi: studyEscrowAbi, functionName: "getStudy", args: [id] }))
      .budget;
  // The participants come from the indexer: wait until it has the joins just mined.
  const download = async (token: string | null, id: bigint | string) => {
    await gw.caughtUp();
    return gw.app.inject({
      method: "GET",
      url: `/research/studies/${id}/dataset`,
      headers: token === null ? {} : { authorization: `Bearer ${token}` },
    });
  };

  async function createStudy(options: {
    categories: Parameters<typeof categoriesToMask>[0];
    budget: bigint;
    custodian?: Address;
  }): Promise<bigint> {
    const { research, governance } = gw.t.actors;
    const now = await gw.t.now();
    await gw.t.write(governance, gw.t.token, remunerationTokenAbi, "mint", [research.address, options.budget]);
    await gw.t.write(research, gw.t.token, remunerationTokenAbi, "approve", [escrow(), options.budget]);
    await gw.t.write(research, escrow(), studyEscrowAbi, "createStudy", [
      {
        currency: gw.t.token,
        purpose: encodePurpose("HMB"),
        categories: categoriesToMask(options.categories),
        price: PRICE,
        maxParticipants: 100,
        enrolmentDeadline: now + 86_400,
        endTime: now + 30 * 86_400,
        protocolHash: `0x${"cd".repeat(32)}`,
        custodians: [{ custodian: options.custodian ?? gw.t.actors.lab.address, shareBps: SHARE_BPS }],
        attestedEnrolment: false,
      },
      options.budget,
    ]);
    return gw.t.client.readContract({ address: escrow(), abi: studyEscrowAbi, functionName: "studyCount" });
  }

  const join = (name: string, id: bigint) => gw.t.write(people[name]!.wallet, escrow(), studyEscrowAbi, "join", [id]);

  function released(bundle: Bundle): { outcome: OperationOutcome; resources: Resource[]; patients: Set<string> } {
    const [first, ...rest] = bundle.entry ?? [];
    expect(first!.resource!.resourceType).to.equal("OperationOutcome");
    // The summary first; a page's own note (records withheld) last.
    const outcomes = (bundle.entry ?? []).map((e) => e.resource!).filter((r) => r.resourceType === "OperationOutcome");
    const outcome: OperationOutcome = {
      resourceType: "OperationOutcome",
      issue: outcomes.flatMap((o) => (o as OperationOutcome).issue),
    };
    const resources = rest.map((e) => e.resource!).filter((r) => r.resourceType !== "OperationOutcome");
    const patients = new Set(
      resources.map((r) =>
        r.resourceType === "Patient"
          ? r.id!
          : ((r as { subject?: { reference?: string }; patient?: { reference?: string } }).subject?.reference ??
              (r as { patient?: { reference?: string } }).patient?.reference)!.split("/")[1]!,
      ),
    );
    return { outcome, resources, patients };
  }

  const outcomeText = (o: OperationOutcome) => (o.issue ?? []).map((i) => i.details?.text ?? "").join("\n");

  before(async () => {
    gw = await testGateway({ custodian: "lab" });
    const { patients } = await gw.ingest({ seed: "research-export", patients: 5 });
    const names = ["ana", "ben", "cy", "dee", "eve"];
    for (const [i, name] of names.entries()) {
      const wallet = await gw.t.newAccount();
      people[name] = { patient: patients[i]!, wallet };
      await gw.link(patients[i]!.id!, wallet);
    }
    analystToken = await gw.signIn(gw.t.actors.analyst);
    // Budget for two deliveries: ana and ben join, cy joins and leaves, dee never joins.
    studyId = await createStudy({
      categories: ["Patient", "Observation", "Condition", "DocumentReference"],
      budget: 2n * PRICE,
    });
    await join("ana", studyId);
    await join("ben", studyId);
    await join("cy", studyId);
    await gw.t.write(people["cy"]!.wallet, escrow(), studyEscrowAbi, "leave", [studyId]);
  });
  after(() => gw.close());

  it("releases the participants with a grant in force, de-identified, after the escrow paid each delivery", async () => {
    const before = { ana: await balance(people["ana"]!.wallet.address), lab: await balance(gw.t.actors.lab.address) };
    const res = await download(analystToken, studyId);
    expect(res.statusCode, res.body.slice(0, 600)).to.equal(200);
    expect(res.headers["content-type"]).to.match(/^application\/fhir\+json/);
    expect(res.headers["content-disposition"]).to.equal(`attachment; filename="study-${studyId}-deidentified.json"`);
    const bundle = res.json() as Bundle;
    assertValidFhir(bundle);
    expect(bundle).to.include({ resourceType: "Bundle", type: "collection" });
    const { outcome, resources, patients } = released(bundle);

    // Exactly ana and ben, under their study pseudonyms; nothing of cy (left) or dee (never joined).
    const key = await gw.store.studyPseudonymKey(`${escrow().toLowerCase()}:${studyId}`);
    const pseudo = (name: string) => pseudonym(key, "Patient", people[name]!.patient.id!);
    expect([...patients].sort()).to.deep.equal([pseudo("ana"), pseudo("ben")].sort());
    // Only the study's categories (documents are never exported); every resource de-identified.
    expect(new Set(resources.map((r) => r.resourceType))).to.deep.equal(
      new Set(["Patient", "Observation", "Condition"]),
    );
    const text = JSON.stringify(resources);
    for (const name of ["ana", "ben", "cy", "dee"]) {
      const p = people[name]!.patient;
      expect(text).to.not.include(p.id!);
      expect(text).to.not.include(p.name![0]!.family!);
      expect(text).to.not.include(p.telecom![0]!.value!);
      expect(text).to.not.include(people[name]!.wallet.address.slice(2).toLowerCase());
      expect(text).to.not.include(p.birthDate!);
    }
    expect(outcomeText(outcome)).to.match(/2 participant\(s\) released/);
    expect(outcomeText(outcome)).to.match(
      /1 participant\(s\) withheld: their research grant for the study is not in force/,
    );
    expect(outcomeText(outcome)).to.match(/Documents are never exported/);
    expect(outcomeText(outcome)).to.match(/transaction 0x[0-9a-f]{64}/);

    // Paid: the patient's share of the price, the custodian's share; the budget spent.
    const { custodian, patient } = custodianShare(PRICE, SHARE_BPS);
    expect(await balance(people["ana"]!.wallet.address)).to.equal(before.ana + patient);
    expect(await balance(gw.t.actors.lab.address)).to.equal(before.lab + 2n * custodian);
    expect(await budget(studyId)).to.equal(0n);
    const rows = await rawRows<{ patient: string; status: string }>(
      gw.store.db,
      sql`SELECT patient, status FROM research_deliveries ORDER BY patient`,
    );
    expect(rows.map((r) => r.status)).to.deep.equal(["paid", "paid"]);

    // Each release is in that patient's own access log.
    for (const name of ["ana", "ben"]) {
      const events = await listAudit(gw.store.db, people[name]!.patient.id!);
      const exported = events.filter((e) => e.event.subtype?.some((s) => s.code === "research-export"));
      expect(exported, name).to.have.length(1);
      expect(exported[0]!.event.outcome).to.equal("0");
    }
    expect(
      (await listAudit(gw.store.db, people["dee"]!.patient.id!)).filter((e) =>
        e.event.subtype?.some((s) => s.code === "research-export"),
      ),
    ).to.have.length(0);
  });

  it("lets no free text, full date or age over 89 of a participant out, and withholds what cannot leave", async () => {
    const ana = people["ana"]!.patient.id!;
    const secret = "John Q. Smith (MRN 4417, SSN 078-05-1120) seen 2025-03-14 at 12 Elm St";
    const put = async (resource: Resource) => {
      const res = await gw.app.inject({
        method: "PUT",
        url: `/fhir/${resource.resourceType}/${resource.id}`,
        headers: { ...ADMIN, "content-type": FHIR },
        payload: JSON.stringify(resource),
      });
      expect(res.statusCode, res.body.slice(0, 400)).to.be.oneOf([200, 201]);
    };
    await put({
      resourceType: "Condition",
      id: "deid-attack-1",
      clinicalStatus: {
        coding: [{ system: "http://terminology.hl7.org/CodeSystem/condition-clinical", code: "resolved" }],
      },
      subject: { reference: `Patient/${ana}` },
      code: { coding: [{ system: "http://snomed.info/sct", code: "44054006", display: secret }], text: secret },
      onsetAge: { value: 93, unit: "a", system: "http://unitsofmeasure.org", code: "a" },
      abatementString: secret,
      recordedDate: "2025-03-14",
    });
    await put({
      resourceType: "Observation",
      id: "deid-attack-2",
      status: "final",
      code: { coding: [{ system: "http://loinc.org", code: "8480-6" }] },
      subject: { reference: `Patient/${ana}` },
      valueString: secret,
      effectiveDateTime: "2025-03-14T10:00:00Z",
    });
    await put({
      resourceType: "Observation",
      id: "deid-attack-3",
      status: "final",
      modifierExtension: [{ url: "http://example.org/fhir/refuted", valueBoolean: true }],
      code: { coding: [{ system: "http://loinc.org", code: "8462-4" }] },
      subject: { reference: `Patient/${ana}` },
      valueQuantity: { value: 80, unit: "mm[Hg]", system: "http://unitsofmeasure.org", code: "mm[Hg]" },
    });
    const res = await download(analystToken, studyId);
    expect(res.statusCode, res.body.slice(0, 600)).to.equal(200);
    assertValidFhir(res.json() as Bundle);
    // Ids and pseudonyms are random hex: one may hold "4417" or "2025" by chance, so they are set
    // aside before the search (a leak of the secret would be words and digits, not a hex run).
    expect(withoutHexIds(res.body)).to.not.match(/Smith|4417|078-05|Elm St|2025-03|deid-attack/);
    const { outcome, resources } = released(res.json() as Bundle);
    const key = await gw.store.studyPseudonymKey(`${escrow().toLowerCase()}:${studyId}`);
    const condition = resources.find((r) => r.id === pseudonym(key, "Condition", "deid-attack-1")) as
      { onsetAge?: unknown; recordedDate?: string } | undefined;
    expect(condition?.onsetAge).to.deep.equal({
      value: 90,
      comparator: ">=",
      unit: "a",
      system: "http://unitsofmeasure.org",
      code: "a",
    });
    expect(condition?.recordedDate).to.equal("2025");
    expect(resources.some((r) => r.id === pseudonym(key, "Observation", "deid-attack-2"))).to.equal(true);
    expect(resources.some((r) => r.id === pseudonym(key, "Observation", "deid-attack-3"))).to.equal(false);
    expect(outcomeText(outcome)).to.match(/1 record\(s\) of this page withheld: a modifier extension/);
  });

  it("pays nothing twice: a retry releases the same pseudonymous data and sends no report", async () => {
    const first = released((await download(analystToken, studyId)).json() as Bundle);
    const balanceBefore = await balance(people["ben"]!.wallet.address);
    const again = await download(analystToken, studyId);
    expect(again.statusCode).to.equal(200);
    const second = released(again.json() as Bundle);
    expect([...second.patients].sort()).to.deep.equal([...first.patients].sort());
    expect(second.resources.map((r) => r.id).sort()).to.deep.equal(first.resources.map((r) => r.id).sort());
    expect(outcomeText(second.outcome)).to.not.match(/transaction 0x/);
    expect(await balance(people["ben"]!.wallet.address)).to.equal(balanceBefore);
  });

  it("pages the export: bounded pages linked by next, cursors of pseudonyms only, every record once, no new report", async () => {
    const whole = released((await download(analystToken, studyId)).json() as Bundle);
    const all = whole.resources.map((r) => `${r.resourceType}/${r.id}`);
    expect(all.length).to.be.greaterThan(12);
    const nonce = await gw.t.client.getTransactionCount({ address: gw.t.actors.labGateway.address });
    await gw.caughtUp();
    const page = (url: string) =>
      gw.app.inject({ method: "GET", url, headers: { authorization: `Bearer ${analystToken}` } });
    const first = await page(`/research/studies/${studyId}/dataset?_count=5`);
    const again = await page(`/research/studies/${studyId}/dataset?_count=5`);
    const entries = (res: LightMyRequestResponse) => (res.json() as Bundle).entry!.slice(1);
    expect(entries(again)).to.deep.equal(entries(first));
    const seen: string[] = [];
    let res = first;
    for (let pages = 1; ; pages++) {
      expect(res.statusCode, res.body.slice(0, 400)).to.equal(200);
      const bundle = res.json() as Bundle;
      assertValidFhir(bundle);
      const { resources, outcome } = released(bundle);
      expect(resources.length).to.be.at.most(5);
      seen.push(...resources.map((r) => `${r.resourceType}/${r.id}`));
      const next = bundle.link?.find((l) => l.relation === "next")?.url;
      if (next === undefined) {
        expect(outcomeText(outcome)).to.match(/\(the last\)/);
        break;
      }
      const cursor = new URL(next).searchParams.get("_cursor")!;
      // Only pseudonyms: nothing of a patient id or a record id of the custodian.
      expect(cursor).to.match(/^[0-9a-f]{32}\.[0-9]{2}\.[0-9a-f]{32}$/);
      for (const p of Object.values(people)) expect(next).to.not.include(p.patient.id!);
      expect(pages).to.be.below(20);
      res = await page(next.slice(new URL(next).origin.length));
    }
    expect([...seen].sort()).to.deep.equal([...all].sort());
    expect(new Set(seen).size).to.equal(seen.length);
    expect(await gw.t.client.getTransactionCount({ address: gw.t.actors.labGateway.address })).to.equal(nonce);
    said(await page(`/research/studies/${studyId}/dataset?_count=0`), 400, /_count must be an integer from 1 to 1000/);
    said(await page(`/research/studies/${studyId}/dataset?_cursor=Patient/1`), 400, /_cursor/);
    said(await page(`/research/studies/${studyId}/dataset?format=csv`), 400, /format/);
  });

  it("withholds a participant the budget cannot pay for without reporting it (no gas spent), and releases it once the study is topped up", async () => {
    await join("eve", studyId);
    const gateway = gw.t.actors.labGateway.address;
    const spent = async () => ({
      transactions: await gw.t.client.getTransactionCount({ address: gateway }),
      wei: await gw.t.client.getBalance({ address: gateway }),
    });
    const before = await spent();
    // Downloaded again and again while the budget is exhausted: nothing can be paid, nothing is sent.
    for (let i = 0; i < 3; i++) {
      const res = await download(analystToken, studyId);
      expect(res.statusCode).to.equal(200);
      const short = released(res.json() as Bundle);
      expect(short.patients.size).to.equal(2);
      expect(outcomeText(short.outcome)).to.match(/1 participant\(s\) withheld: the study's budget cannot pay/);
      expect(outcomeText(short.outcome)).to.not.match(/transaction 0x/);
    }
    expect(await spent()).to.deep.equal(before);
    const eve = people["eve"]!.wallet.address;
    expect(await balance(eve)).to.equal(0n);

    const { research, governance } = gw.t.actors;
    await gw.t.write(governance, gw.t.token, remunerationTokenAbi, "mint", [research.address, PRICE]);
    await gw.t.write(research, gw.t.token, remunerationTokenAbi, "approve", [escrow(), PRICE]);
    await gw.t.write(research, escrow(), studyEscrowAbi, "fund", [studyId, PRICE]);
    const full = released((await download(analystToken, studyId)).json() as Bundle);
    expect(full.patients.size).to.equal(3);
    expect(await balance(eve)).to.equal(custodianShare(PRICE, SHARE_BPS).patient);
    expect(await budget(studyId)).to.equal(0n);
  });

  it("after a crash between recording and reporting, asks the escrow instead of reporting again, and pays once", async () => {
    const ana = people["ana"]!.wallet.address;
    const paidBefore = await balance(ana);
    const nonce = await gw.t.client.getTransactionCount({ address: gw.t.actors.labGateway.address });
    // As if the gateway died after recording "reporting", while the report was being mined.
    await gw.store.db.execute(
      sql`UPDATE research_deliveries SET status = 'reporting', tx_hash = NULL WHERE patient = ${ana.toLowerCase()}`,
    );
    const res = await download(analystToken, studyId);
    const { outcome, patients } = released(res.json() as Bundle);
    expect(patients.size).to.equal(3);
    // The escrow says delivered: released, and no report that would pay nothing.
    expect(outcomeText(outcome)).to.not.match(/transaction 0x/);
    expect(await gw.t.client.getTransactionCount({ address: gw.t.actors.labGateway.address })).to.equal(nonce);
    expect(await balance(ana)).to.equal(paidBefore);
    const [row] = await rawRows<{ status: string }>(
      gw.store.db,
      sql`SELECT status FROM research_deliveries WHERE patient = ${ana.toLowerCase()}`,
    );
    expect(row?.status).to.equal("paid");
  });

  it("trusts the escrow, not its own table: a delivery recorded as paid that the chain does not know is reported again", async () => {
    const study = await createStudy({ categories: ["Observation"], budget: 2n * PRICE });
    await join("dee", study);
    const dee = people["dee"]!.wallet.address;
    // As if the table came from another chain (a reset under the same addresses) or a restored backup.
    const ref = `${escrow().toLowerCase()}:${study}`;
    await gw.store.studyPseudonymKey(ref);
    await gw.store.db.execute(
      sql`INSERT INTO research_deliveries (study, patient, patient_id, status, updated_at) VALUES (${ref}, ${dee.toLowerCase()}, ${people["dee"]!.patient.id!}, 'paid', now())`,
    );
    const before = await balance(dee);
    const { patients } = released((await download(analystToken, study)).json() as Bundle);
    expect(patients.size).to.equal(1);
    expect(await balance(dee)).to.equal(before + custodianShare(PRICE, SHARE_BPS).patient);
    expect(await budget(study)).to.equal(PRICE);
  });

  it("stops releasing a participant who leaves, though the delivery was paid", async () => {
    await gw.t.write(people["ben"]!.wallet, escrow(), studyEscrowAbi, "leave", [studyId]);
    const { patients } = released((await download(analystToken, studyId)).json() as Bundle);
    const key = await gw.store.studyPseudonymKey(`${escrow().toLowerCase()}:${studyId}`);
    expect(patients.has(pseudonym(key, "Patient", people["ben"]!.patient.id!))).to.equal(false);
    expect(patients.size).to.equal(2);
  });

  it("uses other pseudonyms in another study, and only that study's categories", async () => {
    const other = await createStudy({ categories: ["Condition"], budget: PRICE });
    await join("dee", other);
    const res = await download(analystToken, other);
    expect(res.statusCode, res.body.slice(0, 400)).to.equal(200);
    const { resources, patients } = released(res.json() as Bundle);
    expect(new Set(resources.map((r) => r.resourceType))).to.deep.equal(new Set(["Condition"]));
    const otherKey = await gw.store.studyPseudonymKey(`${escrow().toLowerCase()}:${other}`);
    expect([...patients]).to.deep.equal([pseudonym(otherKey, "Patient", people["dee"]!.patient.id!)]);
    const firstKey = await gw.store.studyPseudonymKey(`${escrow().toLowerCase()}:${studyId}`);
    expect(Buffer.from(otherKey).equals(Buffer.from(firstKey))).to.equal(false);
  });

  it("refuses anyone but the study's researcher, unknown or closed studies, other custodians' studies, bad ids", async () => {
    said(await download(null, studyId), 401, /bearer token/i);
    said(await download(analystToken, "12abc"), 400, /not a study id/);
    said(await download(analystToken, "007"), 400, /not a study id/);
    said(await download(analystToken, 10n ** 9n), 404, /does not exist/);
    const clinician = await gw.signIn(gw.t.actors.clinician);
    said(await download(clinician, studyId), 403, /Only the researcher of study/);
    const patientToken = await gw.signIn(people["ana"]!.wallet);
    said(await download(patientToken, studyId), 403, /Only the researcher of study/);
    const elsewhere = await createStudy({
      categories: ["Observation"],
      budget: PRICE,
      custodian: gw.t.actors.hospital.address,
    });
    said(await download(analystToken, elsewhere), 403, /not a data source of study/);
    const cancelled = await createStudy({ categories: ["Observation"], budget: PRICE });
    await gw.t.write(gw.t.actors.research, escrow(), studyEscrowAbi, "cancelStudy", [cancelled]);
    said(await download(analystToken, cancelled), 409, /was cancelled/);
    // Nothing was paid by any of these.
    expect(await budget(elsewhere)).to.equal(PRICE);
  });
});
