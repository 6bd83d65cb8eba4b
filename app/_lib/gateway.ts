/**
 * Talking to custodians' gateways from the browser: Sign-In with Ethereum (EIP-4361) with the
 * connected wallet, then bearer-token requests. A gateway's URL is on-chain (the organization's
 * `gatewayUrl`, its FHIR base); its auth and research routes live at the same origin.
 *
 * Tokens are short-lived (the gateway says until when) and kept in this tab's sessionStorage only,
 * per gateway and wallet, so that reloading the page does not ask for another signature; they are
 * bound to the address, the chain and that gateway, and dropped as soon as the gateway refuses one.
 */
import type { Bundle, OperationOutcome } from "@medplum/fhirtypes";
import { type Address, getAddress } from "viem";
import { createSiweMessage } from "viem/siwe";
import type { Config } from "wagmi";
import { signMessage } from "wagmi/actions";

export const FHIR_JSON = "application/fhir+json";

export interface GatewaySession {
  /** The gateway's origin, e.g. http://127.0.0.1:4001 */
  origin: string;
  address: Address;
  token: string;
  /** Unix milliseconds. */
  expiresAt: number;
  /** The Patient linked to this wallet at that custodian, if any. */
  patient: string | null;
}

/** A gateway's refusal, with the OperationOutcome's text. */
export class GatewayError extends Error {
  readonly status: number;
  readonly outcome: OperationOutcome | undefined;
  constructor(status: number, message: string, outcome?: OperationOutcome) {
    super(message);
    this.name = "GatewayError";
    this.status = status;
    this.outcome = outcome;
  }
}

/** The origin of a gateway URL (its FHIR base), or null when it is not an http(s) URL. */
export function gatewayOrigin(gatewayUrl: string): string | null {
  try {
    const url = new URL(gatewayUrl);
    return url.protocol === "http:" || url.protocol === "https:" ? url.origin : null;
  } catch {
    return null;
  }
}

/** The words of an OperationOutcome: each issue's text (or diagnostics), one sentence each. */
export function outcomeSentences(outcome: OperationOutcome | undefined): string[] {
  return (outcome?.issue ?? []).map((i) => i.details?.text ?? i.diagnostics ?? i.code).filter((t): t is string => !!t);
}

/** A gateway's answer that was not ok, as a GatewayError in the OperationOutcome's words. */
export async function refusal(response: Response, what: string): Promise<GatewayError> {
  let outcome: OperationOutcome | undefined;
  try {
    const body = (await response.json()) as OperationOutcome;
    if (body?.resourceType === "OperationOutcome") outcome = body;
  } catch {
    // not JSON: the status says enough
  }
  const words = outcomeSentences(outcome).join(" ");
  return new GatewayError(response.status, words || `${what} failed (HTTP ${response.status})`, outcome);
}

/** `fetch`, with an unreachable gateway as a GatewayError naming it. */
export async function reach(url: string, init: RequestInit, who: string): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch {
    throw new GatewayError(0, `The gateway of ${who} could not be reached (${new URL(url).origin}).`);
  }
}

const storageKey = (origin: string, address: Address) => `consentry.gateway.${origin}.${address.toLowerCase()}`;

/** A still-valid session of this tab for (gateway, wallet), if any. */
export function storedSession(origin: string, address: Address): GatewaySession | null {
  if (typeof sessionStorage === "undefined") return null;
  try {
    const raw = sessionStorage.getItem(storageKey(origin, address));
    if (!raw) return null;
    const s = JSON.parse(raw) as GatewaySession;
    // A minute of margin: a token about to expire would fail mid-way.
    if (s.origin !== origin || s.address.toLowerCase() !== address.toLowerCase() || s.expiresAt < Date.now() + 60_000) {
      sessionStorage.removeItem(storageKey(origin, address));
      return null;
    }
    return s;
  } catch {
    return null;
  }
}

export function storeSession(session: GatewaySession | null, origin: string, address: Address): void {
  if (typeof sessionStorage === "undefined") return;
  if (session) sessionStorage.setItem(storageKey(origin, address), JSON.stringify(session));
  else sessionStorage.removeItem(storageKey(origin, address));
}

/**
 * Signs in to a gateway with the connected wallet: the gateway's nonce, domain, URI and chain,
 * an EIP-4361 message signed in the wallet, exchanged for a bearer token.
 */
export async function signInToGateway(
  config: Config,
  origin: string,
  address: Address,
  custodianName: string,
): Promise<GatewaySession> {
  const nonceResponse = await reach(`${origin}/auth/nonce`, { headers: { accept: "application/json" } }, custodianName);
  if (!nonceResponse.ok) throw await refusal(nonceResponse, "Getting a sign-in challenge");
  const challenge = (await nonceResponse.json()) as { nonce: string; domain: string; uri: string; chainId: number };
  const message = createSiweMessage({
    domain: challenge.domain,
    address: getAddress(address),
    statement: `Sign in to the records gateway of ${custodianName}. This costs nothing and sends no transaction.`,
    uri: challenge.uri,
    version: "1",
    chainId: challenge.chainId,
    nonce: challenge.nonce,
    issuedAt: new Date(),
    expirationTime: new Date(Date.now() + 10 * 60_000),
  });
  const signature = await signMessage(config, { account: address, message });
  const response = await reach(
    `${origin}/auth/siwe`,
    { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ message, signature }) },
    custodianName,
  );
  if (!response.ok) throw await refusal(response, "Signing in");
  const body = (await response.json()) as { access_token: string; expires_at: string; patient: string | null };
  const session: GatewaySession = {
    origin,
    address,
    token: body.access_token,
    expiresAt: Date.parse(body.expires_at),
    patient: body.patient,
  };
  storeSession(session, origin, address);
  return session;
}

export interface GatewayRequest {
  method?: "GET" | "POST";
  /** X-Purpose-Of-Use for FHIR reads. */
  purpose?: string;
  /** X-Emergency-Reason of an emergency read (sdk `formatEmergencyReason`): the break-glass reason and salt. */
  emergencyReason?: string;
  body?: unknown;
  accept?: string;
  custodianName: string;
}

/** A bearer-token request; a refusal throws a {@link GatewayError} in the gateway's words. */
export async function gatewayFetch(session: GatewaySession, path: string, request: GatewayRequest): Promise<Response> {
  const headers: Record<string, string> = {
    authorization: `Bearer ${session.token}`,
    accept: request.accept ?? FHIR_JSON,
  };
  if (request.purpose) headers["x-purpose-of-use"] = request.purpose;
  if (request.emergencyReason) headers["x-emergency-reason"] = request.emergencyReason;
  if (request.body !== undefined) headers["content-type"] = "application/json";
  const response = await reach(
    `${session.origin}${path}`,
    {
      method: request.method ?? "GET",
      headers,
      ...(request.body !== undefined ? { body: JSON.stringify(request.body) } : {}),
    },
    request.custodianName,
  );
  if (response.status === 401) storeSession(null, session.origin, session.address);
  if (!response.ok) throw await refusal(response, "The request");
  return response;
}

/**
 * A searchset the gateway sends in pages (`$everything`): every page, following the `next` links,
 * as one Bundle (the first page's, with every page's entries).
 */
export async function gatewayFetchAllPages(
  session: GatewaySession,
  path: string,
  request: GatewayRequest,
  maxPages = 50,
): Promise<Bundle> {
  let bundle: Bundle | undefined;
  let next: string | undefined = path;
  for (let page = 0; next !== undefined && page < maxPages; page++) {
    const current = (await (await gatewayFetch(session, next, request)).json()) as Bundle;
    bundle = bundle === undefined ? current : { ...bundle, entry: [...(bundle.entry ?? []), ...(current.entry ?? [])] };
    const link = current.link?.find((l) => l.relation === "next")?.url;
    next = link === undefined ? undefined : `${new URL(link).pathname}${new URL(link).search}`;
  }
  const { link: _links, ...rest } = bundle!;
  return rest;
}
