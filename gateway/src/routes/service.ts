/**
 * The gateway's own service routes: health (database and chain reachable), the FHIR
 * CapabilityStatement, and the custodian's relay spend as Prometheus metrics (admin token).
 */
import type { FastifyInstance } from "fastify";

import type { GatewayChain } from "../chain/chain.ts";
import { FHIR_JSON, buildCapabilityStatement } from "../fhir/capability.ts";
import { serviceUnavailable } from "../fhir/outcomes.ts";
import { relaySpend } from "../relay/limits.ts";
import type { Store } from "../store/store.ts";
import type { AppConfig, RouteContext } from "./context.ts";

export interface ServiceContext {
  config: AppConfig;
  store: Store;
  chain: GatewayChain | undefined;
  /** When the gateway started (the CapabilityStatement's date). */
  startedAt: string;
  requireCustodian: RouteContext["requireCustodian"];
}

export function registerServiceRoutes(app: FastifyInstance, ctx: ServiceContext): void {
  const { config, store, chain } = ctx;

  app.get("/healthz", async (request, reply) => {
    try {
      await store.database.ping();
    } catch (err) {
      request.log.error({ err }, "health check: database unreachable");
      throw serviceUnavailable("Database unavailable");
    }
    // Without the chain no consent can be checked: the gateway is not able to serve reads.
    let block: string | undefined;
    if (chain) {
      try {
        block = (await chain.latestBlock()).number.toString();
      } catch (err) {
        request.log.error({ err }, "health check: chain unreachable");
        throw serviceUnavailable("Chain unavailable: consent cannot be checked");
      }
    }
    return reply.type("application/json").send({
      status: "ok",
      database: store.database.kind,
      ...(block !== undefined ? { chainId: config.chainId, block } : {}),
    });
  });

  app.get("/fhir/metadata", async (_request, reply) => {
    const capability = buildCapabilityStatement({
      publicUrl: config.publicUrl,
      custodianName: config.custodianName,
      date: ctx.startedAt,
      interactions: chain ? ["read", "search-type", "create", "update"] : ["create", "update"],
      transaction: true,
      reads: chain !== undefined,
      cors: config.corsOrigins.length > 0,
    });
    return reply.type(FHIR_JSON).send(capability);
  });

  if (!chain) return;
  // The custodian's relay spend (Prometheus text format), for its monitoring: admin token.
  app.get("/metrics", { onRequest: ctx.requireCustodian }, async (_request, reply) => {
    const spend = await relaySpend(store.db, store.now());
    const { weiPerHour, revocationWeiPerHour } = config.relayLimits;
    const lines = [
      "# HELP consentry_relay_budget_wei_per_hour The most the custodian spends on relayed transactions per hour.",
      "# TYPE consentry_relay_budget_wei_per_hour gauge",
      `consentry_relay_budget_wei_per_hour ${weiPerHour}`,
      "# HELP consentry_relay_revocation_budget_wei_per_hour The part of it kept for revocations (served first).",
      "# TYPE consentry_relay_revocation_budget_wei_per_hour gauge",
      `consentry_relay_revocation_budget_wei_per_hour ${revocationWeiPerHour}`,
      "# HELP consentry_relay_spent_wei Wei charged for relays in the last hour (mined: cost; pending: most possible).",
      "# TYPE consentry_relay_spent_wei gauge",
      `consentry_relay_spent_wei{budget="revocation"} ${spend.revocation}`,
      `consentry_relay_spent_wei{budget="shared"} ${spend.shared}`,
      "# HELP consentry_relay_transactions Relays in the last hour.",
      "# TYPE consentry_relay_transactions gauge",
      `consentry_relay_transactions{budget="revocation"} ${spend.revocations}`,
      `consentry_relay_transactions{budget="shared"} ${spend.others}`,
    ];
    return reply.type("text/plain; version=0.0.4; charset=utf-8").send(`${lines.join("\n")}\n`);
  });
}
