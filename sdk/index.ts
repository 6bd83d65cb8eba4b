export * from "./codes.ts";
export * from "./consent.ts";
export * from "./deployments.ts";
export * from "./eip712.ts";
export * from "./fhir.ts";
export * from "./generated/abis.ts";
