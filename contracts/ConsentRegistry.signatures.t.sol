// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ConsentRegistry} from "./ConsentRegistry.sol";
import {IConsentRegistry} from "./interfaces/IConsentRegistry.sol";
import {ConsentCodes} from "./libraries/ConsentCodes.sol";
import {ConsentFixture} from "./test/ConsentFixture.sol";
import {ConsentModel} from "./test/ConsentModel.sol";
import {SignerWallet} from "./test/SignerWallet.sol";

/// @notice The EIP-712 signed actions: the digest the test computes from the type strings is the
/// one the registry checks; a signature works once, on its chain and registry only, for exactly
/// what was signed, by the patient (EOA or ERC-1271 wallet) only, until its deadline.
contract ConsentRegistrySignaturesTest is ConsentFixture {
    /// @dev The order of the secp256k1 group.
    uint256 internal constant SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;
    address internal constant RELAYER = address(0x4E1A);
    /// @dev Written out, not taken from the contract, so that the attack test compiles against
    /// the registry from before the fix too.
    uint256 internal constant GRANT_SIGNATURE_LIFETIME = 1 days;
    bytes4 internal constant SIGNED_BEFORE_REVOCATION = bytes4(
        keccak256("ConsentRegistrySignedBeforeRevocation(bytes32,uint40)")
    );

    struct GrantArgs {
        address grantee;
        uint32 categories;
        uint64 purpose;
        uint40 validFrom;
        uint40 expiresAt;
        uint256 deadline;
    }

    function test_domainSeparatorAndTypehashes() public view {
        checkEq(registry.domainSeparator(), domainSeparatorOf(address(registry)), "domainSeparator()");
        checkEq(registry.GRANT_TYPEHASH(), keccak256(bytes(GRANT_TYPE)), "GRANT_TYPEHASH");
        checkEq(registry.REVOKE_TYPEHASH(), keccak256(bytes(REVOKE_TYPE)), "REVOKE_TYPEHASH");
        checkEq(registry.REVOKE_ALL_TYPEHASH(), keccak256(bytes(REVOKE_ALL_TYPE)), "REVOKE_ALL_TYPEHASH");
        checkEq(
            registry.CANCEL_SIGNATURES_TYPEHASH(),
            keccak256(bytes(CANCEL_SIGNATURES_TYPE)),
            "CANCEL_SIGNATURES_TYPEHASH"
        );
        (
            bytes1 fields,
            string memory name,
            string memory version,
            uint256 chainId,
            address verifyingContract,
            bytes32 salt,
            uint256[] memory extensions
        ) = registry.eip712Domain();
        checkEq(uint8(fields), 0x0f, "ERC-5267 fields");
        checkEq(keccak256(bytes(name)), keccak256("Consentry ConsentRegistry"), "ERC-5267 name");
        checkEq(keccak256(bytes(version)), keccak256("1"), "ERC-5267 version");
        checkEq(chainId, chainIdNow(), "ERC-5267 chainId");
        checkEq(verifyingContract, address(registry), "ERC-5267 verifyingContract");
        checkEq(salt, bytes32(0), "ERC-5267 salt");
        checkEq(extensions.length, 0, "ERC-5267 extensions");
    }

    /// @dev The domain separator follows the chain id (no stale cache after a fork).
    function testFuzz_domainSeparatorFollowsChainId(uint64 otherChain) public {
        bytes32 here = registry.domainSeparator();
        uint256 original = chainIdNow();
        vm.chainId(otherChain);
        checkEq(registry.domainSeparator(), domainSeparatorOf(address(registry)), "domainSeparator() on another chain");
        check((otherChain == original) == (registry.domainSeparator() == here), "domain separator and chain id");
        vm.chainId(original);
        checkEq(registry.domainSeparator(), here, "domainSeparator() back on the original chain");
    }

    /// @dev A relayed grant signature works once: the grant is made (and passes), the nonce moves
    /// on by one, and the very same call then fails.
    function testFuzz_grantBySig_worksOnce(
        uint256 keySeed,
        uint64 purposeRaw,
        uint32 categoriesRaw,
        uint32 ttl,
        address relayer
    ) public {
        (uint256 key, address patient) = newPatient(keySeed);
        GrantArgs memory a = grantArgs(purposeRaw, categoriesRaw, ttl);
        bytes memory signature = signGrant(registry, key, patient, a, 0);

        (bool ok, bytes memory data) = relayGrant(registry, relayer, patient, a, signature);
        check(ok, "a valid grant signature was refused");
        bytes32 id = abi.decode(data, (bytes32));
        checkEq(id, ConsentModel.grantId(patient, a.grantee, ConsentModel.grantScope(a.purpose)), "grant id");
        checkEq(nonceOf(patient), 1, "nonce after a signed grant");
        uint64 use = a.purpose & ~uint64(0xff00); // without flags: the grant's restrictions bar none
        (bool allowed, uint40 until) = registry.mayUse(patient, a.grantee, use, lowestCategory(a.categories));
        check(allowed && until == a.expiresAt, "a signed grant does not pass");

        (ok, data) = relayGrant(registry, relayer, patient, a, signature);
        check(!ok, "a grant signature worked twice");
        checkEq(data, invalidSignature(patient, 1), "replayed grant signature");
        // nor after the grant is gone
        vm.prank(patient);
        registry.revoke(a.grantee, ConsentModel.grantScope(a.purpose));
        (ok, ) = relayGrant(registry, patient, patient, a, signature);
        check(!ok, "a grant signature worked again after a revoke");
        checkEq(nonceOf(patient), 1, "nonce after failed replays");
    }

    /// @dev A signature made for this chain fails on another chain id, and one made on another
    /// chain fails here; back on its own chain it works.
    function testFuzz_grantBySig_notOnAnotherChain(uint256 keySeed, uint64 purposeRaw, uint64 otherChain) public {
        uint256 original = chainIdNow();
        vm.assume(otherChain != original);
        (uint256 key, address patient) = newPatient(keySeed);
        GrantArgs memory a = grantArgs(purposeRaw, uint32(keySeed), uint32(keySeed >> 32));
        bytes memory here = signGrant(registry, key, patient, a, 0);

        vm.chainId(otherChain);
        bytes memory there = signGrant(registry, key, patient, a, 0);
        (bool ok, bytes memory data) = relayGrant(registry, RELAYER, patient, a, here);
        check(!ok, "a signature worked on another chain");
        checkEq(data, invalidSignature(patient, 0), "signature of another chain");

        vm.chainId(original);
        (ok, data) = relayGrant(registry, RELAYER, patient, a, there);
        check(!ok, "a signature made for another chain worked here");
        checkEq(data, invalidSignature(patient, 0), "signature made for another chain");
        (ok, ) = relayGrant(registry, RELAYER, patient, a, here);
        check(ok, "a signature failed on its own chain");
    }

    /// @dev A signature for one ConsentRegistry fails on another one (same chain, same organizations).
    function testFuzz_grantBySig_notOnAnotherRegistry(uint256 keySeed, uint64 purposeRaw) public {
        ConsentRegistry other = deployRegistry();
        (uint256 key, address patient) = newPatient(keySeed);
        GrantArgs memory a = grantArgs(purposeRaw, uint32(keySeed), uint32(keySeed >> 32));
        bytes memory forThis = signGrant(registry, key, patient, a, 0);
        bytes memory forOther = signGrant(other, key, patient, a, 0);

        (bool ok, bytes memory data) = relayGrant(other, RELAYER, patient, a, forThis);
        check(!ok, "a signature worked on another registry");
        checkEq(data, invalidSignature(patient, 0), "signature for another registry");
        (ok, data) = relayGrant(registry, RELAYER, patient, a, forOther);
        check(!ok, "a signature for another registry worked here");
        checkEq(data, invalidSignature(patient, 0), "signature for another registry");

        (ok, ) = relayGrant(registry, RELAYER, patient, a, forThis);
        check(ok, "a signature failed on its registry");
        (ok, ) = relayGrant(other, RELAYER, patient, a, forOther);
        check(ok, "a signature failed on its registry");
        (ok, ) = relayGrant(other, RELAYER, patient, a, forOther);
        check(!ok, "a signature worked twice on the other registry");
    }

    /// @dev Revoke, RevokeAll and CancelSignatures signatures each work once and move the revocation
    /// lane's nonce on by exactly one (revoke-all and cancel also the Grant lane's); a signature of
    /// one type is no signature of another.
    function testFuzz_signedActions_eachWorkOnce(uint256 keySeed, uint64 purposeRaw) public {
        (uint256 key, address patient) = newPatient(keySeed);
        GrantArgs memory a = grantArgs(purposeRaw, uint32(keySeed), uint32(keySeed >> 32));
        vm.prank(patient);
        registry.grant(a.grantee, a.categories, a.purpose, 0, a.expiresAt);
        uint256 deadline = block.timestamp + 1 hours;
        bytes32 scope = ConsentModel.grantScope(a.purpose);

        // Revoke
        bytes memory revokeSig = sign(key, revokeStructHash(patient, a.grantee, scope, 0, deadline));
        check(!call(abi.encodeCall(registry.revokeAllBySig, (patient, deadline, revokeSig))), "Revoke as RevokeAll");
        check(
            call(abi.encodeCall(registry.revokeBySig, (patient, a.grantee, scope, deadline, revokeSig))),
            "revokeBySig"
        );
        checkEq(revocationNonceOf(patient), 1, "revocation nonce after revokeBySig");
        checkEq(nonceOf(patient), 1, "a signed revocation left earlier Grant signatures valid");
        (bool allowed, ) = registry.mayUse(
            patient,
            a.grantee,
            a.purpose & ~uint64(0xff00),
            lowestCategory(a.categories)
        );
        check(!allowed, "a grant revoked by signature passes");
        vm.prank(patient);
        registry.grant(a.grantee, a.categories, a.purpose, 0, a.expiresAt);
        check(
            !call(abi.encodeCall(registry.revokeBySig, (patient, a.grantee, scope, deadline, revokeSig))),
            "a Revoke signature worked twice"
        );

        // RevokeAll
        bytes memory revokeAllSig = sign(key, revokeAllStructHash(patient, 1, deadline));
        check(
            !call(abi.encodeCall(registry.cancelSignaturesBySig, (patient, deadline, revokeAllSig))),
            "RevokeAll as Cancel"
        );
        check(call(abi.encodeCall(registry.revokeAllBySig, (patient, deadline, revokeAllSig))), "revokeAllBySig");
        checkEq(revocationNonceOf(patient), 2, "revocation nonce after revokeAllBySig");
        checkEq(nonceOf(patient), 2, "Grant nonce after revokeAllBySig");
        checkEq(epochOf(patient), 1, "epoch after revokeAllBySig");
        check(!call(abi.encodeCall(registry.revokeAllBySig, (patient, deadline, revokeAllSig))), "RevokeAll twice");
        checkEq(epochOf(patient), 1, "epoch after a replayed RevokeAll");

        // CancelSignatures
        bytes memory cancelSig = sign(key, cancelSignaturesStructHash(patient, 2, deadline));
        check(!call(abi.encodeCall(registry.revokeAllBySig, (patient, deadline, cancelSig))), "Cancel as RevokeAll");
        check(
            call(abi.encodeCall(registry.cancelSignaturesBySig, (patient, deadline, cancelSig))),
            "cancelSignaturesBySig"
        );
        checkEq(revocationNonceOf(patient), 3, "revocation nonce after cancelSignaturesBySig");
        checkEq(nonceOf(patient), 3, "Grant nonce after cancelSignaturesBySig");
        check(!call(abi.encodeCall(registry.cancelSignaturesBySig, (patient, deadline, cancelSig))), "Cancel twice");
        checkEq(revocationNonceOf(patient), 3, "nonce after a replayed CancelSignatures");
    }

    /// @dev Cancelling signatures (directly or by signature) voids every outstanding one.
    function testFuzz_cancelSignatures_voidsOutstanding(uint256 keySeed, uint64 purposeRaw, bool bySignature) public {
        (uint256 key, address patient) = newPatient(keySeed);
        GrantArgs memory a = grantArgs(purposeRaw, uint32(keySeed), uint32(keySeed >> 32));
        bytes memory grantSig = signGrant(registry, key, patient, a, 0);
        bytes memory revokeAllSig = sign(key, revokeAllStructHash(patient, 0, a.deadline));
        if (bySignature) {
            bytes memory cancelSig = sign(key, cancelSignaturesStructHash(patient, 0, a.deadline));
            check(call(abi.encodeCall(registry.cancelSignaturesBySig, (patient, a.deadline, cancelSig))), "cancel");
        } else {
            vm.prank(patient);
            registry.cancelSignatures();
        }
        checkEq(nonceOf(patient), 1, "nonce after cancel");
        checkEq(revocationNonceOf(patient), 1, "revocation nonce after cancel");
        (bool ok, bytes memory data) = relayGrant(registry, RELAYER, patient, a, grantSig);
        check(!ok, "a cancelled grant signature worked");
        checkEq(data, invalidSignature(patient, 1), "cancelled signature");
        check(
            !call(abi.encodeCall(registry.revokeAllBySig, (patient, a.deadline, revokeAllSig))),
            "cancelled RevokeAll"
        );
    }

    /// @dev A signature covers exactly what was signed: changing any field, or signing with another
    /// key, fails; so do malleated (high-s), compact (64-byte) and bad-v signatures.
    function testFuzz_grantBySig_onlyWhatWasSigned(
        uint256 keySeed,
        uint256 otherKeySeed,
        uint64 purposeRaw,
        uint8 field,
        uint256 noise
    ) public {
        (uint256 key, address patient) = newPatient(keySeed);
        GrantArgs memory a = grantArgs(purposeRaw, uint32(keySeed), uint32(keySeed >> 32));
        bytes memory signature = signGrant(registry, key, patient, a, 0);

        GrantArgs memory t = GrantArgs(a.grantee, a.categories, a.purpose, a.validFrom, a.expiresAt, a.deadline);
        address signer = patient;
        field %= 7;
        if (field == 0)
            t.grantee = orgs[(orgIndex(a.grantee) + 1 + (noise % 4)) % ORG_COUNT]; // another one
        else if (field == 1) t.categories = a.categories ^ uint32(uint256(1) << (noise % 10));
        else if (field == 2) t.purpose = a.purpose ^ uint64(uint256(1) << (noise % 64));
        else if (field == 3) t.validFrom = uint40(block.timestamp - 1 - (noise % 1 days));
        else if (field == 4) t.expiresAt = a.expiresAt + 1 + uint40(noise % 1 days);
        else if (field == 5) t.deadline = a.deadline + 1 + (noise % 1 days);
        else {
            (, signer) = newPatient(otherKeySeed);
            vm.assume(signer != patient);
        }
        (bool ok, bytes memory data) = relayGrant(registry, RELAYER, signer, t, signature);
        check(!ok, "a signature worked for something else than what was signed");
        checkEq(data, invalidSignature(signer, 0), "tampered signature");

        (, bytes32 r, bytes32 s, uint8 v) = split(signature);
        bytes memory malleated = abi.encodePacked(
            r,
            bytes32(SECP256K1_N - uint256(s)),
            v == 27 ? uint8(28) : uint8(27)
        );
        (ok, data) = relayGrant(registry, RELAYER, patient, a, malleated);
        check(!ok, "a high-s signature worked");
        checkEq(data, invalidSignature(patient, 0), "high-s signature");
        bytes32 vs = bytes32(uint256(s) | (uint256(v - 27) << 255));
        (ok, data) = relayGrant(registry, RELAYER, patient, a, abi.encodePacked(r, vs));
        check(!ok, "a compact (EIP-2098) signature worked");
        checkEq(data, invalidSignature(patient, 0), "compact signature");
        (ok, ) = relayGrant(registry, RELAYER, patient, a, abi.encodePacked(r, s, v - 27));
        check(!ok, "a signature with v in {0, 1} worked");

        (ok, ) = relayGrant(registry, RELAYER, patient, a, signature);
        check(ok, "the untouched signature failed");
    }

    /// @dev A signature works up to its deadline included, not after.
    function testFuzz_grantBySig_deadline(uint256 keySeed, uint64 purposeRaw, uint32 late) public {
        (uint256 key, address patient) = newPatient(keySeed);
        GrantArgs memory a = grantArgs(purposeRaw, uint32(keySeed), uint32(keySeed >> 32));
        a.expiresAt = uint40(a.deadline + 1 days);
        bytes memory signature = signGrant(registry, key, patient, a, 0);
        uint256 snapshot = vm.snapshotState();
        vm.warp(a.deadline + 1 + (late % 365 days));
        (bool ok, bytes memory data) = relayGrant(registry, RELAYER, patient, a, signature);
        check(!ok, "a signature worked after its deadline");
        checkEq(
            data,
            abi.encodeWithSelector(
                IConsentRegistry.ConsentRegistrySignatureExpired.selector,
                a.deadline,
                block.timestamp
            ),
            "expired signature"
        );
        vm.revertToState(snapshot);
        vm.warp(a.deadline);
        (ok, ) = relayGrant(registry, RELAYER, patient, a, signature);
        check(ok, "a signature failed at its deadline");
    }

    /// @dev Issue 11 item 6, the attack: the patient signs a Grant and never sends it, grants
    /// directly, then revokes directly (neither moves a nonce); a relayer holding the old signature
    /// submits it. It must not recreate the grant. A signature made after the revocation, its
    /// deadline set as the sdk sets it (the chain's latest block + lifetime + 1 s), re-grants.
    function testFuzz_directRevokeVoidsEarlierGrantSignature(
        uint256 keySeed,
        uint64 purposeRaw,
        uint32 ttl,
        uint32 wait
    ) public {
        (uint256 key, address patient) = newPatient(keySeed);
        GrantArgs memory a = grantArgs(purposeRaw, uint32(keySeed), ttl);
        a.expiresAt = uint40(block.timestamp + 2 days + (ttl % 365 days));
        bytes memory signature = signGrant(registry, key, patient, a, 0);
        bytes32 scope = ConsentModel.grantScope(a.purpose);
        bytes32 id = ConsentModel.grantId(patient, a.grantee, scope);

        vm.startPrank(patient);
        registry.grant(a.grantee, a.categories, a.purpose, 0, a.expiresAt);
        vm.warp(block.timestamp + (wait % (a.deadline - block.timestamp + 1)));
        registry.revoke(a.grantee, scope);
        vm.stopPrank();
        uint256 revokedAt = block.timestamp;

        (bool ok, bytes memory data) = relayGrant(registry, RELAYER, patient, a, signature);
        check(!ok, "a Grant signed before a direct revoke re-granted the consent");
        checkEq(
            data,
            abi.encodeWithSelector(SIGNED_BEFORE_REVOCATION, id, uint40(revokedAt)),
            "grant signature older than the revocation"
        );
        checkEq(registry.getGrant(id).expiresAt, 0, "the revoked grant is back");
        checkEq(nonceOf(patient), 0, "a refused signature used a nonce");
        (bool allowed, ) = registry.mayUse(
            patient,
            a.grantee,
            a.purpose & ~uint64(0xff00),
            lowestCategory(a.categories)
        );
        check(!allowed, "the revoked consent passes a check");

        // A new signature, made after the revocation, works.
        // (block.timestamp, not `revokedAt`: via-IR may read TIMESTAMP again where a local is used)
        vm.warp(block.timestamp + 1);
        a.deadline = block.timestamp + GRANT_SIGNATURE_LIFETIME; // the revocation's time + 1 s + lifetime
        (ok, data) = relayGrant(registry, RELAYER, patient, a, signGrant(registry, key, patient, a, 0));
        check(ok, "a Grant signed after the revocation was refused");
        checkEq(data, abi.encode(id), "grant id of the re-grant");
        checkEq(registry.getGrant(id).expiresAt, a.expiresAt, "re-grant onto a revoked grant");
    }

    /// @dev A Grant signature is usable only in the lifetime before its deadline: not earlier.
    function testFuzz_grantBySig_usableOnlyInItsLastLifetime(uint256 keySeed, uint64 purposeRaw, uint32 ahead) public {
        (uint256 key, address patient) = newPatient(keySeed);
        GrantArgs memory a = grantArgs(purposeRaw, uint32(keySeed), uint32(keySeed >> 32));
        a.deadline = block.timestamp + GRANT_SIGNATURE_LIFETIME + 1 + (ahead % 365 days);
        a.expiresAt = uint40(a.deadline + 1 days);
        bytes memory signature = signGrant(registry, key, patient, a, 0);
        (bool ok, bytes memory data) = relayGrant(registry, RELAYER, patient, a, signature);
        check(!ok, "a Grant signature worked before its window");
        checkEq(
            data,
            abi.encodeWithSelector(
                bytes4(keccak256("ConsentRegistrySignatureNotYetUsable(uint256,uint256)")),
                a.deadline,
                a.deadline - GRANT_SIGNATURE_LIFETIME
            ),
            "signature before its window"
        );
        vm.warp(a.deadline - GRANT_SIGNATURE_LIFETIME);
        (ok, ) = relayGrant(registry, RELAYER, patient, a, signature);
        check(ok, "a Grant signature failed when its window opened");
    }

    /// @dev An ERC-1271 wallet patient: its owner's signature works once, and only for this wallet.
    function testFuzz_grantBySig_contractWallet(uint256 keySeed, uint64 purposeRaw) public {
        (uint256 key, address owner) = newPatient(keySeed);
        address wallet = address(new SignerWallet(owner));
        GrantArgs memory a = grantArgs(purposeRaw, uint32(keySeed), uint32(keySeed >> 32));
        bytes memory signature = signGrant(registry, key, wallet, a, 0);

        (bool ok, bytes memory data) = relayGrant(registry, RELAYER, owner, a, signature);
        check(!ok, "a wallet's signature worked for its owner");
        (ok, ) = relayGrant(registry, RELAYER, wallet, a, signature);
        check(ok, "a contract wallet's signature was refused");
        checkEq(nonceOf(wallet), 1, "wallet nonce");
        (ok, data) = relayGrant(registry, RELAYER, wallet, a, signature);
        check(!ok, "a contract wallet's signature worked twice");
        checkEq(data, invalidSignature(wallet, 1), "replayed wallet signature");
    }

    // ------------------------------------------------------------------ helpers

    function newPatient(uint256 keySeed) internal pure returns (uint256 key, address patient) {
        key = bound(keySeed, 1, SECP256K1_N - 1);
        patient = vm.addr(key);
    }

    /// @dev A well-formed grant to an organization of the right kind, valid from now, with a deadline.
    function grantArgs(uint64 purposeRaw, uint32 categoriesRaw, uint32 ttl) internal view returns (GrantArgs memory a) {
        a.purpose = validPurpose(purposeRaw);
        a.grantee = orgs[orgFor(a.purpose, purposeRaw >> 60)];
        a.categories = shapeCategories(categoriesRaw, 1);
        a.expiresAt = uint40(block.timestamp + 1 + (ttl % (5 * 365 days)));
        a.deadline = block.timestamp + 1 + (ttl % GRANT_SIGNATURE_LIFETIME);
    }

    function orgIndex(address org) internal view returns (uint256 i) {
        while (orgs[i] != org) ++i;
    }

    function signGrant(
        ConsentRegistry target,
        uint256 key,
        address patient,
        GrantArgs memory a,
        uint64 nonce
    ) internal view returns (bytes memory) {
        bytes32 structHash = grantStructHash(
            patient,
            a.grantee,
            a.categories,
            a.purpose,
            a.validFrom,
            a.expiresAt,
            nonce,
            a.deadline
        );
        return signDigest(key, digestOf(address(target), structHash));
    }

    function sign(uint256 key, bytes32 structHash) internal view returns (bytes memory) {
        return signDigest(key, digestOf(address(registry), structHash));
    }

    function relayGrant(
        ConsentRegistry target,
        address relayer,
        address patient,
        GrantArgs memory a,
        bytes memory signature
    ) internal returns (bool ok, bytes memory data) {
        vm.prank(relayer);
        (ok, data) = address(target).call(
            abi.encodeCall(
                IConsentRegistry.grantBySig,
                (patient, a.grantee, a.categories, a.purpose, a.validFrom, a.expiresAt, a.deadline, signature)
            )
        );
    }

    /// @dev A call to the registry by the relayer; whether it succeeded.
    function call(bytes memory data) internal returns (bool ok) {
        vm.prank(RELAYER);
        (ok, ) = address(registry).call(data);
    }

    function invalidSignature(address patient, uint64 nonce) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IConsentRegistry.ConsentRegistryInvalidSignature.selector, patient, nonce);
    }

    function split(bytes memory signature) internal pure returns (bool, bytes32 r, bytes32 s, uint8 v) {
        assembly ("memory-safe") {
            r := mload(add(signature, 0x20))
            s := mload(add(signature, 0x40))
            v := byte(0, mload(add(signature, 0x60)))
        }
        return (true, r, s, v);
    }
}
