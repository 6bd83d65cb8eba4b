// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IConsentRegistry} from "../interfaces/IConsentRegistry.sol";
import {ConsentCodes} from "./ConsentCodes.sol";

/// @title ConsentCheck
/// @notice The consent check that custodians run before any record leaves, on ConsentRegistry's
/// storage: `status` (behind `mayUse` and `consentStatus`), and `evaluate`, one grant's verdict on
/// a use (behind `scopeStatus`; `status` evaluates each grant it reads the same way, in assembly).
/// @dev `status` is one assembly block, so that it costs little more than its storage reads (the
/// gas budget of a check called from a contract is near the floor): the grantee's account (and
/// its organization's, for a member), the patient's state, the grant for the purpose and those of
/// the purposes that cover it, then an open emergency access for ETREAT. It mirrors
/// `ConsentCodes` (isValidPurpose, requiredKind, requiredRole, parent, covers);
/// `ConsentRegistry.t.sol` (differential fuzzing) and `ConsentRegistry.invariant.t.sol` check it,
/// through the registry, against `test/ConsentModel.sol`, the same check in plain Solidity on that
/// library. It reads ConsentRegistry's mappings at the slots it is given, in their packed layouts
/// (Solidity's own for the structs): Account = organization | role << 160 | kind << 168 |
/// status << 176 | notCommercial << 184; PatientState: epoch in bits 0-31; Grant = categories |
/// purpose << 32 | validFrom << 96 | expiresAt << 136 | epoch << 176, at the slot that is its id,
/// keccak256(abi.encode(patient, grantee, scope)); Emergency = expiresAt | clinician << 40 |
/// epoch << 200 (its reason commitment is in the next slot), keyed by
/// keccak256(abi.encode(patient, organization)).
library ConsentCheck {
    /// @dev The `IConsentRegistry.Reason` (as a number), until when the use is allowed (0 unless
    /// allowed) and the organization `grantee` acts for, of `grantee`'s use of `patient`'s data of
    /// `category` for `purpose` now. `accountsSlot`, `patientsSlot` and `emergenciesSlot` are the
    /// slots of the registry's `_accounts`, `_patients` and `_emergencies` mappings.
    function status(
        uint256 accountsSlot,
        uint256 patientsSlot,
        uint256 emergenciesSlot,
        address patient,
        address grantee,
        uint8 category,
        uint64 purpose
    ) internal view returns (uint256 r, uint256 e, uint256 o) {
        assembly ("memory-safe") {
            // ConsentCodes.isValidPurpose, negated: a code 1..9, nothing set in flag bits 2-7 or
            // above bit 47, flags only on research codes (>= HRESCH 6), a disease exactly on DS 9.
            function invalidPurpose(p) -> bad {
                let code := and(p, 0xff)
                bad := or(
                    or(and(p, not(0xffffffff03ff)), gt(sub(code, 1), 8)),
                    or(and(iszero(iszero(and(p, 0x300))), lt(code, 6)), xor(eq(code, 9), iszero(iszero(shr(16, p)))))
                )
            }
            // ConsentCodes.requiredKind as a byte table indexed by code 0..9:
            // TREAT, ETREAT, HOPERAT -> PROVIDER 1; HPAYMT -> PAYER 3; PUBHLTH -> PUBLIC_HEALTH 4;
            // research -> RESEARCHER 2
            function requiredKind(code) -> kind {
                kind := byte(code, 0x0001010301040202020200000000000000000000000000000000000000000000)
            }
            // ConsentCodes.parent as a byte table: ETREAT 2 -> TREAT 1, DS 9 -> HMB 8 -> GRU 7 -> HRESCH 6
            function parent(c) -> up {
                up := byte(c, 0x0000010000000006070800000000000000000000000000000000000000000000)
            }
            // `evaluate` on a packed Grant word; `used` is the purpose of the use
            function evaluateGrant(g, epoch, cat, used) -> res, until {
                if iszero(eq(and(shr(176, g), 0xffffffff), epoch)) {
                    res := 8 // RevokedByRevokeAll
                    leave
                }
                let gp := shr(32, g)
                // ConsentCodes.covers: the same disease for DS, no restriction flag in the use
                if or(
                    and(eq(and(gp, 0xff), 9), iszero(eq(and(shr(16, gp), 0xffffffff), and(shr(16, used), 0xffffffff)))),
                    and(and(shr(8, gp), shr(8, used)), 0xff)
                ) {
                    res := 12 // PurposeNotCovered
                    leave
                }
                if lt(timestamp(), and(shr(96, g), 0xffffffffff)) {
                    res := 9 // NotYetValid
                    leave
                }
                until := and(shr(136, g), 0xffffffffff)
                if iszero(lt(timestamp(), until)) {
                    res := 10 // Expired
                    until := 0
                    leave
                }
                if or(gt(cat, 9), iszero(and(shr(cat, g), 1))) {
                    res := 11 // CategoryNotGranted
                    until := 0
                }
            }
            function check(who, grantee_, cat, used, accounts, patients, emergencies) -> res, until, org {
                let account
                {
                    mstore(0x00, grantee_)
                    mstore(0x20, accounts)
                    account := sload(keccak256(0x00, 0x40))
                }
                org := and(account, 0xffffffffffffffffffffffffffffffffffffffff)
                if iszero(org) {
                    res := 2 // UnknownGrantee
                    leave
                }
                let orgWord := account
                if iszero(eq(org, grantee_)) {
                    mstore(0x00, org)
                    orgWord := sload(keccak256(0x00, 0x40))
                }
                if iszero(eq(and(shr(176, orgWord), 0xff), 1)) {
                    res := 3 // OrganizationSuspended (Status.Active == 1)
                    leave
                }
                if invalidPurpose(used) {
                    res := 6 // InvalidPurpose
                    leave
                }
                // The use's flags come from governance's record of the organization, never from
                // the requester: NCU/NPU bits its reads do NOT carry at bits 184-185 (none recorded:
                // commercial and for-profit).
                used := or(and(used, not(0xff00)), shl(8, and(not(shr(184, orgWord)), 3)))
                let code := and(used, 0xff)
                if iszero(eq(and(shr(168, orgWord), 0xff), requiredKind(code))) {
                    res := 4 // WrongOrganizationKind
                    leave
                }
                // ConsentCodes.requiredRole: CLINICIAN 2 for TREAT/ETREAT, ANALYST 4 otherwise
                if iszero(eq(org, grantee_)) {
                    if iszero(eq(and(shr(160, account), 0xff), add(2, shl(1, gt(code, 2))))) {
                        res := 5 // WrongMemberRole
                        leave
                    }
                }
                mstore(0x00, who)
                mstore(0x20, patients)
                let epoch := and(sload(keccak256(0x00, 0x40)), 0xffffffff)

                res := 7 // NoGrant
                let ptr := mload(0x40)
                mstore(ptr, who)
                mstore(add(ptr, 0x20), org)
                // The scope of the use's own level is its purpose without flags (with the disease
                // for DS, see `_purposeScope`); its ancestors' scopes are their codes.
                mstore(add(ptr, 0x40), and(used, 0xffffffff00ff))
                for {
                    let c := code
                } c {
                    c := parent(c)
                    mstore(add(ptr, 0x40), c)
                } {
                    let g := sload(keccak256(ptr, 0x60)) // the grant id is its slot
                    // categories 0: never granted, or revoked (a marker)
                    if and(g, 0xffffffff) {
                        let gr, gu := evaluateGrant(g, epoch, cat, used)
                        if iszero(gr) {
                            res := 0 // Allowed
                            until := gu
                            leave
                        }
                        if eq(res, 7) {
                            res := gr
                        }
                    }
                }
                // Emergency access covers every known category (and no unknown one) for ETREAT.
                if and(eq(code, 2), lt(cat, 10)) {
                    mstore(0x00, who)
                    mstore(0x20, org)
                    mstore(0x00, keccak256(0x00, 0x40))
                    mstore(0x20, emergencies)
                    let em := sload(keccak256(0x00, 0x40))
                    let emUntil := and(em, 0xffffffffff)
                    if and(gt(emUntil, timestamp()), eq(and(shr(200, em), 0xffffffff), epoch)) {
                        res := 1 // EmergencyAccess
                        until := emUntil
                    }
                }
            }
            // The arguments come ABI-decoded (validated clean) from calldata.
            r, e, o := check(patient, grantee, category, purpose, accountsSlot, patientsSlot, emergenciesSlot)
        }
    }

    /// @dev Evaluates a packed `Grant` word (categories | purpose << 32 | validFrom << 96 |
    /// expiresAt << 136 | epoch << 176) for a use now.
    function evaluate(
        uint256 g,
        uint256 epoch,
        uint8 category,
        uint64 used
    ) internal view returns (IConsentRegistry.Reason) {
        if (uint32(g >> 176) != epoch) return IConsentRegistry.Reason.RevokedByRevokeAll;
        if (!ConsentCodes.covers(uint64(g >> 32), used)) return IConsentRegistry.Reason.PurposeNotCovered;
        if (block.timestamp < uint40(g >> 96)) return IConsentRegistry.Reason.NotYetValid;
        if (block.timestamp >= uint40(g >> 136)) return IConsentRegistry.Reason.Expired;
        if (category >= ConsentCodes.CATEGORY_COUNT || (uint32(g) >> category) & 1 == 0) {
            return IConsentRegistry.Reason.CategoryNotGranted;
        }
        return IConsentRegistry.Reason.Allowed;
    }
}
