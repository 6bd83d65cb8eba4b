/**
 * The app's lists, answered on the server from the indexer (indexer/: Ponder) through the sdk's
 * history readers (sdk/history.ts), never by scanning the chain's logs in the browser. Server code
 * only: it imports Ponder's client and tables, which must never reach a browser bundle.
 *
 * The indexer is found at INDEXER_URL, read at run time (default http://127.0.0.1:42069, where
 * `npm start` runs it). Every answer carries where the indexer stood (`indexed`), read BEFORE the
 * list: the list holds at least every change up to that block, so a page that waits for the block
 * of its own transaction knows the list then includes it.
 */
import { type Address, getAddress, isAddress } from "viem";

import {
  type IndexerClient,
  historyDelegates,
  historyEmergencyLog,
  historyMembers,
  historyMembershipOffers,
  historyOpenEmergencies,
  historyOrganizations,
  historyPatientGrants,
  historyPatientPrevention,
  historyPatientsActedFor,
  historyProgrammeCompletions,
  historyProgrammes,
  historyStudies,
  historyStudyActivity,
  indexerClient,
} from "#sdk/history.ts";
import {
  historyFundMembers,
  historyFundMovements,
  historyFundProposals,
  historyFundStudies,
  historyFunds,
  historyMemberFunds,
  historyProposalVotes,
  historyStudySponsors,
} from "#sdk/funds.ts";
import { LOCAL_DEV_CHAIN } from "../_lib/local-dev.ts";
import type { HistoryAnswer, Indexed } from "../_lib/wire.ts";

export const DEFAULT_INDEXER_URL = "http://127.0.0.1:42069";

/** A request the server refuses (400) or cannot answer (503), with the sentence to show. */
export class HistoryRequestError extends Error {
  readonly status: 400 | 404 | 503;
  constructor(status: 400 | 404 | 503, message: string) {
    super(message);
    this.status = status;
  }
}

let cached: { url: string; client: IndexerClient } | undefined;

/** The indexer of INDEXER_URL (read at run time, not inlined at build time). */
export function indexer(): IndexerClient {
  const raw = process.env["INDEXER_URL"] || DEFAULT_INDEXER_URL;
  if (cached?.url !== raw) {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new HistoryRequestError(503, `INDEXER_URL is not a URL: ${raw}`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new HistoryRequestError(503, `INDEXER_URL must be an http(s) URL, not ${raw}`);
    }
    cached = { url: raw, client: indexerClient(raw) };
  }
  return cached.client;
}

/** The chain this build serves (NEXT_PUBLIC_CONSENTRY_CHAIN_ID, inlined at build time). */
const APP_CHAIN_ID = Number(process.env.NEXT_PUBLIC_CONSENTRY_CHAIN_ID || LOCAL_DEV_CHAIN.id);

function address(params: URLSearchParams, name: string): Address {
  const value = params.get(name);
  if (value === null || value === "") throw new HistoryRequestError(400, `${name} is missing: give an address.`);
  if (!isAddress(value, { strict: false })) {
    throw new HistoryRequestError(400, `${name} must be an address (0x followed by 40 hexadecimal digits).`);
  }
  return getAddress(value);
}

function optionalAddress(params: URLSearchParams, name: string): Address | undefined {
  return params.get(name) ? address(params, name) : undefined;
}

function studyId(params: URLSearchParams): bigint {
  const value = params.get("study") ?? "";
  if (!/^[0-9]{1,30}$/.test(value)) throw new HistoryRequestError(400, "study must be a study number (1, 2, …).");
  return BigInt(value);
}

function programmeId(params: URLSearchParams): bigint {
  const value = params.get("programme") ?? "";
  if (!/^[0-9]{1,30}$/.test(value)) {
    throw new HistoryRequestError(400, "programme must be a programme number (1, 2, …).");
  }
  return BigInt(value);
}

function proposalId(params: URLSearchParams): bigint {
  const value = params.get("proposal") ?? "";
  if (!/^[0-9]{1,78}$/.test(value)) throw new HistoryRequestError(400, "proposal must be a proposal id (a number).");
  return BigInt(value);
}

/** A list: its parameters checked (before the indexer is asked anything), then read. */
interface List<A> {
  parse(params: URLSearchParams): A;
  read(ix: IndexerClient, args: A, indexed: Indexed): Promise<unknown>;
}
const list = <A>(parse: List<A>["parse"], read: List<A>["read"]): List<A> => ({ parse, read });
const none = () => undefined;

function offersQuery(p: URLSearchParams): Parameters<typeof historyMembershipOffers>[1] {
  const organization = optionalAddress(p, "organization");
  const member = optionalAddress(p, "member");
  if (organization) return member ? { organization, member } : { organization };
  if (member) return { member };
  throw new HistoryRequestError(400, "give an organization or a member address.");
}

/** Every list the app shows, by the name in its path (/api/history/<name>). */
const LISTS: Readonly<Record<string, List<never>>> = {
  status: list(none, async () => null),
  grants: list((p) => address(p, "patient"), historyPatientGrants),
  delegates: list((p) => address(p, "patient"), historyDelegates),
  "acting-for": list((p) => address(p, "delegate"), historyPatientsActedFor),
  // Every opening still in force by the registry's record; the page compares expiries with its clock.
  emergencies: list(
    (p) => address(p, "patient"),
    (ix, patient) => historyOpenEmergencies(ix, patient, 0),
  ),
  "emergency-log": list(none, (ix, _none, at) =>
    historyEmergencyLog(ix, Math.max(at.timestamp, Math.floor(Date.now() / 1000))),
  ),
  organizations: list(none, historyOrganizations),
  members: list((p) => address(p, "organization"), historyMembers),
  "membership-offers": list(offersQuery, historyMembershipOffers),
  studies: list(none, historyStudies),
  "study-activity": list(studyId, historyStudyActivity),
  // Prevention programmes: every one (or one payer's), a patient's part in them, a programme's completions.
  programmes: list(
    (p) => optionalAddress(p, "payer"),
    (ix, payer) => historyProgrammes(ix, payer),
  ),
  "patient-prevention": list((p) => address(p, "patient"), historyPatientPrevention),
  "programme-completions": list(programmeId, historyProgrammeCompletions),
  // Research funds (a DAO per cause), and which fund sponsored a study.
  funds: list(none, historyFunds),
  "member-funds": list((p) => address(p, "member"), historyMemberFunds),
  "fund-members": list((p) => address(p, "fund"), historyFundMembers),
  "fund-movements": list((p) => address(p, "fund"), historyFundMovements),
  "fund-proposals": list((p) => address(p, "governor"), historyFundProposals),
  "fund-studies": list((p) => address(p, "fund"), historyFundStudies),
  "proposal-votes": list(proposalId, historyProposalVotes),
  "study-sponsors": list(studyId, historyStudySponsors),
} as unknown as Record<string, List<never>>;

/** The answer to GET /api/history/<list>?<params>. */
export async function answerHistory(name: string, params: URLSearchParams): Promise<HistoryAnswer<unknown>> {
  const entry = Object.hasOwn(LISTS, name) ? (LISTS[name] as List<unknown>) : undefined;
  if (!entry) throw new HistoryRequestError(404, `there is no list named ${name}.`);
  const args = entry.parse(params);
  const ix = indexer();
  let indexed: Indexed;
  try {
    const status = await ix.status();
    indexed = { chainId: status.chainId, blockNumber: status.block, timestamp: status.timestamp };
  } catch {
    throw new HistoryRequestError(503, "the indexer does not answer: the list cannot be read now.");
  }
  if (indexed.chainId !== 0 && indexed.chainId !== APP_CHAIN_ID) {
    throw new HistoryRequestError(
      503,
      `the indexer serves chain ${indexed.chainId}, this app chain ${APP_CHAIN_ID}: the list cannot be read.`,
    );
  }
  return { indexed, data: await entry.read(ix, args, indexed) };
}
