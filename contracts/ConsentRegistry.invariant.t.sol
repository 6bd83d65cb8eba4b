// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ConsentRegistry} from "./ConsentRegistry.sol";
import {IConsentRegistry} from "./interfaces/IConsentRegistry.sol";
import {ConsentCodes} from "./libraries/ConsentCodes.sol";
import {ConsentFixture} from "./test/ConsentFixture.sol";
import {ConsentModel} from "./test/ConsentModel.sol";

/// @notice The handler of the invariant test (in the test file, so that it has an artifact however the
/// tests are run: all, this file alone, or under coverage). It owns a fixture
/// registry and drives it with bounded actions (grants direct and signed, revokes, revoke-all,
/// signature cancels, time, suspension, member removal, emergency access), keeping ghost state of
/// what must hold. Its actions never revert, except on a broken expectation (the invariant run
/// has failOnRevert on); e.g. a replayed signature that works reverts the handler.
contract ConsentHandler is ConsentFixture {
    uint256 public constant RING = 8;

    /// @dev A use that passed when it was granted: patient index, organization index, purpose, category.
    struct Use {
        uint8 patient;
        uint8 org;
        uint64 purpose;
        uint8 category;
    }

    Use[RING] internal _ring;
    uint256 public ringCount;

    mapping(address patient => uint32) public ghostEpoch;
    mapping(address patient => uint64) public ghostNonce;
    mapping(address patient => uint64) public ghostRevocationNonce;
    /// @dev Whether a grant or emergency access was made since the patient's last revoke-all.
    mapping(address patient => bool) public liveSinceRevokeAll;
    /// @dev The latest expiry of any grant or emergency access of the patient.
    mapping(address patient => uint256) public lastExpiry;
    mapping(address org => bool) public ghostSuspended;
    mapping(address member => bool) public ghostRemoved;
    /// @dev When each grant was last revoked directly (its marker's time).
    mapping(bytes32 grantId => uint256) public ghostRevokedAt;
    /// @dev How many times each action ran to its effect (coverage of the run).
    uint256[12] public actionCounts;

    constructor() {
        setUp();
    }

    function registryUnderTest() external view returns (ConsentRegistry) {
        return registry;
    }

    function ring(uint256 i) external view returns (Use memory) {
        return _ring[i];
    }

    // ------------------------------------------------------------------ actions

    function grant(
        uint8 p,
        uint64 raw,
        uint8 shape,
        uint8 orgPick,
        uint32 categories,
        uint40 fromRaw,
        uint40 expRaw
    ) external {
        address patient = patients[p % PATIENT_COUNT];
        uint64 gp = shape % 8 == 0 ? shapePurpose(raw, shape >> 3) : validPurpose(raw);
        uint256 org = orgPick % 16 == 0 ? (orgPick >> 4) % ORG_COUNT : orgFor(gp, orgPick >> 4);
        (uint40 validFrom, uint40 expiresAt) = shapeValidity(fromRaw, uint40(expRaw % 60 days), shape);
        uint32 cats = shapeCategories(categories, shape >> 5);
        if (!tryGrant(patient, orgs[org], cats, gp, validFrom, expiresAt)) return;
        granted(p % PATIENT_COUNT, org, gp, cats, expiresAt);
        ++actionCounts[0];
    }

    /// @dev A relayed signed grant, which must work, then must not work again.
    function grantBySig(uint8 p, uint64 raw, uint8 orgPick, uint32 categories, uint32 ttl, address relayer) external {
        uint256 pi = p % PATIENT_COUNT;
        address patient = patients[pi];
        uint64 gp = validPurpose(raw);
        uint256 org = orgFor(gp, orgPick);
        if (ghostSuspended[orgs[org]]) return;
        uint32 cats = shapeCategories(categories, 1);
        // The deadline as the sdk sets it: the window of the signature opens after the latest block.
        if (ghostRevokedAt[ConsentModel.grantId(patient, orgs[org], ConsentModel.grantScope(gp))] == block.timestamp) {
            vm.warp(block.timestamp + 1);
        }
        uint40 expiresAt = uint40(block.timestamp + 1 + (ttl % 60 days));
        uint256 deadline = block.timestamp + 1 days;
        uint64 nonce = nonceOf(patient);
        check(nonce == ghostNonce[patient], "nonce differs from the count of signatures used");
        bytes32 digest = digestOf(
            address(registry),
            grantStructHash(patient, orgs[org], cats, gp, 0, expiresAt, nonce, deadline)
        );
        bytes memory signature = signDigest(patientKeys[pi], digest);
        bytes memory data = abi.encodeCall(
            IConsentRegistry.grantBySig,
            (patient, orgs[org], cats, gp, 0, expiresAt, deadline, signature)
        );
        vm.prank(relayer);
        (bool ok, ) = address(registry).call(data);
        check(ok, "a valid grant signature was refused");
        ++ghostNonce[patient];
        vm.prank(relayer);
        (ok, ) = address(registry).call(data);
        check(!ok, "a grant signature worked twice");
        granted(pi, org, gp, cats, expiresAt);
        ++actionCounts[1];
    }

    /// @dev Revokes a recent grant (or, one time in four, a random scope, if granted) directly. A
    /// Grant signature of that consent made before, never sent, must not re-grant it afterwards
    /// (issue 11 item 6: a direct revoke moves no nonce; the grant's revocation marker voids it).
    function revoke(uint8 p, uint8 orgPick, uint8 codePick) external {
        uint256 pi = p % PATIENT_COUNT;
        address org = orgs[orgPick % ORG_COUNT];
        bytes32 scope = ConsentModel.purposeScope(uint8(1 + (codePick % ConsentCodes.MAX_PURPOSE)));
        if (ringCount != 0 && codePick % 4 != 0) {
            Use memory u = _ring[(codePick >> 2) % (ringCount < RING ? ringCount : RING)];
            (pi, org, scope) = (u.patient, orgs[u.org], ConsentModel.grantScope(u.purpose));
        }
        address patient = patients[pi];
        bytes32 id = ConsentModel.grantId(patient, org, scope);
        IConsentRegistry.Grant memory g = registry.getGrant(id);
        if (g.expiresAt == 0) return;
        uint256 deadline = block.timestamp + 1 days;
        bytes memory kept = signDigest(
            patientKeys[pi],
            digestOf(
                address(registry),
                grantStructHash(patient, org, g.categories, g.purpose, 0, g.expiresAt, nonceOf(patient), deadline)
            )
        );
        vm.prank(patient);
        registry.revoke(org, scope);
        ghostRevokedAt[id] = block.timestamp;
        vm.prank(address(0x4E1A));
        (bool ok, ) = address(registry).call(
            abi.encodeCall(
                IConsentRegistry.grantBySig,
                (patient, org, g.categories, g.purpose, 0, g.expiresAt, deadline, kept)
            )
        );
        check(!ok, "a Grant signed before a direct revoke re-granted the consent");
        checkEq(registry.getGrant(id).expiresAt, 0, "a revoked grant is back");
        ++actionCounts[2];
    }

    function revokeAll(uint8 p, bool bySignature) external {
        uint256 pi = p % PATIENT_COUNT;
        address patient = patients[pi];
        if (bySignature) {
            uint256 deadline = block.timestamp;
            uint64 nonce = revocationNonceOf(patient);
            checkEq(nonce, ghostRevocationNonce[patient], "revocation nonce differs from the count of revocations");
            bytes32 digest = digestOf(address(registry), revokeAllStructHash(patient, nonce, deadline));
            bytes memory signature = signDigest(patientKeys[pi], digest);
            registry.revokeAllBySig(patient, deadline, signature);
            (bool again, ) = address(registry).call(
                abi.encodeCall(IConsentRegistry.revokeAllBySig, (patient, deadline, signature))
            );
            check(!again, "a RevokeAll signature worked twice");
        } else {
            vm.prank(patient);
            registry.revokeAll();
        }
        // Every path of revoke-all moves both signature lanes (every outstanding signature is void).
        ++ghostNonce[patient];
        ++ghostRevocationNonce[patient];
        ++ghostEpoch[patient];
        liveSinceRevokeAll[patient] = false;
        ++actionCounts[3];
    }

    function cancelSignatures(uint8 p) external {
        address patient = patients[p % PATIENT_COUNT];
        vm.prank(patient);
        registry.cancelSignatures();
        ++ghostNonce[patient];
        ++ghostRevocationNonce[patient];
        ++actionCounts[4];
    }

    function warp(uint32 by) external {
        vm.warp(block.timestamp + (by % 20 days));
        ++actionCounts[5];
    }

    function toggleSuspension(uint8 orgPick) external {
        uint256 k = orgPick % ORG_COUNT;
        if (ghostSuspended[orgs[k]]) reinstate(k);
        else suspend(k);
        ghostSuspended[orgs[k]] = !ghostSuspended[orgs[k]];
        ++actionCounts[6];
    }

    function toggleMember(uint8 orgPick, uint8 rolePick, uint8 how) external {
        uint256 k = orgPick % ORG_COUNT;
        uint8 role = uint8(1 + (rolePick % ROLE_COUNT));
        address member = members[k][role - 1];
        if (!ghostRemoved[member]) {
            address admin = members[k][ConsentCodes.ROLE_ADMIN - 1];
            address remover =
                how % 3 == 0
                    ? orgs[k]
                    : how % 3 == 1 && !ghostRemoved[admin]
                        ? admin
                        : member;
            vm.prank(remover);
            registry.removeMember(orgs[k], member);
            ghostRemoved[member] = true;
            ++actionCounts[7];
        } else if (!ghostSuspended[orgs[k]]) {
            vm.prank(orgs[k]);
            registry.offerMembership(orgs[k], member, role);
            vm.prank(member);
            registry.acceptMembership(orgs[k], role);
            ghostRemoved[member] = false;
            ++actionCounts[8];
        }
    }

    function openEmergency(uint8 p, uint8 orgPick, uint16 reasonCode, uint40 duration) external {
        uint256 pi = p % PATIENT_COUNT;
        uint256 k = orgPick % 2;
        if (ghostSuspended[orgs[k]] || ghostRemoved[clinicianOf(k)]) return;
        uint40 until = tryOpenEmergency(
            patients[pi],
            k,
            uint16(1 + (reasonCode % 4)),
            uint40(15 minutes + (duration % (1 days - 15 minutes + 1)))
        );
        if (until == 0) return; // already open, or this organization's openings of the day for the patient are used up
        liveSinceRevokeAll[patients[pi]] = true;
        if (until > lastExpiry[patients[pi]]) lastExpiry[patients[pi]] = until;
        record(pi, k, ConsentCodes.ETREAT, uint8(reasonCode % ConsentCodes.CATEGORY_COUNT));
        ++actionCounts[9];
    }

    /// @dev Closes a recent emergency access (or a random one), if still open.
    function closeEmergency(uint8 p, uint8 orgPick) external {
        address patient = patients[p % PATIENT_COUNT];
        address org = orgs[orgPick % 2];
        if (ringCount != 0) {
            Use memory u = _ring[(orgPick >> 1) % (ringCount < RING ? ringCount : RING)];
            if (u.purpose == ConsentCodes.ETREAT) (patient, org) = (patients[u.patient], orgs[u.org]);
        }
        (uint40 until, , ) = registry.emergencyAccess(patient, org);
        if (until == 0) return;
        vm.prank(patient);
        registry.closeEmergencyAccess(patient, org);
        ++actionCounts[10];
    }

    // ------------------------------------------------------------------ ghosts

    function granted(uint256 pi, uint256 org, uint64 gp, uint32 cats, uint40 expiresAt) internal {
        address patient = patients[pi];
        liveSinceRevokeAll[patient] = true;
        if (expiresAt > lastExpiry[patient]) lastExpiry[patient] = expiresAt;
        record(pi, org, gp & ~uint64(0xff00), lowestCategory(cats));
    }

    function record(uint256 pi, uint256 org, uint64 purpose, uint8 category) internal {
        _ring[ringCount % RING] = Use(uint8(pi), uint8(org), purpose, category);
        ++ringCount;
    }
}

/// @notice Stateful fuzzing: random sequences of the handler's actions, with after each call the
/// check agreeing with the model on recent uses and the ghost properties: revoke-all voids
/// everything until a new grant, nothing passes after the last expiry, suspended organizations and
/// removed members never pass, epochs and nonces move exactly with revoke-alls and signatures.
contract ConsentRegistryInvariantTest is ConsentFixture {
    /// @dev forge-std's StdInvariant.FuzzSelector, read by the invariant runner.
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    ConsentHandler internal handler;

    function setUp() public override {
        initActors();
        handler = new ConsentHandler();
        registry = handler.registryUnderTest();
    }

    function targetContracts() public view returns (address[] memory list) {
        list = new address[](1);
        list[0] = address(handler);
    }

    function targetSelectors() public view returns (FuzzSelector[] memory list) {
        bytes4[] memory selectors = new bytes4[](11);
        selectors[0] = ConsentHandler.grant.selector;
        selectors[1] = ConsentHandler.grant.selector; // twice: grants are what the rest acts on
        selectors[2] = ConsentHandler.grantBySig.selector;
        selectors[3] = ConsentHandler.revoke.selector;
        selectors[4] = ConsentHandler.revokeAll.selector;
        selectors[5] = ConsentHandler.cancelSignatures.selector;
        selectors[6] = ConsentHandler.warp.selector;
        selectors[7] = ConsentHandler.toggleSuspension.selector;
        selectors[8] = ConsentHandler.toggleMember.selector;
        selectors[9] = ConsentHandler.openEmergency.selector;
        selectors[10] = ConsentHandler.closeEmergency.selector;
        list = new FuzzSelector[](1);
        list[0] = FuzzSelector(address(handler), selectors);
    }

    /// forge-config: default.invariant.runs = 24
    /// forge-config: default.invariant.depth = 40
    /// forge-config: default.invariant.failOnRevert = true
    function invariant_consentHolds() public view {
        uint256 recorded = handler.ringCount();
        uint256 n = recorded < handler.RING() ? recorded : handler.RING();
        for (uint256 p = 0; p < PATIENT_COUNT; ++p) {
            address patient = patients[p];
            (uint32 epoch, uint64 nonce) = registry.patientState(patient);
            checkEq(epoch, handler.ghostEpoch(patient), "epoch differs from the count of revoke-alls");
            checkEq(nonce, handler.ghostNonce(patient), "nonce differs from the count of signatures used");
            checkEq(
                registry.revocationNonce(patient),
                handler.ghostRevocationNonce(patient),
                "revocation nonce differs from the count of revocation signatures, revoke-alls and cancels"
            );
        }
        for (uint256 i = 0; i < n; ++i) {
            ConsentHandler.Use memory u = handler.ring(i);
            address patient = patients[u.patient];
            bool voided = !handler.liveSinceRevokeAll(patient) || block.timestamp >= handler.lastExpiry(patient);
            address[3] memory who = [
                orgs[u.org],
                members[u.org][ConsentCodes.requiredRole(uint8(u.purpose)) - 1],
                members[u.org][ConsentCodes.ROLE_ADMIN - 1]
            ];
            for (uint256 w = 0; w < who.length; ++w) {
                IConsentRegistry.Reason reason = checkAgainstModel(patient, who[w], u.category, u.purpose);
                bool passes = reason <= IConsentRegistry.Reason.EmergencyAccess;
                if (!passes) continue;
                check(!voided, "a use passes after revoke-all or after the last expiry");
                check(!handler.ghostSuspended(orgs[u.org]), "a suspended organization passes");
                check(!handler.ghostRemoved(who[w]), "a removed member passes");
                check(w < 2, "an ADMIN member passes");
            }
            // the same use by every removed member of any organization
            for (uint256 k = 0; k < ORG_COUNT; ++k) {
                for (uint256 r = 0; r < ROLE_COUNT; ++r) {
                    if (!handler.ghostRemoved(members[k][r])) continue;
                    (IConsentRegistry.Reason reason, , ) = registry.consentStatus(
                        patient,
                        members[k][r],
                        u.category,
                        u.purpose
                    );
                    checkEq(uint8(reason), uint8(IConsentRegistry.Reason.UnknownGrantee), "a removed member is known");
                }
            }
        }
    }

    /// @dev Not vacuous: the run reached the actions (checked at the end of each run). Every
    /// action the handler ran to its effect is counted (`actionCounts`); a run in which fewer than
    /// `MIN_SUCCESSFUL_CALLS` of its calls did so, or fewer than 3 kinds of action, fails — so a
    /// regression that makes the actions revert or return early cannot pass as "nothing broke".
    /// (Whether grants were recorded is not asserted per run: with organizations suspended at
    /// random, a run may rightly make none; the checks then test revoke-all, suspension and nonces.)
    function afterInvariant() public view {
        uint256 effective;
        uint256 succeeded;
        for (uint256 a = 0; a < 12; ++a) {
            uint256 count = handler.actionCounts(a);
            if (count != 0) ++effective;
            succeeded += count;
        }
        check(succeeded >= MIN_SUCCESSFUL_CALLS, "the run's actions hardly ever succeeded");
        check(effective >= 3, "the run reached fewer than 3 kinds of action");
    }

    /// @dev Of the 40 calls of a run (depth), at least this many must reach their effect (about
    /// 24 do on average: warp, suspension, revoke-all and cancel always do).
    uint256 internal constant MIN_SUCCESSFUL_CALLS = 8;
}
