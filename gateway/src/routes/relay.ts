/**
 * Relaying patients' signed consent actions: the patient signs EIP-712 typed data and needs no
 * ETH; the gateway submits the *BySig call with its own key and pays the gas. What is signed, the
 * body and the call are the sdk's table of signed actions (sdk/signed-actions.ts); one route per
 * row of relay/actions.ts (RELAY_ACTIONS), which adds this gateway's policy:
 *
 *   POST /relay/grant               grantBySig          patients linked at this custodian only
 *   POST /relay/revoke              revokeBySig         anyone, whatever custodian it concerns
 *   POST /relay/revoke-all          revokeAllBySig      anyone
 *   POST /relay/cancel-signatures   cancelSignaturesBySig anyone
 *   POST /relay/join                StudyEscrow.joinBySig   patients linked here only; for a study
 *                                   that requires custodian-attested enrolment, joinBySigAttested
 *                                   with this gateway's attestation (relay/attest.ts), in one step
 *   POST /enrolment-attestations    (SIWE) this gateway's attestation for a linked patient who
 *                                   joins such a study itself (StudyEscrow.joinAttested)
 *   POST /relay/leave               StudyEscrow.leaveBySig  anyone
 *   POST /relay/withdraw            StudyEscrow.withdrawBySig anyone, for a fee of at least this
 *                                   gateway's price (GET /relay/withdraw says it and the relayer
 *                                   address the patient signs), taken from the withdrawal
 *   POST /relay/prevention-opt-in   PreventionRewards.optInBySig  patients linked here only, and only
 *                                   into a programme that lists this custodian among those that
 *                                   confirm (403 otherwise: the custodian pays for what it serves)
 *   POST /relay/prevention-opt-out  PreventionRewards.optOutBySig anyone (leaving is never
 *                                   blocked), from the revocations' budget
 *   POST /relay/prevention-withdraw PreventionRewards.withdrawBySig as /relay/withdraw (the same
 *                                   price and relayer, told by GET /relay/withdraw)
 *
 * The route of a row is /relay/{its name in the sdk's table}: the prevention rows are named
 * `prevention-…` there, so their routes are flat like the others' (no /relay/prevention/… tree).
 *
 * Each call is simulated first (a revert is a 422 naming the contract's error in plain words, and
 * costs nothing), then its gas is estimated: above the row's limit for the signer's kind (EOA or
 * contract wallet) it is a 422 in words, and nothing is sent; otherwise it is sent with that limit.
 * A contract wallet is relayed only what can change something (revoke-all or cancel-signatures
 * with no consent in force: 422 before sending).
 *
 * Limits: per client IP (requests), per patient address, and the custodian's spend per hour in
 * wei, revocations first (relay/limits.ts).
 *
 * The audit names the patient as the agent only once the chain accepted its signature (the
 * simulation passed); an attempt that fails before is the sender's, by its address, with the
 * patient it claimed to be as a detail, and stays out of that patient's access log.
 */
import type { FastifyInstance } from "fastify";
import { type Address, getAddress } from "viem";
import { historyPatientGrants } from "#sdk/history.ts";
import { consentRegistryAbi, studyEscrowAbi } from "#sdk/generated/abis.ts";
import { preventionRewardsAbi } from "#sdk/generated/prevention-abis.ts";
import { didPkhOf } from "../auth/tokens.ts";
import { fromIndexerAt } from "../consent/consents.ts";
import type { GatewayOperation } from "../audit/codes.ts";
import { conflict, forbidden, notImplemented, unprocessable } from "../fhir/outcomes.ts";
import { type ParsedRelayBody, relayBodySchema, relayCallArgs } from "#sdk/signed-actions.ts";
import {
  RELAY_ACTIONS,
  abiOf,
  parseBody,
  uintField,
  type RelayAction,
  type RelayActionSpec,
} from "../relay/actions.ts";
import { attestEnrolment, requiresAttestation } from "../relay/attest.ts";
import { recordRelayTransaction, reserveRelay, weiText } from "../relay/limits.ts";
import type { AuditContext, RouteContext } from "./context.ts";

const RELAY_BODY_LIMIT = 64 * 1024;

const gas = (n: bigint) => n.toLocaleString("en-US");

export function registerRelayRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { chain, store, config } = ctx;

  function escrow(): Address {
    if (!chain.studyEscrow) throw notImplemented("This gateway has no StudyEscrow configured (STUDY_ESCROW_ADDRESS)");
    return chain.studyEscrow;
  }

  function rewards(): Address {
    if (!chain.preventionRewards) {
      throw notImplemented("This gateway has no PreventionRewards configured (PREVENTION_REWARDS_ADDRESS)");
    }
    return chain.preventionRewards;
  }

  /** The contract a row's call goes to. */
  function contractOf(spec: RelayActionSpec): Address {
    if (spec.contract === "prevention") return rewards();
    return spec.contract === "registry" ? chain.consentRegistry : escrow();
  }

  /**
   * A programme this custodian confirms for, or a 403 saying so. An unknown programme lists no
   * custodian: the simulation refuses it then, in the contract's words.
   */
  async function checkServedProgramme(programmeId: bigint): Promise<void> {
    const custodians = await chain.read((c) =>
      c.readContract({
        address: rewards(),
        abi: preventionRewardsAbi,
        functionName: "programmeCustodians",
        args: [programmeId],
      }),
    );
    if (custodians.length === 0 || custodians.some((c) => getAddress(c) === chain.custodian)) return;
    // Named as the registry knows them, so that the patient can tell whose gateway to use.
    const named = await Promise.all(
      custodians.map(async (custodian) => {
        const { name } = await chain.read((c) =>
          c.readContract({
            address: chain.consentRegistry,
            abi: consentRegistryAbi,
            functionName: "getOrganization",
            args: [custodian],
          }),
        );
        return name === "" ? custodian : `${name} (${custodian})`;
      }),
    );
    throw forbidden(
      `${config.custodianName} relays opt-ins only into the prevention programmes it confirms care for; programme ${programmeId} is confirmed by other custodians: ${named.join(", ")}. Opt in yourself, or through one of their gateways`,
    );
  }

  async function checkNonce(spec: RelayActionSpec, patient: Address, body: ParsedRelayBody): Promise<void> {
    const signed = body.nonce;
    if (signed === undefined) return;
    if (spec.nonce === "registry") {
      const [, nonce] = await chain.read((c) =>
        c.readContract({
          address: chain.consentRegistry,
          abi: consentRegistryAbi,
          functionName: "patientState",
          args: [patient],
        }),
      );
      if (signed !== BigInt(nonce)) {
        throw conflict(
          `The signature was made for nonce ${signed}, but the patient's current nonce is ${nonce}: sign again`,
        );
      }
      return;
    }
    if (spec.nonce === "registry-revocation") {
      const nonce = await chain.read((c) =>
        c.readContract({
          address: chain.consentRegistry,
          abi: consentRegistryAbi,
          functionName: "revocationNonce",
          args: [patient],
        }),
      );
      if (signed !== BigInt(nonce)) {
        throw conflict(
          `The signature was made for revocation nonce ${signed}, but the patient's current revocation nonce is ${nonce}: sign again`,
        );
      }
      return;
    }
    if (spec.nonce === "programme" || spec.nonce === "prevention-withdraw") {
      const programmeId = spec.nonce === "programme" ? (body.fields["programmeId"] as bigint) : 0n;
      const enrolment = await chain.read((c) =>
        c.readContract({
          address: rewards(),
          abi: preventionRewardsAbi,
          functionName: "getEnrolment",
          args: [programmeId, patient],
        }),
      );
      if (signed !== BigInt(enrolment.nonce)) {
        const lane =
          programmeId === 0n ? "withdrawal nonce for prevention rewards" : `nonce for programme ${programmeId}`;
        throw conflict(
          `The signature was made for nonce ${signed}, but the patient's current ${lane} is ${enrolment.nonce}: sign again`,
        );
      }
      return;
    }
    const studyId = spec.nonce === "escrow-withdraw" ? 0n : (body.fields["studyId"] as bigint);
    const participant = await chain.read((c) =>
      c.readContract({
        address: escrow(),
        abi: studyEscrowAbi,
        functionName: "getParticipant",
        args: [studyId, patient],
      }),
    );
    if (signed !== BigInt(participant.nonce)) {
      const lane = studyId === 0n ? "withdrawal nonce" : `nonce for study ${studyId}`;
      throw conflict(
        `The signature was made for nonce ${signed}, but the patient's current ${lane} is ${participant.nonce}: sign again`,
      );
    }
  }

  /**
   * Whether the patient has a grant in force (not revoked, not voided by a revoke-all, not over).
   * The candidates are a list, so they come from the indexer, once it has reached the latest block
   * (a grant made just before is then among them); whether each is in force is decided on chain at
   * that block (getGrant: a revoked grant's slot holds no categories; its epoch against the
   * patient's). Without an indexer, or one that stays behind: a 503 (`fromIndexerAt`).
   */
  async function grantInForce(patient: Address): Promise<boolean> {
    const block = await chain.latestBlock();
    const now = Math.max(Number(block.timestamp), Math.floor(store.now().getTime() / 1000));
    const { grants } = await fromIndexerAt(chain, block.number, (indexer) => historyPatientGrants(indexer, patient));
    const candidates = grants.filter((g) => !g.revoked && now < g.expiresAt);
    if (candidates.length === 0) return false;
    const at = { address: chain.consentRegistry, abi: consentRegistryAbi, blockNumber: block.number } as const;
    const [[epoch], ...onChain] = await Promise.all([
      chain.read((c) => c.readContract({ ...at, functionName: "patientState", args: [patient] })),
      ...candidates.map((g) =>
        chain.read((c) => c.readContract({ ...at, functionName: "getGrant", args: [g.grantId] })),
      ),
    ]);
    return onChain.some((g) => g.categories !== 0 && g.epoch === epoch && now < g.expiresAt);
  }

  function route(action: RelayAction, spec: RelayActionSpec): void {
    app.post<{ Body: Record<string, unknown> }>(
      `/relay/${action}`,
      { onRequest: ctx.limitByIp, bodyLimit: RELAY_BODY_LIMIT, schema: { body: relayBodySchema(action) } },
      async (request, reply) => {
        const body = parseBody(action, request.body);
        const { patient } = body;
        const studyId = body.fields["studyId"] as bigint | undefined;
        const programmeId = body.fields["programmeId"] as bigint | undefined;
        const fee = body.fields["fee"] as bigint | undefined;
        const patientDid = didPkhOf(config.chainId, patient);
        // Until the chain accepts the signature, the attempt is the sender's (its address only).
        const audit: AuditContext = {
          interaction: "operation",
          operation: `relay-${action}` as GatewayOperation,
          agent: { kind: "application", display: "unverified relay sender" },
          details: [{ type: "claimed-signer", value: patientDid }],
        };
        const sent = await ctx.audited(request, audit, async () => {
          const patientId = await store.findPatientByWallet(patientDid);
          if (spec.linkedOnly !== null && patientId === undefined) {
            throw forbidden(
              `${spec.linkedOnly} are relayed only for patients of ${config.custodianName}; ${patient} is not linked to a patient here`,
            );
          }
          const address = contractOf(spec);
          const subjectDetail =
            spec.contract === "escrow" && studyId !== undefined
              ? [{ type: "study", value: studyId.toString() }]
              : programmeId !== undefined
                ? [{ type: "programme", value: programmeId.toString() }]
                : [];
          if (spec.servedProgrammesOnly && programmeId !== undefined) await checkServedProgramme(programmeId);
          if (spec.priced && (fee ?? 0n) < BigInt(config.relayWithdrawFee)) {
            throw unprocessable(
              `${config.custodianName}'s gateway relays a withdrawal for a fee of at least ${BigInt(config.relayWithdrawFee)} (in the currency's smallest unit); the signature offers ${fee ?? 0n}: sign again with that fee, or withdraw yourself`,
            );
          }
          audit.details = [{ type: "claimed-signer", value: patientDid }, ...subjectDetail];
          await checkNonce(spec, patient, body);
          let args = relayCallArgs(action, body);
          let functionName = spec.functionName;
          let limits = spec.gasLimit;
          // A study that takes only attested joins: this custodian attests its linked patient here.
          if (spec.attested && studyId !== undefined && (await requiresAttestation(chain, address, studyId))) {
            const attestation = await attestEnrolment(chain, address, patient, studyId);
            args = [...args, attestation];
            functionName = spec.attested.functionName;
            limits = spec.attested.gasLimit;
            audit.details = [...(audit.details ?? []), { type: "attested-by", value: chain.custodian }];
          }
          const code = await chain.read((c) => c.getCode({ address: patient }));
          const contractWallet = code !== undefined && code !== "0x";
          // Whether a revocation changes anything decides its budget, and whether a contract wallet
          // (whose signature check may burn gas) is relayed at all. An account's revocation is
          // relayed even when the indexer cannot say (the shared budget pays it then).
          let standing = true;
          if (spec.effect === "grant-in-force") {
            standing = contractWallet ? await grantInForce(patient) : await grantInForce(patient).catch(() => false);
          }
          if (!standing && contractWallet) {
            throw unprocessable(
              `${action} is relayed for a contract wallet only when it can change something, and here there is ${spec.nothingToDo}`,
            );
          }
          // Without anything in force, a "revocation" revokes nothing: the others' budget pays.
          const budget = standing ? spec.budget : "shared";
          const gasLimit = contractWallet ? limits.contractWallet : limits.eoa;
          let reservation: number | undefined;
          const tx = await chain.send(
            { address, abi: abiOf(spec), functionName, args },
            {
              gasLimit,
              priority: budget === "revocation",
              beforeSend: async ({ estimate, maxCostWei }) => {
                // The chain accepted the signature: from here on, the patient acted.
                audit.agent = { kind: "humanUser", did: patientDid, display: "signed, relayed by the gateway" };
                audit.patientId = patientId;
                audit.details = subjectDetail;
                if (estimate > gasLimit) {
                  throw unprocessable(
                    `${action} for ${patient} needs about ${gas(estimate)} gas; this gateway pays at most ${gas(gasLimit)} gas for ${action} ${contractWallet ? "signed by a contract wallet (its isValidSignature included)" : "signed by an account"}: send the transaction yourself`,
                  );
                }
                const reserved = await reserveRelay(store.db, {
                  patient,
                  action,
                  budget,
                  wei: maxCostWei,
                  now: store.now(),
                  limits: config.relayLimits,
                });
                reservation = reserved.id;
              },
            },
          );
          if (reservation !== undefined) await recordRelayTransaction(store.db, reservation, tx.hash, tx.costWei);
          request.log.info(
            { relay: action, budget, gasUsed: tx.gasUsed.toString(), costWei: tx.costWei.toString(), tx: tx.hash },
            `relayed ${action}: ${gas(tx.gasUsed)} gas, ${weiText(tx.costWei)}`,
          );
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

  for (const [action, spec] of Object.entries(RELAY_ACTIONS) as Array<[RelayAction, RelayActionSpec]>) {
    route(action, spec);
  }

  // What a relayed withdrawal costs here, and the relayer address the patient signs for.
  app.get("/relay/withdraw", { onRequest: ctx.limitByIp }, async (_request, reply) => {
    // The same for research earnings and prevention rewards (/relay/withdraw, /relay/prevention-withdraw).
    if (!chain.preventionRewards) escrow();
    return reply
      .type("application/json")
      .header("cache-control", "no-store")
      .send({ relayer: chain.gatewayAddress, fee: BigInt(config.relayWithdrawFee).toString() });
  });

  // A linked patient, signed in with Ethereum, asks for this custodian's attestation to join a
  // study that requires one, and sends the join itself (StudyEscrow.joinAttested).
  app.post<{ Body: { studyId: string | number } }>(
    "/enrolment-attestations",
    {
      onRequest: ctx.requireReader,
      bodyLimit: RELAY_BODY_LIMIT,
      schema: {
        body: {
          type: "object",
          required: ["studyId"],
          additionalProperties: false,
          properties: {
            studyId: {
              anyOf: [
                { type: "integer", minimum: 0 },
                { type: "string", pattern: "^[0-9]{1,78}$" },
              ],
            },
          },
        },
      },
    },
    async (request, reply) => {
      const requester = request.requester!;
      const studyId = uintField(request.body, "studyId", 256);
      const audit: AuditContext = {
        interaction: "operation",
        operation: "enrolment-attestation",
        details: [{ type: "study", value: studyId.toString() }],
      };
      const attestation = await ctx.audited(request, audit, async () => {
        const patientId = await store.findPatientByWallet(requester.did);
        if (patientId === undefined) {
          throw forbidden(
            `${config.custodianName} attests only its own patients; ${requester.address} is not linked to a patient here`,
          );
        }
        audit.patientId = patientId;
        return attestEnrolment(chain, escrow(), requester.address, studyId);
      });
      return reply.type("application/json").header("cache-control", "no-store").send({
        studyId: studyId.toString(),
        patient: requester.address,
        custodian: attestation.custodian,
        deadline: attestation.deadline.toString(),
        signature: attestation.signature,
      });
    },
  );
}
