// Web3 Secret Storage Definition, version 3 (the keystore format of geth,
// MetaMask exports, ethers, web3.py, ...).
//
// Pure transformation between JSON text and a PrivateKey: reading and writing
// files is the caller's job (platform/files.h), so the core stays free of I/O.
//
// Supported: cipher aes-128-ctr; kdf scrypt and pbkdf2 (prf hmac-sha256).
// MAC = keccak256(derived_key[16..32] ‖ ciphertext). Keys shorter than 32
// bytes (old geth files) are left-padded, as geth does.
//
// A keystore is untrusted input: KDF parameters are bounded so a hostile file
// cannot make us allocate gigabytes or spin for hours, and every defect is an
// Error naming what is wrong. A MAC mismatch is reported as a wrong password.
#pragma once

#include "core/address.h"
#include "core/random.h"
#include "core/result.h"
#include "core/secp256k1.h"

#include <string>
#include <string_view>

namespace openstreaming::core::keystore {

struct ScryptParams {
  uint64_t n = 262144; // 2^18, geth's "standard"
  uint32_t r = 8;
  uint32_t p = 1;
  static ScryptParams standard() { return {}; }
  // geth's --lightkdf: ~64x cheaper; for tests and throwaway dev keys.
  static ScryptParams light() { return {4096, 8, 6}; }
};

// Encrypts `key`. Salt, IV and the UUID are drawn from `random`.
std::string encrypt(const PrivateKey& key, std::string_view password, RandomSource& random,
                    const ScryptParams& params = ScryptParams::standard());

// Bounds on the KDF cost a keystore may ask for. The defaults admit every
// real-world wallet file (geth standard: 128*n*r*p = 2^28) with 16x headroom.
struct DecryptLimits {
  uint64_t max_scrypt_work = uint64_t{1} << 32; // 128 * n * r * p
  uint64_t max_pbkdf2_iterations = 10'000'000;
};

Result<PrivateKey> decrypt(std::string_view json_text, std::string_view password, const DecryptLimits& limits = {});

// The "address" field, if present and well formed (no decryption needed).
Result<Address> stated_address(std::string_view json_text);

} // namespace openstreaming::core::keystore
