/**
 * Reverts of the Consentry contracts in plain words: a custom error's name and arguments (decoded
 * with `decodeErrorResult` over every contract's ABI when a wallet or node hands back only raw revert
 * data) turned into one sentence a patient can act on. Wallet and transport failures get a
 * sentence too (./words.ts); anything unknown falls back to viem's short message.
 *
 * This sentence table and the error ABIs weigh on a web page: the app loads this module with a
 * dynamic `import()` only when a refusal has to be explained (app/_lib/tx.ts).
 */
import {
  type Abi,
  type Address,
  BaseError,
  ContractFunctionRevertedError,
  type Hex,
  decodeErrorResult,
  isHex,
  zeroAddress,
} from "viem";

import { KIND_WORDS, KINDS, type KindName } from "./codes.ts";
import { auditAnchorAbi, consentRegistryAbi, remunerationTokenAbi, studyEscrowAbi } from "./generated/abis.ts";
import {
  preventionBadgeErrorsAbi,
  preventionRewardsErrorsAbi,
  researchFundErrorsAbi,
  researchFundGovernorErrorsAbi,
  timelockControllerErrorsAbi,
} from "./generated/error-abis.ts";
import { explainWalletError, shortAddress } from "./words.ts";

/** Every Consentry contract's ABI: raw revert data is decoded against these, in this order. */
export const CONTRACT_ABIS: readonly Abi[] = [
  consentRegistryAbi,
  studyEscrowAbi,
  // Prevention rewards: their errors only (their whole ABIs are in generated/prevention-abis.ts).
  preventionRewardsErrorsAbi,
  preventionBadgeErrorsAbi,
  auditAnchorAbi,
  remunerationTokenAbi,
  // The research funds' errors only (their whole ABIs are in generated/fund-abis.ts).
  researchFundErrorsAbi,
  researchFundGovernorErrorsAbi,
  timelockControllerErrorsAbi,
];

export interface ExplainOptions {
  /** A name for an address (an organization's name, "you"); default: the shortened address. */
  nameOf?: (address: Address) => string | undefined;
  /** Unix seconds in words; default: the ISO date and time (UTC). */
  formatTime?: (seconds: number) => string;
  /** ABIs to decode raw revert data with; default: every Consentry contract's (CONTRACT_ABIS). */
  abis?: readonly Abi[];
}

export interface DecodedRevert {
  errorName: string;
  args: readonly unknown[];
}

function hours(seconds: number): string {
  if (seconds % 3600 === 0) return `${seconds / 3600} hour${seconds === 3600 ? "" : "s"}`;
  return `${Math.round(seconds / 60)} minutes`;
}

/** The sentence for a custom error that has none of its own (a test keeps every ABI error out of it). */
export const UNEXPLAINED_PREFIX = "The contract refused the transaction";

/** One sentence for a custom error of any Consentry contract (ConsentRegistry and its
 * OrganizationRegistry, StudyEscrow, PreventionRewards and its badge, AuditAnchor, the remuneration
 * token): the one place these
 * sentences live, for the web app, the gateway and any provider's backend. */
export function explainContractError(
  errorName: string,
  args: readonly unknown[],
  options: ExplainOptions = {},
): string {
  const name = (a: unknown) => {
    const address = String(a) as Address;
    return options.nameOf?.(address) ?? shortAddress(address);
  };
  const time = (s: unknown) => (options.formatTime ?? ((x: number) => new Date(x * 1000).toISOString()))(Number(s));
  const kind = (k: unknown) => {
    const found = (Object.keys(KINDS) as KindName[]).find((n) => KINDS[n] === Number(k));
    return found ? KIND_WORDS[found] : `organization of kind ${String(k)}`;
  };
  const a = (i: number) => args[i];
  switch (errorName) {
    case "ConsentRegistryGranteeNotAccredited":
      return `${name(a(0))} is not an active, accredited ${kind(a(1))}, so it cannot receive consent for this purpose.`;
    case "ConsentRegistryInvalidGrantee":
      return a(0) === zeroAddress
        ? "Choose who receives the consent."
        : "You cannot give consent to yourself; choose an organization.";
    case "ConsentRegistryExpiryNotInFuture":
      return `The end date (${time(a(0))}) is not in the future; choose a later one.`;
    case "ConsentRegistryInvalidValidity":
      return `The consent would start (${time(a(0))}) at or after it ends (${time(a(1))}).`;
    case "ConsentRegistryNoCategories":
      return "Choose at least one kind of data.";
    case "ConsentRegistryUnknownCategories":
      return "Some of the chosen kinds of data are not known to the registry.";
    case "ConsentRegistryUnknownPurpose":
      return "That purpose is not a known purpose of use.";
    case "ConsentRegistryNoGrant":
      return "There is no consent to revoke: it may have been revoked already.";
    case "ConsentRegistryNotDelegate":
      return `${name(a(1))} is not a current delegate of ${name(a(0))}.`;
    case "ConsentRegistryInvalidDelegate":
      return a(0) === zeroAddress
        ? "Enter the address of the person you want as a delegate."
        : "You cannot appoint yourself as your own delegate; enter someone else's address.";
    case "ConsentRegistrySignatureExpired":
      return `The signature expired at ${time(a(0))}; sign again.`;
    case "ConsentRegistrySignatureNotYetUsable":
      return `This consent signature can be used only from ${time(a(1))} (a day before its deadline); sign again.`;
    case "ConsentRegistrySignedBeforeRevocation":
      return `You revoked this consent at ${time(a(1))}, after this signature may have been made, so it cannot give it again; sign again.`;
    case "ConsentRegistryInvalidSignature":
      return "The signature is not the patient's, or it was already used or cancelled.";
    case "ConsentRegistryNotEmergencyClinician":
      return `${name(a(0))} is not a clinician of an active, accredited healthcare provider, so it cannot open emergency access.`;
    case "ConsentRegistryEmergencyDurationInvalid":
      return `Emergency access must last at least ${hours(Number(a(1)))} and at most ${hours(Number(a(2)))}.`;
    case "ConsentRegistryEmergencyAlreadyOpen":
      return `${name(a(1))} already has emergency access open until ${time(a(2))}.`;
    case "ConsentRegistryEmergencyRateLimited":
      return `Your organization opened emergency access to this patient too often today; it can open it again after ${time(a(1))}.`;
    case "ConsentRegistryNoEmergencyAccess":
      return `There is no open emergency access by ${name(a(1))} to close: it may have ended already.`;
    case "ConsentRegistryNotAllowedToClose":
      return `${name(a(0))} may not close this emergency access.`;
    case "ConsentRegistryInvalidPatient":
      return "That is not a valid patient address.";
    case "ConsentRegistryInvalidScope":
      return "That study key is not valid.";
    case "ConsentRegistryStudyEnded":
      return "The grants of that study were already ended (the study was cancelled).";
    case "ConsentRegistryNoEmergencyReason":
      return "Emergency access needs a reason: choose one, so that its commitment goes with the opening.";
    case "ConsentRegistryInvalidEmergencyPolicy":
      return "That break-glass policy is outside its bounds (a minimum of at least 15 minutes, up to a maximum of at most 72 hours, 1 to 10 openings a day per patient and organization).";
    case "OrganizationRegistryUnknownKind":
      return `Organization kind ${String(a(0))} is not a known kind.`;
    case "OrganizationRegistryUnknownRole":
      return `Member role ${String(a(0))} is not a known role.`;
    case "OrganizationRegistryZeroAddress":
      return "An address is missing.";
    case "OrganizationRegistryInvalidName":
      return "The organization's name must have 1 to 100 characters.";
    case "OrganizationRegistryInvalidGatewayUrl":
      return "The gateway address must be an http(s) URL of at most 200 characters.";
    case "OrganizationRegistryAddressInUse":
      return `${name(a(0))} already belongs to an organization.`;
    case "OrganizationRegistryUnknownOrganization":
      return `${name(a(0))} is not an accredited organization.`;
    case "OrganizationRegistryWrongStatus":
      return `${name(a(0))} is ${Number(a(1)) === 2 ? "suspended" : "not in a state that allows this"}.`;
    case "OrganizationRegistryNoOffer":
      return `${name(a(0))} has no open offer of this role to ${name(a(1))}: ask its admin to offer it (again).`;
    case "OrganizationRegistrySignatureExpired":
      return `The membership acceptance was signed to be valid until ${time(a(0))}, which has passed; sign again.`;
    case "OrganizationRegistryInvalidSignature":
      return `The signature is not ${name(a(0))}'s acceptance of this offer, or it was already used.`;
    case "OrganizationRegistryNotMember":
      return `${name(a(1))} is not a member of ${name(a(0))}.`;
    case "OrganizationRegistryNotOrganizationAdmin":
      return `${name(a(1))} may not manage the members of ${name(a(0))}.`;
    case "AccessControlUnauthorizedAccount":
      return `${name(a(0))} is not allowed to do this.`;
    case "AccessControlBadConfirmation":
      return "A role can only be renounced by the account that holds it.";
    case "ReentrancyGuardReentrantCall":
      return "The contract refused a call made back into it while it was still busy (reentrancy).";
    case "SafeERC20FailedOperation":
      return `The token ${name(a(0))} refused the transfer.`;
    case "ECDSAInvalidSignature":
    case "ECDSAInvalidSignatureLength":
    case "ECDSAInvalidSignatureS":
      return "The signature is malformed; sign again.";
    // StudyEscrow
    case "StudyEscrowNotResearcher":
      return `${name(a(0))} is neither an active, accredited research organization nor an ADMIN member of one, so it cannot create studies.`;
    case "StudyEscrowNotStudyManager":
      return `${name(a(1))} does not manage study ${String(a(0))}: only its research organization or an ADMIN member of it does.`;
    case "StudyEscrowNotGateway":
      return `${name(a(0))} is not the gateway of an active, accredited healthcare provider.`;
    case "StudyEscrowCustodianNotAllowed":
      return `${name(a(1))} is not a custodian of study ${String(a(0))}.`;
    case "StudyEscrowUnknownStudy":
      return `There is no study ${String(a(0))}.`;
    case "StudyEscrowStudyClosed":
      return Number(a(1)) === 2
        ? `Study ${String(a(0))} was cancelled.`
        : `Study ${String(a(0))} ended on ${time(a(2))}.`;
    case "StudyEscrowStudyNotOver":
      return `Study ${String(a(0))} runs until ${time(a(1))}; its budget can be reclaimed after that, or after cancelling it.`;
    case "StudyEscrowEnrolmentClosed":
      return `Enrolment in study ${String(a(0))} closed on ${time(a(1))}.`;
    case "StudyEscrowStudyFull":
      return `Study ${String(a(0))} already has its ${String(a(1))} participants.`;
    case "StudyEscrowNotJoined":
      return `${name(a(1))} is not taking part in study ${String(a(0))}.`;
    case "StudyEscrowInvalidPatient":
      return "That is not a valid patient address.";
    case "StudyEscrowCurrencyNotAllowed":
      return `${name(a(0))} is not a currency that studies may pay in.`;
    case "StudyEscrowInvalidCurrency":
      return `${name(a(0))} is not a token contract.`;
    case "StudyEscrowInvalidPurpose":
      return "A study's purpose must be research (any research or a DUO research code).";
    case "StudyEscrowInvalidCategories":
      return "Choose at least one kind of data for the study.";
    case "StudyEscrowInvalidPrice":
      return "The price per delivery must be more than zero.";
    case "StudyEscrowInvalidMaxParticipants":
      return "The number of participants is zero or too large.";
    case "StudyEscrowInvalidSchedule":
      return `The enrolment deadline (${time(a(0))}) must be in the future and before the end (${time(a(1))}), and the study may not run too long.`;
    case "StudyEscrowMissingProtocolHash":
      return "The study needs its protocol document (its hash).";
    case "StudyEscrowInvalidCustodianCount":
      return `A study needs 1 to ${String(a(1))} custodians.`;
    case "StudyEscrowCustodianNotProvider":
      return `${name(a(0))} is not an active, accredited healthcare provider, so it cannot be a custodian.`;
    case "StudyEscrowDuplicateCustodian":
      return `${name(a(0))} is listed twice as a custodian.`;
    case "StudyEscrowShareTooHigh":
      return `The share of ${name(a(0))} (${Number(a(1)) / 100} %) is above the most a custodian may take (${Number(a(2)) / 100} %).`;
    case "StudyEscrowZeroAmount":
      return "The amount must be more than zero.";
    case "StudyEscrowBudgetOverflow":
      return "That amount would make the study's budget too large.";
    case "StudyEscrowFeeOnTransfer":
      return "The token took a fee on the transfer; studies cannot pay in it.";
    case "StudyEscrowPermitFailed":
      return "The permit to take the funds was not accepted, and the allowance does not cover the amount; sign again.";
    case "StudyEscrowEmptyBatch":
      return "No delivery was reported.";
    case "StudyEscrowNothingToWithdraw":
      return "There is nothing to withdraw in this currency.";
    case "StudyEscrowNothingToReclaim":
      return `Study ${String(a(0))} has no unspent budget left to reclaim.`;
    case "StudyEscrowNoExcess":
      return `The escrow holds no ${name(a(0))} beyond what it owes to studies and participants, so there is nothing to recover.`;
    case "StudyEscrowInvalidRecipient":
      return a(0) === zeroAddress
        ? "Choose the address that receives the recovered tokens."
        : `${name(a(0))} cannot receive the recovered tokens (it is the escrow itself).`;
    case "StudyEscrowSignatureExpired":
      return `The signature expired at ${time(a(0))}; sign again.`;
    case "StudyEscrowInvalidSignature":
      // The accounting core's error: a study's signatures and a prevention programme's alike.
      return "The signature is not the patient's for this study or programme, or it was already used or cancelled (an opt-in signature also by a revoke-all); sign again.";
    case "StudyEscrowAttestationRequired":
      return `Study ${String(a(0))} takes only patients whose hospital or lab confirms it holds their records: join through that custodian's gateway.`;
    case "StudyEscrowAttestationExpired":
      return `The custodian's confirmation expired at ${time(a(0))}; ask for a new one.`;
    case "StudyEscrowInvalidAttestation":
      return `The confirmation that ${name(a(2))} holds ${name(a(1))}'s records for study ${String(a(0))} is not valid: it must be signed for this patient and study by an active gateway of a custodian the study allows.`;
    case "StudyEscrowFeeAboveCap":
      return `The relayer's fee is above the most a relayer may take of a withdrawal in ${name(a(0))}; choose a smaller fee or withdraw yourself.`;
    case "StudyEscrowFeeAboveAmount":
      return "The relayer's fee would take all of what you withdraw; withdraw later, when you have earned more, or withdraw yourself.";
    case "StudyEscrowRecoveryLowersOwed":
      return "Recovering that token would lower what the escrow holds of a currency it owes (a token sharing its balances with another address); nothing was recovered.";
    // PreventionRewards (its balances, withdrawals and currencies use the StudyEscrow errors above)
    case "PreventionRewardsNotPayer":
      return `${name(a(0))} is neither an active, accredited payer or public-health body nor an ADMIN member of one, so it cannot create prevention programmes.`;
    case "PreventionRewardsNotManager":
      return `${name(a(1))} does not manage programme ${String(a(0))}: only its payer organization or an ADMIN member of it does.`;
    case "PreventionRewardsNotGateway":
      return `${name(a(0))} is not the gateway of an active, accredited healthcare provider, so it cannot confirm care.`;
    case "PreventionRewardsCustodianNotAllowed":
      return `${name(a(1))} is not a provider whose records programme ${String(a(0))} accepts.`;
    case "PreventionRewardsUnknownProgramme":
      return `There is no prevention programme ${String(a(0))}.`;
    case "PreventionRewardsProgrammeClosed":
      return `Programme ${String(a(0))} ended on ${time(a(1))}.`;
    case "PreventionRewardsProgrammeNotOver":
      return `Programme ${String(a(0))} runs until ${time(a(1))}; its budget can be reclaimed after that, or after cancelling it.`;
    case "PreventionRewardsNotOptedIn":
      return `${name(a(1))} has not joined programme ${String(a(0))}.`;
    case "PreventionRewardsInvalidCategory":
      return "Choose the kind of record (FHIR resource type) that confirms the care.";
    case "PreventionRewardsInvalidCode":
      return "Choose the code system and the code of the care that counts.";
    case "PreventionRewardsInvalidReward":
      return "The reward per period must be more than zero.";
    case "PreventionRewardsInvalidSchedule":
      return "The programme needs a period length, a first period that starts before its end, and an end in the future within ten years.";
    case "PreventionRewardsInvalidCustodianCount":
      return `A programme accepts the records of 1 to ${String(a(1))} providers, not ${String(a(0))}.`;
    case "PreventionRewardsCustodianNotProvider":
      return `${name(a(0))} is not an active, accredited healthcare provider.`;
    case "PreventionRewardsDuplicateCustodian":
      return `${name(a(0))} is listed twice.`;
    case "PreventionRewardsInvalidPeriod":
      return `Period ${String(a(1))} of programme ${String(a(0))} has not started yet or lies after the programme's end.`;
    case "PreventionRewardsBudgetOverflow":
      return `That amount would take the budget of programme ${String(a(0))} above the largest amount it can hold.`;
    case "PreventionRewardsNothingToReclaim":
      return `Programme ${String(a(0))} has no unspent budget to reclaim.`;
    case "PreventionRewardsEmptyBatch":
      return "The report confirms no patient.";
    case "PreventionRewardsProgrammeFull":
      return `Programme ${String(a(0))} takes no more patients.`;
    // PreventionBadge (an ERC-721 locked to its owner)
    case "PreventionBadgeNotConfirmed":
      return `There is no paid confirmation for ${name(a(1))} in programme ${String(a(0))}, period ${String(a(2))}, so there is no badge to claim yet.`;
    case "PreventionBadgeAlreadyClaimed":
      return "You already hold this badge.";
    case "PreventionBadgeLocked":
      return "Badges stay with the patient who earned them: they cannot be transferred or approved.";
    case "PreventionBadgeNotOwner":
      return `${name(a(1))} does not hold this badge.`;
    case "ERC721InvalidOwner":
    case "ERC721IncorrectOwner":
      return "That account does not hold the badge.";
    case "ERC721NonexistentToken":
      return "There is no such badge.";
    case "ERC721InvalidSender":
    case "ERC721InvalidReceiver":
    case "ERC721InsufficientApproval":
    case "ERC721InvalidApprover":
    case "ERC721InvalidOperator":
      return "Badges cannot be transferred.";
    // AuditAnchor
    case "AuditAnchorNotGateway":
      return `${name(a(0))} is not a GATEWAY member of an active, accredited organization, so it cannot anchor audit batches.`;
    case "AuditAnchorEmptyRoot":
      return "The audit batch has no Merkle root.";
    case "AuditAnchorInvalidRange":
      return `The audit batch must start at entry ${String(a(0))}, not ${String(a(1))} (through ${String(a(2))}).`;
    case "AuditAnchorBatchTooLarge":
      return `An audit batch holds at most ${String(a(2))} entries; ${String(a(0))} through ${String(a(1))} is too many.`;
    case "AuditAnchorNotCustodianAdmin":
      return "Only the custodian organization itself or one of its ADMIN members can supersede its audit batches.";
    case "AuditAnchorUnknownBatch":
      return `The custodian has no audit batch ${String(a(1))}.`;
    // The remuneration token (ERC-20 with EIP-2612 permit)
    case "ERC20InsufficientBalance":
      return "The account does not hold enough tokens for this amount.";
    case "ERC20InsufficientAllowance":
      return "The escrow is not allowed to take that many tokens.";
    case "ERC20InvalidApprover":
    case "ERC20InvalidSender":
      return "Tokens cannot be sent or approved from the zero address.";
    case "ERC20InvalidReceiver":
      return "Tokens cannot be sent to the zero address.";
    case "ERC20InvalidSpender":
      return "The zero address cannot be allowed to spend tokens.";
    case "InvalidAccountNonce":
      return "The permit was already used or signed for another nonce; sign again.";
    case "ERC2612ExpiredSignature":
      return `The permit expired at ${time(a(0))}; sign again.`;
    case "ERC2612InvalidSigner":
      return "The permit was not signed by the account that pays; sign again.";
    case "RemunerationTokenFaucetAmountInvalid":
      return "The faucet gives between 1 and 10,000 tokens at a time.";
    case "RemunerationTokenFaucetUnavailable":
      return "The test-token faucet only works on the local development chain.";
    // ResearchFund (a DAO per cause) and its Governor
    case "ResearchFundEmptyCause":
      return "A research fund needs a cause: say what it funds.";
    case "ResearchFundCauseTooLong":
      return `The cause is ${String(a(0))} bytes long; keep it to ${String(a(1))} (a short heading, not a document).`;
    case "ResearchFundCurrencyNotAllowed":
      return `${name(a(0))} is not a currency the study escrow accepts, so a fund cannot take it.`;
    case "ResearchFundInvalidGoal":
      return "The fund's goal must be above zero (and below 2^128 units).";
    case "ResearchFundInvalidEnd":
      return `The fund must end after ${time(a(1))} (room for one vote and its timelock) and no later than ${time(a(2))}.`;
    case "ResearchFundInvalidQuorum":
      return `The quorum must be between ${String(a(1))} % and ${String(a(2))} %, not ${String(a(0))} %.`;
    case "ResearchFundInvalidVotingPeriod":
      return `The voting period must be between ${String(a(1))} and ${String(a(2))} seconds, not ${String(a(0))}.`;
    case "ResearchFundInvalidTimelockDelay":
      return `The timelock delay must be between ${String(a(1))} and ${String(a(2))} seconds, not ${String(a(0))}.`;
    case "ResearchFundNotOpen":
      return a(1)
        ? "The members closed this fund: no more contributions or proposals; members redeem their share."
        : `This fund ended at ${time(a(0))}: no more contributions or proposals; members redeem their share.`;
    case "ResearchFundStillOpen":
      return `The fund is open until ${time(a(0))}: before that a member leaves by ragequit, not by redeeming.`;
    case "ResearchFundZeroAmount":
      return "The amount must be above zero.";
    case "ResearchFundGoalExceeded":
      return `The fund's goal is ${String(a(0))} and its members hold ${String(a(1))}: ${String(a(2))} more would exceed it.`;
    case "ResearchFundFeeOnTransfer":
      return `The fund received ${String(a(1))} instead of ${String(a(0))}: tokens that take a fee on transfer are refused.`;
    case "ResearchFundNotTimelock":
      return "Only a proposal the members passed, executed by the fund's timelock, can spend or close the fund.";
    case "ResearchFundSharesNonTransferable":
      return "Fund shares cannot be transferred: a member leaves by ragequit or redeems after the end.";
    case "ResearchFundDelegationDisabled":
      return "Fund shares vote for their holder only; they cannot be delegated.";
    case "ResearchFundInsufficientShares":
      return `${name(a(0))} holds ${String(a(2))} shares, not ${String(a(1))}.`;
    case "ResearchFundVotedForPending":
      // The proposal's id is a 78-digit hash: the sentence names the rule, not the number.
      return `${name(a(0))} voted for a proposal that has not been carried out yet: who votes to spend cannot leave before it is paid.`;
    case "ResearchFundInsufficientTreasury":
      return `The proposal spends ${String(a(0))} but the treasury holds only ${String(a(1))} (members left).`;
    case "ResearchFundCurrencyMismatch":
      return `Study ${String(a(0))} does not exist or does not pay in the fund's currency.`;
    case "ResearchFundTermsMismatch":
      return `Study ${String(a(0))}'s protocol is not the one the proposal named: the members voted for other terms.`;
    case "ResearchFundNotSponsoring":
      return `The fund does not sponsor study ${String(a(0))}, or already took back its share.`;
    case "ResearchFundStudiesOutstanding":
      return `${String(a(0))} sponsored studies are not settled yet: settle each after its end, then redeem.`;
    case "ResearchFundGovernorInvalidProposal":
      return "A fund proposal is one call on the fund, to sponsor an escrow study or to close the fund, while the fund is open.";
    case "ResearchFundGovernorNotMember":
      return `${name(a(0))} holds no shares of the fund: only members propose.`;
    case "ResearchFundGovernorNoVotes":
      return `${name(a(0))} held no shares before proposal ${String(a(1))} was made, or has left the fund since, so it cannot vote on it.`;
    case "ResearchFundGovernorExpired":
      return `Proposal ${String(a(0))} could be carried out only until ${time(a(1))}; it can no longer be.`;
    case "ResearchFundSpendingStarted":
      return "The fund has already paid for a study, so it takes no more contributions.";
    case "StudyEscrowFundingSpent":
      return `Study ${String(a(0))} has already spent part of its funding (${String(a(1))} of ${String(a(2))} is left): a sponsor can join, and the researcher add to a sponsored study, only before any is spent.`;
    case "GovernorAlreadyCastVote":
      return `${name(a(0))} has already voted on this proposal.`;
    case "GovernorNonexistentProposal":
      return `There is no proposal ${String(a(0))}.`;
    case "GovernorUnexpectedProposalState":
      return `Proposal ${String(a(0))} is not in a state that allows this (voting over, not passed, not queued yet, or already executed).`;
    case "GovernorAlreadyQueuedProposal":
      return `Proposal ${String(a(0))} is already queued in the timelock.`;
    case "GovernorInvalidVoteType":
      return "A vote is For, Against or Abstain.";
    case "GovernorInvalidProposalLength":
    case "GovernorInvalidVoteParams":
    case "GovernorProposalQueueingFailed":
    case "GovernorProposalQueueingNotRequired":
    case "GovernorInvalidVotingPeriod":
    case "GovernorDisabledDeposit":
    case "GovernorOnlyExecutor":
    case "GovernorInsufficientProposerVotes":
    case "GovernorRestrictedProposer":
      return "The fund's Governor refused this proposal action.";
    case "GovernorUnableToCancel":
      return `Proposal ${String(a(0))} can no longer be cancelled by its proposer (voting has started).`;
    case "GovernorInvalidSignature":
    case "VotesExpiredSignature":
      return "The signed vote is invalid or expired; sign again.";
    case "ERC5805FutureLookup":
    case "ERC6372InconsistentClock":
    case "CheckpointUnorderedInsertion":
      return "The fund's vote records cannot answer for that time yet; try again in a moment.";
    case "ERC20ExceededSafeSupply":
    case "SafeCastOverflowedUintDowncast":
      return "The amount is too large.";
    case "TimelockUnexpectedOperationState":
      return "The proposal is not ready in the fund's timelock: it executes only once the timelock delay has passed, and only once.";
    case "TimelockInsufficientDelay":
      return `The timelock needs a delay of at least ${String(a(1))} seconds, not ${String(a(0))}.`;
    case "TimelockUnauthorizedCaller":
      return `${name(a(0))} may not do this in the fund's timelock: only the fund's Governor schedules.`;
    case "TimelockUnexecutedPredecessor":
      return "An earlier timelock operation this one depends on has not executed yet.";
    case "TimelockInvalidOperationLength":
      return "The timelock operation's targets, values and calls do not match in length.";
    case "FailedCall":
      return "A call the proposal made failed.";
    case "StringTooLong":
    case "InvalidShortString":
      return "A text value is too long.";
    default:
      return `${UNEXPLAINED_PREFIX} (${errorName}).`;
  }
}

/** The custom error inside a viem error: already decoded, or decoded from raw revert data. */
export function decodeRevert(error: unknown, abis: readonly Abi[] = CONTRACT_ABIS): DecodedRevert | null {
  if (!(error instanceof BaseError)) return null;
  const reverted = error.walk((e) => e instanceof ContractFunctionRevertedError);
  if (reverted instanceof ContractFunctionRevertedError && reverted.data?.errorName) {
    return { errorName: reverted.data.errorName, args: reverted.data.args ?? [] };
  }
  let raw: Hex | undefined;
  error.walk((e) => {
    const data = (e as { data?: unknown }).data;
    const candidate = typeof data === "string" ? data : (data as { data?: unknown } | undefined)?.data;
    if (typeof candidate === "string" && isHex(candidate) && candidate.length >= 10) raw = candidate;
    return false;
  });
  if (!raw) return null;
  for (const abi of abis) {
    try {
      const decoded = decodeErrorResult({ abi, data: raw });
      return { errorName: decoded.errorName, args: (decoded.args ?? []) as readonly unknown[] };
    } catch {
      // not this ABI's error
    }
  }
  return null;
}

/** One sentence for anything a simulate, a wallet request or a transaction threw: a contract's
 * refusal in its own words, anything else as `explainWalletError` says it. */
export function explainTransactionError(error: unknown, options: ExplainOptions = {}): string {
  const revert = decodeRevert(error, options.abis);
  if (revert) return explainContractError(revert.errorName, revert.args, options);
  return explainWalletError(error);
}
