/**
 * Relaying patients' signed consent actions: the patient signs EIP-712 typed data (sdk/eip712.ts,
 * sdk/study.ts) and needs no ETH; the gateway submits the *BySig call with its own key and pays
 * the gas. Each call is simulated first: a revert comes back as a 422 naming the contract's error
 * in plain words, and costs nothing.
 *
 *   POST /relay/grant               grantBySig          patients linked at this custodian only
 *   POST /relay/revoke              revokeBySig         anyone, whatever custodian it concerns
 *   POST /relay/revoke-all          revokeAllBySig      anyone
 *   POST /relay/cancel-signatures   cancelSignaturesBySig anyone
 *   POST /relay/join                StudyEscrow.joinBySig   patients linked here only
 *   POST /relay/leave               StudyEscrow.leaveBySig  anyone
 *
 * Limits: per client IP (requests), and per patient address and in all (relayed transactions per
 * hour, in the database: relay/limits.ts).
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Address, Hex } from "viem";
import { getAddress, isAddress } from "viem/utils";
import { consentRegistryAbi, studyEscrowAbi } from "../../../sdk/generated/abis.ts";
import { didPkhOf } from "../auth/tokens.ts";
import type { GatewayOperation } from "../audit/codes.ts";
import { badRequest, conflict, forbidden, notImplemented } from "../fhir/outcomes.ts";
import { recordRelayTransaction, reserveRelay, type RelayAction } from "../relay/limits.ts";
import type { AuditContext, RouteContext } from "./context.ts";

const RELAY_BODY_LIMIT = 64 * 1024;

const uint = {
  anyOf: [
    { type: "integer", minimum: 0 },
    { type: "string", pattern: "^[0-9]{1,78}$" },
  ],
} as const;
const address = { type: "string", pattern: "^0x[0-9a-fA-F]{40}$" } as const;
const signature = { type: "string", pattern: "^0x([0-9a-fA-F]{2})+$", maxLength: 16_384 } as const;

function bodySchema(required: readonly string[], properties: Record<string, unknown>) {
  return {
    type: "object",
    required: [...required, "patient", "deadline", "signature"],
    additionalProperties: false,
    properties: { patient: address, deadline: uint, signature, nonce: uint, ...properties },
  } as const;
}

const SCHEMAS = {
  grant: bodySchema(["grantee", "categories", "purpose", "validFrom", "expiresAt"], {
    grantee: address,
    categories: uint,
    purpose: uint,
    validFrom: uint,
    expiresAt: uint,
  }),
  revoke: bodySchema(["grantee", "scope"], {
    grantee: address,
    scope: { type: "string", pattern: "^0x[0-9a-fA-F]{64}$" },
  }),
  "revoke-all": bodySchema([], {}),
  "cancel-signatures": bodySchema([], {}),
  join: bodySchema(["studyId"], { studyId: uint }),
  leave: bodySchema(["studyId"], { studyId: uint }),
} as const;

type Body = Record<string, string | number | undefined>;

/** An unsigned integer field within `bits` bits. */
function uintField(body: Body, name: string, bits: number): bigint {
  const raw = body[name];
  const value = typeof raw === "number" ? (Number.isSafeInteger(raw) ? BigInt(raw) : -1n) : BigInt(String(raw));
  if (value < 0n || value >= 1n << BigInt(bits))
    throw badRequest(`${name} must be an unsigned ${bits}-bit integer`, name);
  return value;
}

/** An address field: EIP-55 checksum when mixed-case, never zero. */
function addressField(body: Body, name: string): Address {
  const raw = String(body[name]);
  if (!isAddress(raw, { strict: true }))
    throw badRequest(`${name} must be an address (with a valid EIP-55 checksum if mixed-case)`, name);
  if (/^0x0{40}$/i.test(raw)) throw badRequest(`${name} must not be the zero address`, name);
  return getAddress(raw);
}

export function registerRelayRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { chain, store, config } = ctx;

  async function requireLinkedPatient(patient: Address, what: string): Promise<string> {
    const patientId = await store.findPatientByWallet(didPkhOf(config.chainId, patient));
    if (!patientId) {
      throw forbidden(
        `${what} are relayed only for patients of ${config.custodianName}; ${patient} is not linked to a patient here`,
      );
    }
    return patientId;
  }

  async function checkRegistryNonce(patient: Address, body: Body): Promise<void> {
    if (body["nonce"] === undefined) return;
    const [, nonce] = await chain.read((c) =>
      c.readContract({
        address: chain.consentRegistry,
        abi: consentRegistryAbi,
        functionName: "patientState",
        args: [patient],
      }),
    );
    const signed = uintField(body, "nonce", 64);
    if (signed !== BigInt(nonce)) {
      throw conflict(
        `The signature was made for nonce ${signed}, but the patient's current nonce is ${nonce}: sign again`,
      );
    }
  }

  function route(
    action: RelayAction,
    handler: (
      request: FastifyRequest<{ Body: Body }>,
      body: Body,
      patient: Address,
      audit: AuditContext,
    ) => Promise<{
      address: Address;
      abi: typeof consentRegistryAbi | typeof studyEscrowAbi;
      functionName: string;
      args: readonly unknown[];
    }>,
  ): void {
    app.post<{ Body: Body }>(
      `/relay/${action}`,
      { onRequest: ctx.limitByIp, bodyLimit: RELAY_BODY_LIMIT, schema: { body: SCHEMAS[action] } },
      async (request, reply) => {
        const body = request.body;
        const patient = addressField(body, "patient");
        const audit: AuditContext = {
          interaction: "operation",
          operation: `relay-${action}` as GatewayOperation,
          agent: {
            kind: "humanUser",
            did: didPkhOf(config.chainId, patient),
            display: "signed, relayed by the gateway",
          },
        };
        const sent = await ctx.audited(request, audit, async () => {
          audit.patientId = await store.findPatientByWallet(didPkhOf(config.chainId, patient));
          const call = await handler(request, body, patient, audit);
          let reservation: number | undefined;
          const tx = await chain.send(call, async () => {
            reservation = await reserveRelay(store.db, {
              patient,
              action,
              now: store.now(),
              limits: config.relayLimits,
            });
          });
          if (reservation !== undefined) await recordRelayTransaction(store.db, reservation, tx.hash);
          audit.details = [
            ...(audit.details ?? []),
            { type: "transaction", value: tx.hash },
            { type: "block", value: tx.blockNumber.toString() },
          ];
          return tx;
        });
        return reply.type("application/json").send({
          action,
          patient,
          transactionHash: sent.hash,
          blockNumber: sent.blockNumber.toString(),
        });
      },
    );
  }

  route("grant", async (_request, body, patient) => {
    await requireLinkedPatient(patient, "Grants");
    await checkRegistryNonce(patient, body);
    return {
      address: chain.consentRegistry,
      abi: consentRegistryAbi,
      functionName: "grantBySig",
      args: [
        patient,
        addressField(body, "grantee"),
        Number(uintField(body, "categories", 32)),
        uintField(body, "purpose", 64),
        Number(uintField(body, "validFrom", 40)),
        Number(uintField(body, "expiresAt", 40)),
        uintField(body, "deadline", 256),
        body["signature"] as Hex,
      ],
    };
  });

  route("revoke", async (_request, body, patient) => {
    await checkRegistryNonce(patient, body);
    return {
      address: chain.consentRegistry,
      abi: consentRegistryAbi,
      functionName: "revokeBySig",
      args: [
        patient,
        addressField(body, "grantee"),
        body["scope"] as Hex,
        uintField(body, "deadline", 256),
        body["signature"] as Hex,
      ],
    };
  });

  route("revoke-all", async (_request, body, patient) => {
    await checkRegistryNonce(patient, body);
    return {
      address: chain.consentRegistry,
      abi: consentRegistryAbi,
      functionName: "revokeAllBySig",
      args: [patient, uintField(body, "deadline", 256), body["signature"] as Hex],
    };
  });

  route("cancel-signatures", async (_request, body, patient) => {
    await checkRegistryNonce(patient, body);
    return {
      address: chain.consentRegistry,
      abi: consentRegistryAbi,
      functionName: "cancelSignaturesBySig",
      args: [patient, uintField(body, "deadline", 256), body["signature"] as Hex],
    };
  });

  function escrow(): Address {
    if (!chain.studyEscrow) throw notImplemented("This gateway has no StudyEscrow configured (STUDY_ESCROW_ADDRESS)");
    return chain.studyEscrow;
  }

  async function checkEscrowNonce(studyId: bigint, patient: Address, body: Body): Promise<void> {
    if (body["nonce"] === undefined) return;
    const participant = await chain.read((c) =>
      c.readContract({
        address: escrow(),
        abi: studyEscrowAbi,
        functionName: "getParticipant",
        args: [studyId, patient],
      }),
    );
    const signed = uintField(body, "nonce", 64);
    if (signed !== BigInt(participant.nonce)) {
      throw conflict(
        `The signature was made for nonce ${signed}, but the patient's current nonce for study ${studyId} is ${participant.nonce}: sign again`,
      );
    }
  }

  route("join", async (_request, body, patient, audit) => {
    const address = escrow();
    await requireLinkedPatient(patient, "Study joins");
    const studyId = uintField(body, "studyId", 256);
    audit.details = [{ type: "study", value: studyId.toString() }];
    await checkEscrowNonce(studyId, patient, body);
    return {
      address,
      abi: studyEscrowAbi,
      functionName: "joinBySig",
      args: [studyId, patient, uintField(body, "deadline", 256), body["signature"] as Hex],
    };
  });

  route("leave", async (_request, body, patient) => {
    const address = escrow();
    const studyId = uintField(body, "studyId", 256);
    await checkEscrowNonce(studyId, patient, body);
    return {
      address,
      abi: studyEscrowAbi,
      functionName: "leaveBySig",
      args: [studyId, patient, uintField(body, "deadline", 256), body["signature"] as Hex],
    };
  });
}
