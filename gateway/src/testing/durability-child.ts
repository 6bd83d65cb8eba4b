/**
 * Child process for the durability test, on the on-disk PGlite store in GATEWAY_TEST_DIR with
 * master key GATEWAY_TEST_KEY (hex).
 *
 * - GATEWAY_TEST_MODE=write: writes a Patient and an Observation, prints
 *     ACK {"patientId":…,"observationId":…,"fsyncsForOneWrite":…}
 *   as soon as the writes are acknowledged, then idles until it is killed.
 * - GATEWAY_TEST_MODE=read: opens the store again, prints
 *     READ {"patient":<read outcome>,"observation":<read outcome>}
 *   and exits cleanly.
 */
import type { Observation, Patient } from "@medplum/fhirtypes";
import { readFileSync } from "node:fs";
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
  const ack = {
    patientId: patient.id,
    observationId: observation.id,
    fsyncsForOneWrite: database.fsyncCount() - fsyncsBefore,
  };
  process.stdout.write(`ACK ${JSON.stringify(ack)}\n`);
  setInterval(() => undefined, 60_000);
} else {
  const patient = await store.getResource("Patient", "durable-patient");
  const observationId = process.env["GATEWAY_TEST_OBSERVATION"] ?? "";
  const observation = await store.getResource("Observation", observationId);
  process.stdout.write(`READ ${JSON.stringify({ patient, observation })}\n`);
  await database.close();
  process.exit(0);
}
