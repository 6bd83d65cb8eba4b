/**
 * Child process for the durability test. Opens the on-disk PGlite store in GATEWAY_TEST_DIR
 * with GATEWAY_TEST_KEY (hex), writes a Patient and an Observation, prints one line
 *   ACK {"patientId":…,"observationId":…,"fsyncs":…}
 * as soon as the writes are acknowledged, then idles until it is killed.
 */
import { openDatabase } from "../store/database.ts";
import { Store } from "../store/store.ts";

const dir = process.env["GATEWAY_TEST_DIR"];
const keyHex = process.env["GATEWAY_TEST_KEY"];
const family = process.env["GATEWAY_TEST_FAMILY"] ?? "Unknown";
if (!dir || !keyHex) throw new Error("GATEWAY_TEST_DIR and GATEWAY_TEST_KEY are required");

const database = await openDatabase({ kind: "pglite", dataDir: dir });
const store = await Store.open({ database, masterKey: Buffer.from(keyHex, "hex") });
const patient = await store.putResource({
  resourceType: "Patient",
  id: "durable-patient",
  name: [{ family, given: ["Persephone"] }],
  birthDate: "1970-01-01",
});
const fsyncsBefore = database.fsyncCount();
const observation = await store.putResource({
  resourceType: "Observation",
  status: "final",
  code: { coding: [{ system: "http://loinc.org", code: "718-7" }], text: `${family} hemoglobin` },
  subject: { reference: `Patient/${patient.id}` },
  valueQuantity: { value: 13.2, unit: "g/dL", system: "http://unitsofmeasure.org", code: "g/dL" },
});
const ack = { patientId: patient.id, observationId: observation.id, fsyncsForOneWrite: database.fsyncCount() - fsyncsBefore };
process.stdout.write(`ACK ${JSON.stringify(ack)}\n`);
setInterval(() => undefined, 60_000);
