import { generateSyntheticData } from "./src/fhir/synthetic.ts";
for (const seed of [1,2,3,42,"demo"]) {
const d = generateSyntheticData({ seed, custodian: "Riverside General Hospital" });
const counts: Record<string, number> = {};
for (const r of d.resources) counts[r.resourceType] = (counts[r.resourceType] ?? 0) + 1;
console.log(seed, JSON.stringify(counts), d.patients.map(p => p.name![0]!.family).join(","));
}
