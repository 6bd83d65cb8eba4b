// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title ConsentCodes
/// @notice The vocabulary of Consentry, mirrored from `sdk/codes.ts` (a test proves both agree).
/// @dev Purposes are HL7 v3 PurposeOfUse codes, research uses GA4GH DUO codes. A purpose is a
/// `uint64`: bits 0-7 the code, bits 8-15 flags, bits 16-47 a disease code (DUO `DS` only).
/// On a grant the flags are DUO restrictions (bit 0 NCU: no commercial use, bit 1 NPU: not-for-
/// profit use only); on a use they describe the use (bit 0 commercial, bit 1 for-profit); a use
/// passes only if no restriction bit of the grant is set in the use.
/// Categories are FHIR R4 resource types as in SMART v2 scopes, one bit each in a `uint32`.
library ConsentCodes {
    // ---- Purposes of use (HL7 v3 ActReason / PurposeOfUse) ----
    uint8 internal constant TREAT = 1; // treatment
    uint8 internal constant ETREAT = 2; // emergency treatment (covered by TREAT)
    uint8 internal constant HPAYMT = 3; // healthcare payment
    uint8 internal constant HOPERAT = 4; // healthcare operations
    uint8 internal constant PUBHLTH = 5; // public health
    uint8 internal constant HRESCH = 6; // healthcare research: covers every research use below
    // ---- Research uses (GA4GH DUO), all of HL7 HRESCH ----
    uint8 internal constant GRU = 7; // DUO:0000042 general research use (covers HMB, DS)
    uint8 internal constant HMB = 8; // DUO:0000006 health/medical/biomedical research (covers DS)
    uint8 internal constant DS = 9; // DUO:0000007 disease-specific research (needs a disease code)
    uint8 internal constant MAX_PURPOSE = 9;

    // ---- DUO modifiers (purpose flags) ----
    uint8 internal constant FLAG_NCU = 1; // DUO:0000046 non-commercial use only / use is commercial
    uint8 internal constant FLAG_NPU = 2; // DUO:0000045 not-for-profit use only / use is for profit
    uint8 internal constant KNOWN_FLAGS = 3;

    // ---- Data categories (FHIR R4 resource types) ----
    uint8 internal constant CAT_PATIENT = 0;
    uint8 internal constant CAT_OBSERVATION = 1;
    uint8 internal constant CAT_CONDITION = 2;
    uint8 internal constant CAT_MEDICATION_REQUEST = 3;
    uint8 internal constant CAT_ALLERGY_INTOLERANCE = 4;
    uint8 internal constant CAT_IMMUNIZATION = 5;
    uint8 internal constant CAT_PROCEDURE = 6;
    uint8 internal constant CAT_DIAGNOSTIC_REPORT = 7;
    uint8 internal constant CAT_DOCUMENT_REFERENCE = 8;
    uint8 internal constant CAT_ENCOUNTER = 9;
    uint8 internal constant CATEGORY_COUNT = 10;
    uint32 internal constant ALL_CATEGORIES = uint32((1 << CATEGORY_COUNT) - 1);

    // ---- Organization kinds ----
    uint8 internal constant KIND_PROVIDER = 1;
    uint8 internal constant KIND_RESEARCHER = 2;
    uint8 internal constant KIND_PAYER = 3;
    uint8 internal constant KIND_PUBLIC_HEALTH = 4;
    uint8 internal constant MAX_KIND = 4;

    // ---- Member roles (ROLE_ORGANIZATION is the organization's own address) ----
    uint8 internal constant ROLE_ORGANIZATION = 0;
    uint8 internal constant ROLE_ADMIN = 1;
    uint8 internal constant ROLE_CLINICIAN = 2;
    uint8 internal constant ROLE_GATEWAY = 3;
    uint8 internal constant ROLE_ANALYST = 4;
    uint8 internal constant MAX_ROLE = 4;

    // ---- Break-glass reason codes ----
    uint16 internal constant EMERGENCY_UNCONSCIOUS = 1; // patient unconscious or unable to consent
    uint16 internal constant EMERGENCY_LIFE_THREATENING = 2; // life-threatening condition
    uint16 internal constant EMERGENCY_MEDICATION = 3; // urgent medication or allergy check
    uint16 internal constant EMERGENCY_OTHER = 4; // other documented clinical emergency
    uint16 internal constant MAX_EMERGENCY_REASON = 4;

    /// @notice The purpose code of `purpose` (its low byte).
    function code(uint64 purpose) internal pure returns (uint8) {
        return uint8(purpose);
    }

    /// @notice Whether `purpose` is well formed: a known code; flags only on research uses;
    /// a disease code exactly on DS; nothing above bit 47.
    function isValidPurpose(uint64 purpose) internal pure returns (bool) {
        uint8 c = uint8(purpose);
        if (c == 0 || c > MAX_PURPOSE || purpose >> 48 != 0) return false;
        uint8 f = uint8(purpose >> 8);
        if (f & ~KNOWN_FLAGS != 0 || (f != 0 && c < HRESCH)) return false;
        return (c == DS) == (uint32(purpose >> 16) != 0);
    }

    /// @notice The purpose code a grant must have to cover code `c`, next up the hierarchy
    /// (ETREAT -> TREAT; DS -> HMB -> GRU -> HRESCH), or 0 at the top.
    function parent(uint8 c) internal pure returns (uint8) {
        if (c == ETREAT) return TREAT;
        if (c == DS) return HMB;
        if (c == HMB) return GRU;
        if (c == GRU) return HRESCH;
        return 0;
    }

    /// @notice The organization kind that may receive grants of purpose code `c`.
    function requiredKind(uint8 c) internal pure returns (uint8) {
        if (c <= ETREAT || c == HOPERAT) return KIND_PROVIDER;
        if (c == HPAYMT) return KIND_PAYER;
        if (c == PUBHLTH) return KIND_PUBLIC_HEALTH;
        return KIND_RESEARCHER;
    }

    /// @notice The member role that may use purpose code `c`: clinicians for care, analysts otherwise.
    function requiredRole(uint8 c) internal pure returns (uint8) {
        return c <= ETREAT ? ROLE_CLINICIAN : ROLE_ANALYST;
    }

    /// @notice Whether a grant of `granted` covers a use of `used`, given that the grant's code is
    /// `used`'s code or one of its ancestors: the same disease for DS, and no restriction violated.
    function covers(uint64 granted, uint64 used) internal pure returns (bool) {
        if (uint8(granted) == DS && uint32(granted >> 16) != uint32(used >> 16)) return false;
        return uint8(granted >> 8) & uint8(used >> 8) == 0;
    }
}
