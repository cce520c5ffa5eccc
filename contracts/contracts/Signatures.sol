// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title Strict 65-byte ECDSA signatures, read from calldata
/// @notice The same rules as the C++ side's `RecoverableSignature::parse`
///         (src/core/secp256k1.h): exactly 65 bytes r ‖ s ‖ v, v in {27, 28},
///         r and s in [1, n), s <= n/2 (EIP-2 low-s). A signature that breaks a
///         rule is refused before recovery, so there is exactly one valid
///         encoding per signature (no malleability) and every signature the C++
///         signer produces is accepted.
library Signatures {
    /// secp256k1's group order n, and n/2.
    uint256 internal constant N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;
    uint256 internal constant HALF_N = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;

    /// @return ok    whether `sig` is a well-formed signature by the rules above
    /// @return signer the address that signed `digest` (address(0) when !ok or
    ///               when recovery fails)
    function recover(bytes32 digest, bytes calldata sig) internal pure returns (bool ok, address signer) {
        if (sig.length != 65) return (false, address(0));
        bytes32 r;
        bytes32 s;
        uint8 v;
        assembly ("memory-safe") {
            r := calldataload(sig.offset)
            s := calldataload(add(sig.offset, 32))
            v := byte(0, calldataload(add(sig.offset, 64)))
        }
        if (v != 27 && v != 28) return (false, address(0));
        if (uint256(r) == 0 || uint256(r) >= N || uint256(s) == 0 || uint256(s) > HALF_N) return (false, address(0));
        return (true, ecrecover(digest, v, r, s));
    }
}
