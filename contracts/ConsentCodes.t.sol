// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ConsentCodes} from "./libraries/ConsentCodes.sol";
import {TestBase} from "./test/TestBase.sol";

/// @notice `ConsentCodes` against a straightforward spec of the vocabulary: purpose well-formedness,
/// the purpose hierarchy (parent), the kinds and roles, and what a grant covers (DS disease, DUO flags).
contract ConsentCodesTest is TestBase {
    // ------------------------------------------------------------------ the spec

    /// @dev A purpose is: bits 0-7 a code 1..9; bits 8-15 flags, only NCU (1) and NPU (2), and only
    /// on research codes (HRESCH 6, GRU 7, HMB 8, DS 9); bits 16-47 a disease code, non-zero on DS
    /// and zero on every other code; bits 48-63 zero.
    function specIsValidPurpose(uint64 p) internal pure returns (bool) {
        uint256 code = p & 0xff;
        uint256 flags = (p >> 8) & 0xff;
        uint256 disease = (p >> 16) & 0xffffffff;
        uint256 high = p >> 48;
        if (code < 1 || code > 9 || high != 0) return false;
        bool research = code >= 6;
        if (flags > 3 || (flags != 0 && !research)) return false;
        return code == 9 ? disease != 0 : disease == 0;
    }

    /// @dev A grant covers a use (given that its code is the use's or an ancestor's): a DS grant only
    /// the same disease; and no restriction flag of the grant set in the use.
    function specCovers(uint64 granted, uint64 used) internal pure returns (bool) {
        bool sameDisease = ((granted >> 16) & 0xffffffff) == ((used >> 16) & 0xffffffff);
        if (granted & 0xff == 9 && !sameDisease) return false;
        return ((granted >> 8) & 0xff) & ((used >> 8) & 0xff) == 0;
    }

    function compose(uint256 code, uint256 flags, uint256 disease, uint256 high) internal pure returns (uint64) {
        return uint64(code | (flags << 8) | (disease << 16) | (high << 48));
    }

    // ------------------------------------------------------------------ isValidPurpose

    function testFuzz_isValidPurpose_matchesSpec(uint64 p) public pure {
        checkEq(ConsentCodes.isValidPurpose(p), specIsValidPurpose(p), "isValidPurpose(any uint64)");
    }

    /// @dev The same with each field small (where the boundaries are) or raw.
    function testFuzz_isValidPurpose_matchesSpec_fields(
        uint8 code,
        uint8 flags,
        uint32 disease,
        uint16 high,
        uint8 mode
    ) public pure {
        uint256 c = mode & 1 == 0 ? code % 12 : code;
        uint256 f = mode & 2 == 0 ? flags % 5 : flags;
        uint256 d = mode & 4 == 0 ? disease % 3 : disease;
        uint256 h =
            mode & 8 == 0
                ? 0
                : mode & 16 == 0
                    ? high % 2
                    : high;
        uint64 p = compose(c, f, d, h);
        checkEq(ConsentCodes.isValidPurpose(p), specIsValidPurpose(p), "isValidPurpose(fields)");
    }

    function test_isValidPurpose_exhaustiveSmallFields() public pure {
        uint32[3] memory diseases = [uint32(0), 1, type(uint32).max];
        uint16[3] memory highs = [uint16(0), 1, 0x8000];
        for (uint256 c = 0; c < 16; ++c) {
            for (uint256 f = 0; f < 16; ++f) {
                for (uint256 d = 0; d < 3; ++d) {
                    for (uint256 h = 0; h < 3; ++h) {
                        uint64 p = compose(c, f, diseases[d], highs[h]);
                        checkEq(ConsentCodes.isValidPurpose(p), specIsValidPurpose(p), "isValidPurpose(small fields)");
                    }
                }
            }
        }
    }

    function test_isValidPurpose_examples() public pure {
        check(ConsentCodes.isValidPurpose(ConsentCodes.TREAT), "TREAT");
        check(ConsentCodes.isValidPurpose(ConsentCodes.ETREAT), "ETREAT");
        check(ConsentCodes.isValidPurpose(ConsentCodes.PUBHLTH), "PUBHLTH");
        check(ConsentCodes.isValidPurpose(compose(ConsentCodes.HRESCH, 3, 0, 0)), "HRESCH with NCU and NPU");
        check(ConsentCodes.isValidPurpose(compose(ConsentCodes.GRU, ConsentCodes.FLAG_NCU, 0, 0)), "GRU NCU");
        check(ConsentCodes.isValidPurpose(compose(ConsentCodes.DS, 0, 1, 0)), "DS disease 1");
        check(ConsentCodes.isValidPurpose(compose(ConsentCodes.DS, 2, type(uint32).max, 0)), "DS NPU max disease");
        check(!ConsentCodes.isValidPurpose(0), "code 0");
        check(!ConsentCodes.isValidPurpose(10), "code 10");
        check(!ConsentCodes.isValidPurpose(compose(ConsentCodes.TREAT, ConsentCodes.FLAG_NCU, 0, 0)), "TREAT NCU");
        check(!ConsentCodes.isValidPurpose(compose(ConsentCodes.PUBHLTH, ConsentCodes.FLAG_NPU, 0, 0)), "PUBHLTH NPU");
        check(!ConsentCodes.isValidPurpose(compose(ConsentCodes.GRU, 4, 0, 0)), "unknown flag");
        check(!ConsentCodes.isValidPurpose(compose(ConsentCodes.GRU, 0x80, 0, 0)), "unknown high flag");
        check(!ConsentCodes.isValidPurpose(ConsentCodes.DS), "DS without a disease");
        check(!ConsentCodes.isValidPurpose(compose(ConsentCodes.HMB, 0, 1, 0)), "disease on HMB");
        check(!ConsentCodes.isValidPurpose(compose(ConsentCodes.TREAT, 0, 0, 1)), "bit 48");
        check(!ConsentCodes.isValidPurpose(compose(ConsentCodes.DS, 0, 1, 0x8000)), "bit 63");
    }

    function testFuzz_code(uint64 p) public pure {
        checkEq(ConsentCodes.code(p), p & 0xff, "code");
    }

    // ------------------------------------------------------------------ hierarchy, kinds, roles

    /// @dev From any code, the parent chain strictly descends to 0 within MAX_PURPOSE steps, only
    /// known codes have parents, and kind and role stay the same up the chain (a grant for an
    /// ancestor is held by the same kind of organization and used by the same role).
    function test_parent_chainTerminates() public pure {
        for (uint256 c = 0; c < 256; ++c) checkChain(uint8(c));
    }

    function testFuzz_parent_chainTerminates(uint8 c) public pure {
        checkChain(c);
    }

    function checkChain(uint8 c) internal pure {
        uint8 x = c;
        uint256 steps;
        while (x != 0) {
            uint8 up = ConsentCodes.parent(x);
            if (up == 0) break;
            check(x >= 1 && x <= ConsentCodes.MAX_PURPOSE, "an unknown code has a parent");
            check(up < x, "the parent chain does not descend");
            checkEq(ConsentCodes.requiredKind(up), ConsentCodes.requiredKind(x), "kind changes up the chain");
            checkEq(ConsentCodes.requiredRole(up), ConsentCodes.requiredRole(x), "role changes up the chain");
            x = up;
            ++steps;
            check(steps <= ConsentCodes.MAX_PURPOSE, "the parent chain does not end");
        }
        if (c == 0 || c > ConsentCodes.MAX_PURPOSE) checkEq(ConsentCodes.parent(c), 0, "parent of an unknown code");
    }

    function test_parent_table() public pure {
        uint8[10] memory expected = [
            0,
            0,
            ConsentCodes.TREAT,
            0,
            0,
            0,
            0,
            ConsentCodes.HRESCH,
            ConsentCodes.GRU,
            ConsentCodes.HMB
        ];
        for (uint8 c = 0; c <= ConsentCodes.MAX_PURPOSE; ++c) checkEq(ConsentCodes.parent(c), expected[c], "parent");
    }

    function test_requiredKindAndRole_table() public pure {
        uint8 p = ConsentCodes.KIND_PROVIDER;
        uint8 r = ConsentCodes.KIND_RESEARCHER;
        uint8[10] memory kinds = [0, p, p, ConsentCodes.KIND_PAYER, p, ConsentCodes.KIND_PUBLIC_HEALTH, r, r, r, r];
        for (uint8 c = 1; c <= ConsentCodes.MAX_PURPOSE; ++c) {
            checkEq(ConsentCodes.requiredKind(c), kinds[c], "requiredKind");
            checkEq(
                ConsentCodes.requiredRole(c),
                c <= ConsentCodes.ETREAT ? ConsentCodes.ROLE_CLINICIAN : ConsentCodes.ROLE_ANALYST,
                "requiredRole"
            );
            check(
                ConsentCodes.requiredKind(c) != 0 && ConsentCodes.requiredKind(c) <= ConsentCodes.MAX_KIND,
                "kind range"
            );
        }
    }

    function test_constants() public pure {
        checkEq(ConsentCodes.MAX_PURPOSE, ConsentCodes.DS, "MAX_PURPOSE");
        checkEq(ConsentCodes.KNOWN_FLAGS, ConsentCodes.FLAG_NCU | ConsentCodes.FLAG_NPU, "KNOWN_FLAGS");
        checkEq(ConsentCodes.CATEGORY_COUNT, 10, "CATEGORY_COUNT");
        checkEq(ConsentCodes.ALL_CATEGORIES, 0x3ff, "ALL_CATEGORIES");
        checkEq(ConsentCodes.CAT_ENCOUNTER, ConsentCodes.CATEGORY_COUNT - 1, "last category");
        checkEq(ConsentCodes.MAX_ROLE, ConsentCodes.ROLE_ANALYST, "MAX_ROLE");
        checkEq(ConsentCodes.MAX_KIND, ConsentCodes.KIND_PUBLIC_HEALTH, "MAX_KIND");
        checkEq(ConsentCodes.MAX_EMERGENCY_REASON, ConsentCodes.EMERGENCY_OTHER, "MAX_EMERGENCY_REASON");
    }

    // ------------------------------------------------------------------ covers

    function testFuzz_covers_matchesSpec(uint64 granted, uint64 used) public pure {
        checkEq(ConsentCodes.covers(granted, used), specCovers(granted, used), "covers(any, any)");
    }

    /// @dev On well-formed research purposes: a DS grant covers a DS use only for the same disease
    /// and with no restricted flag; an HRESCH/GRU/HMB grant covers a DS use of any disease; an NCU
    /// grant never covers a commercial use, an NPU grant never a for-profit one; a grant without
    /// restrictions covers every use (of the same disease, for DS); dropping flags from a covered use
    /// keeps it covered.
    function testFuzz_covers_respectsDiseaseAndFlags(
        uint8 grantCode,
        uint8 grantFlags,
        uint32 grantDisease,
        uint8 useFlags,
        uint32 useDisease,
        uint8 dropped
    ) public pure {
        uint256 gc = ConsentCodes.HRESCH + (grantCode % 4);
        uint256 gf = grantFlags % 4;
        uint256 uf = useFlags % 4;
        uint32 gd = gc == ConsentCodes.DS ? (grantDisease == 0 ? 1 : grantDisease) : 0;
        uint32 ud = useDisease == 0 ? 1 : useDisease;
        if (grantCode & 0x80 != 0) ud = gd == 0 ? ud : gd; // often the same disease
        uint64 granted = compose(gc, gf, gd, 0);
        uint64 used = compose(ConsentCodes.DS, uf, ud, 0);
        check(
            ConsentCodes.isValidPurpose(granted) && ConsentCodes.isValidPurpose(used),
            "test purposes are well formed"
        );

        bool covered = ConsentCodes.covers(granted, used);
        if (gc == ConsentCodes.DS) checkEq(covered, gd == ud && gf & uf == 0, "DS grant");
        else checkEq(covered, gf & uf == 0, "HRESCH/GRU/HMB grant, any disease");
        if (gf & ConsentCodes.FLAG_NCU != 0 && uf & ConsentCodes.FLAG_NCU != 0)
            check(!covered, "NCU covered a commercial use");
        if (gf & ConsentCodes.FLAG_NPU != 0 && uf & ConsentCodes.FLAG_NPU != 0)
            check(!covered, "NPU covered a for-profit use");
        if (gf == 0 && (gc != ConsentCodes.DS || gd == ud)) check(covered, "an unrestricted grant did not cover");
        if (covered) {
            uint64 fewer = compose(ConsentCodes.DS, uf & dropped, ud, 0);
            check(ConsentCodes.covers(granted, fewer), "dropping flags from a covered use uncovered it");
        }
        // non-research grants carry no flags and no disease: they cover every use of their chain
        uint64 care = ConsentCodes.TREAT;
        check(ConsentCodes.covers(care, compose(ConsentCodes.ETREAT, 0, 0, 0)), "TREAT covers ETREAT");
    }
}
