/**
 * Child process for the durability test, on the on-disk PGlite store in GATEWAY_TEST_DIR with
 * master key GATEWAY_TEST_KEY (hex).
 *
 * - GATEWAY_TEST_MODE=write: writes a Patient and an Observation, then appends an AuditEvent
 *   outside any transaction (the group-committed path of audited reads), prints
 *     ACK {"patientId":…,"observationId":…,"fsyncsForOneWrite":…,"audit":<entry>,"fsyncsForOneAudit":…}
 *   as soon as they are acknowledged, then idles until it is killed.
 * - GATEWAY_TEST_MODE=read: opens the store again, prints
 *     READ {"patient":<read outcome>,"observation":<read outcome>,"audit":[<entry at GATEWAY_TEST_AUDIT_SEQ>],"chain":<verifyChain>}
 *   and exits cleanly.
 */
import type { Observation, Patient } from "@medplum/fhirtypes";
import { readFileSync } from "node:fs";
import { buildAuditEvent } from "../audit/events.ts";
import { appendAudit, auditRange, verifyChain } from "../audit/log.ts";
import { openDatabase } from "../store/database.ts";
import { Store } from "../store/store.ts";

const dir = process.env["GATEWAY_TEST_DIR"];
const keyHex = process.env["GATEWAY_TEST_KEY"];
const mode = process.env["GATEWAY_TEST_MODE"];
const family = process.env["GATEWAY_TEST_FAMILY"] ?? "Unknown";
if (!dir || !keyHex || (mode !== "write" && mode !== "read")) {
  throw new Error("GATEWAY_TEST_DIR, GATEWAY_TEST_KEY and GATEWAY_TEST_MODE=write|read are required");
}

const templatePath = process.env["GATEWAY_TEST_TEMPLATE"];
const template = templatePath ? new Blob([readFileSync(templatePath)]) : undefined;
const database = await openDatabase({ kind: "pglite", dataDir: dir, template });
const store = await Store.open({ database, masterKey: Buffer.from(keyHex, "hex") });

if (mode === "write") {
  const patient = await store.putResource<Patient>({
    resourceType: "Patient",
    id: "durable-patient",
    name: [{ family, given: ["Persephone"] }],
    birthDate: "1970-01-01",
  });
  const fsyncsBefore = database.fsyncCount();
  const observation = await store.putResource<Observation>({
    resourceType: "Observation",
    status: "final",
    code: { coding: [{ system: "http://loinc.org", code: "718-7" }], text: `${family} hemoglobin` },
    subject: { reference: `Patient/${patient.id}` },
    valueQuantity: { value: 13.2, unit: "g/dL", system: "http://unitsofmeasure.org", code: "g/dL" },
  });
  const fsyncsForOneWrite = database.fsyncCount() - fsyncsBefore;
  const fsyncsBeforeAudit = database.fsyncCount();
  const audit = await appendAudit(
    database.db,
    buildAuditEvent({
      interaction: "read",
      outcome: "success",
      recorded: new Date(),
      agent: { kind: "humanUser", did: "did:pkh:eip155:31337:0x70997970C51812dc3A010C7d01b50e0d17dc79C8" },
      patientId: patient.id,
      resource: { type: "Observation", id: observation.id },
      source: { observer: "durability test" },
    }),
  );
  const ack = {
    patientId: patient.id,
    observationId: observation.id,
    fsyncsForOneWrite,
    audit,
    fsyncsForOneAudit: database.fsyncCount() - fsyncsBeforeAudit,
  };
  process.stdout.write(`ACK ${JSON.stringify(ack)}\n`);
  setInterval(() => undefined, 60_000);
} else {
  const patient = await store.getResource("Patient", "durable-patient");
  const observationId = process.env["GATEWAY_TEST_OBSERVATION"] ?? "";
  const observation = await store.getResource("Observation", observationId);
  const seq = Number(process.env["GATEWAY_TEST_AUDIT_SEQ"] ?? "0");
  const audit = await auditRange(database.db, seq, seq);
  const chain = await verifyChain(database.db);
  process.stdout.write(`READ ${JSON.stringify({ patient, observation, audit, chain })}\n`);
  await database.close();
  process.exit(0);
}
