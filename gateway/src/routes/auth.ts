/**
 * Sign-in and linking.
 *
 *   GET  /auth/nonce          a single-use SIWE nonce (and the domain, URI and chain to sign for)
 *   POST /auth/siwe           {message, signature} → a short-lived bearer token for the address
 *   POST /auth/link           {code} with a bearer token → ties the code's Patient to the wallet
 *   POST /auth/logout         with a bearer token → ends that token (refused from then on, 204)
 *   POST /admin/link-codes    {patientId, kind?, ttlSeconds?} with the link-code token → a one-time
 *                             code ("link", as at registration; "relink" moves a patient to a new
 *                             wallet, the only way to do so)
 */
import type { FastifyInstance } from "fastify";
import { DEFAULT_LINK_CODE_TTL_SECONDS, MAX_LINK_CODE_TTL_SECONDS, type LinkCodeKind } from "../store/links.ts";
import type { AuditContext, RouteContext } from "./context.ts";

const AUTH_BODY_LIMIT = 64 * 1024;

const siweBody = {
  type: "object",
  required: ["message", "signature"],
  additionalProperties: false,
  properties: {
    message: { type: "string", minLength: 1, maxLength: 4096 },
    signature: { type: "string", minLength: 4, maxLength: 16_384 },
  },
} as const;

const linkBody = {
  type: "object",
  required: ["code"],
  additionalProperties: false,
  properties: { code: { type: "string", minLength: 1, maxLength: 64 } },
} as const;

const linkCodeBody = {
  type: "object",
  required: ["patientId"],
  additionalProperties: false,
  properties: {
    patientId: { type: "string", pattern: "^[A-Za-z0-9.-]{1,64}$" },
    kind: { type: "string", enum: ["link", "relink"] },
    ttlSeconds: { type: "integer", minimum: 1, maximum: MAX_LINK_CODE_TTL_SECONDS },
  },
} as const;

export function registerAuthRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { config, store, siwe, tokens } = ctx;

  app.get("/auth/nonce", { onRequest: ctx.limitByIp }, async (_request, reply) => {
    const { nonce, expiresAt } = await siwe.issueNonce();
    return reply.type("application/json").send({
      nonce,
      expiresAt: expiresAt.toISOString(),
      domain: siwe.domain,
      uri: siwe.uri,
      chainId: config.chainId,
      version: "1",
    });
  });

  app.post<{ Body: { message: string; signature: string } }>(
    "/auth/siwe",
    { onRequest: ctx.limitByIp, bodyLimit: AUTH_BODY_LIMIT, schema: { body: siweBody } },
    async (request, reply) => {
      const signedIn = await siwe.verify(request.body.message, request.body.signature);
      const { token, claims } = tokens.issue(signedIn.address, { notAfter: signedIn.expirationTime });
      request.log.info({ address: claims.addr, jti: claims.jti }, "signed in with Ethereum");
      return reply.type("application/json").send({
        access_token: token,
        token_type: "Bearer",
        expires_in: claims.exp - claims.iat,
        expires_at: new Date(claims.exp * 1000).toISOString(),
        address: claims.addr,
        did: claims.sub,
        chainId: claims.chain,
        audience: claims.aud,
        patient: (await store.findPatientByWallet(claims.sub)) ?? null,
      });
    },
  );

  app.post("/auth/logout", { onRequest: ctx.requireReader, bodyLimit: AUTH_BODY_LIMIT }, async (request, reply) => {
    const requester = request.requester!;
    await ctx.revocations.revoke(requester.tokenId, requester.expiresAt);
    return reply.code(204).header("cache-control", "no-store").send();
  });

  app.post<{ Body: { code: string } }>(
    "/auth/link",
    { onRequest: ctx.requireReader, bodyLimit: AUTH_BODY_LIMIT, schema: { body: linkBody } },
    async (request, reply) => {
      const requester = request.requester!;
      const audit: AuditContext = { interaction: "operation", operation: "link-wallet" };
      const result = await ctx.audited(request, audit, async () => {
        audit.patientId = await store.linkCodePatient(request.body.code);
        const linked = await store.linkWallet(request.body.code, requester.did);
        audit.patientId = linked.patientId;
        audit.resource = { type: "Patient", id: linked.patientId };
        if (linked.kind === "relink") {
          audit.operation = "relink-wallet";
          audit.details = [{ type: "replaced-wallets", value: linked.replaced.join(",") || "none" }];
        }
        return linked;
      });
      return reply.type("application/json").send({
        patientId: result.patientId,
        wallet: result.did,
        kind: result.kind,
        ...(result.replaced.length > 0 ? { replaced: result.replaced } : {}),
      });
    },
  );

  app.post<{ Body: { patientId: string; kind?: LinkCodeKind; ttlSeconds?: number } }>(
    "/admin/link-codes",
    { onRequest: ctx.requireLinkCodeIssuer, bodyLimit: AUTH_BODY_LIMIT, schema: { body: linkCodeBody } },
    async (request, reply) => {
      const kind = request.body.kind ?? "link";
      const audit: AuditContext = {
        interaction: "operation",
        operation: kind === "relink" ? "issue-relink-code" : "issue-link-code",
        patientId: request.body.patientId,
        resource: { type: "Patient", id: request.body.patientId },
      };
      const code = await ctx.audited(request, audit, () =>
        store.createLinkCode(request.body.patientId, {
          kind,
          ttlSeconds: request.body.ttlSeconds ?? DEFAULT_LINK_CODE_TTL_SECONDS,
        }),
      );
      return reply.code(201).type("application/json").send({
        code: code.code,
        patientId: code.patientId,
        kind: code.kind,
        expiresAt: code.expiresAt.toISOString(),
      });
    },
  );
}
