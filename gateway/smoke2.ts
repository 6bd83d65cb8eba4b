import { generateSyntheticData } from "./src/fhir/synthetic.ts";
import { validateIncomingResource } from "./src/fhir/validation.ts";
const d = generateSyntheticData({ seed: 42, custodian: "Riverside General Hospital" });
const d2 = generateSyntheticData({ seed: 42, custodian: "Lakeside Clinic" });
console.log(d.resources.length, d2.resources.length);
const counts: Record<string, number> = {};
for (const r of d.resources) counts[r.resourceType] = (counts[r.resourceType] ?? 0) + 1;
console.log(counts);
let t = Date.now();
let bad = 0;
for (const r of [...d.resources, ...d2.resources]) { try { validateIncomingResource(r); } catch (e: any) { bad++; if (bad < 5) console.log(r.resourceType, JSON.stringify(e.outcome)); } }
console.log("bad", bad, "ms", Date.now() - t);
console.log(JSON.stringify(d.patients[0], null, 1).slice(0, 1500));
console.log(d.patients.map(p => p.name![0]!.given!.join(" ") + " " + p.name![0]!.family + " " + p.birthDate), d2.patients.map(p => p.name![0]!.family));
console.log(JSON.stringify(d.resources.find(r => r.resourceType === "Observation" && (r as any).code.coding[0].code === "4548-4")));
