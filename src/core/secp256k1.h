// secp256k1 keys and signatures over libsecp256k1.
//
// Two signature schemes:
// - Recoverable ECDSA as Ethereum uses it: 65 bytes r ‖ s ‖ v, RFC 6979
//   deterministic nonces, low-s only (EIP-2), v = 27 + recovery id.
// - BIP-340 Schnorr with x-only public keys (Nostr events, NIP-01).
//
// Thread safety: all functions are safe to call concurrently; they share one
// immutable libsecp256k1 context (randomize_context() must be called before
// threads start, if at all).
#pragma once

#include "core/bytes.h"
#include "core/random.h"
#include "core/result.h"

#include <string>

namespace openstreaming::core {

class Address;

// Uncompressed public key without the 0x04 prefix: X ‖ Y, 64 bytes.
class PublicKey {
public:
  // Accepts 33-byte compressed, 65-byte uncompressed (0x04 ‖ X ‖ Y), or 64-byte X ‖ Y.
  static Result<PublicKey> parse(ByteView bytes);

  const FixedBytes<64>& xy() const { return m_xy; }
  FixedBytes<65> uncompressed() const; // 0x04 ‖ X ‖ Y
  Address address() const;
  bool operator==(const PublicKey&) const = default;

private:
  FixedBytes<64> m_xy{};
};

using XOnlyPublicKey = FixedBytes<32>;
using SchnorrSignature = FixedBytes<64>;

class PrivateKey {
public:
  // Rejects zero and values >= the curve order.
  static Result<PrivateKey> from_bytes(ByteView secret);
  // Draws 32 bytes until they form a valid key (probability of a retry ~2^-128).
  static PrivateKey generate(RandomSource& random);

  PrivateKey(const PrivateKey&) = default;
  PrivateKey& operator=(const PrivateKey&) = default;
  ~PrivateKey();

  const Hash256& secret() const { return m_secret; }
  PublicKey public_key() const;
  XOnlyPublicKey xonly_public_key() const;
  Address address() const;

private:
  PrivateKey() = default;
  Hash256 m_secret{};
};

// 65-byte recoverable signature r ‖ s ‖ v with v in {27, 28}.
class RecoverableSignature {
public:
  // Strict parse of untrusted bytes: exactly 65 bytes, v in {27, 28},
  // r and s in [1, n), s <= n/2. Each failure says which rule it broke.
  static Result<RecoverableSignature> parse(ByteView bytes);
  static Result<RecoverableSignature> from_hex(std::string_view hex);

  const FixedBytes<65>& bytes() const { return m_bytes; }
  std::string to_hex() const;
  int recovery_id() const { return m_bytes[64] - 27; }
  bool operator==(const RecoverableSignature&) const = default;

private:
  friend RecoverableSignature sign_hash(const PrivateKey&, const Hash256&);
  FixedBytes<65> m_bytes{};
};

RecoverableSignature sign_hash(const PrivateKey& key, const Hash256& digest);
Result<PublicKey> recover_public_key(const Hash256& digest, const RecoverableSignature& signature);

// BIP-340. aux_rand is the auxiliary randomness of the BIP (pass fresh random
// bytes in production; the test vectors fix it).
SchnorrSignature schnorr_sign(const PrivateKey& key, const Hash256& message, const Hash256& aux_rand);
// Returns false for any invalid key, signature or mismatch; messages of any length.
bool schnorr_verify(const XOnlyPublicKey& key, ByteView message, const SchnorrSignature& signature);

// Optional side-channel hardening of the shared context (blinding). Call once
// at start-up, before other threads use the library.
void randomize_context(const Hash256& seed);

} // namespace openstreaming::core
