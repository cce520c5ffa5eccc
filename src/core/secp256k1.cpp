#include "core/secp256k1.h"

#include "core/address.h"
#include "core/hex.h"

#include <secp256k1.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_recovery.h>
#include <secp256k1_schnorrsig.h>

#include <openssl/crypto.h>

#include <cstdlib>
#include <cstring>

namespace openstreaming::core {

namespace {

secp256k1_context* context() {
  static secp256k1_context* ctx = secp256k1_context_create(SECP256K1_CONTEXT_SIGN | SECP256K1_CONTEXT_VERIFY);
  return ctx;
}

PublicKey from_lib(const secp256k1_pubkey& pk) {
  uint8_t out[65];
  size_t len = sizeof(out);
  secp256k1_ec_pubkey_serialize(context(), out, &len, &pk, SECP256K1_EC_UNCOMPRESSED);
  auto parsed = PublicKey::parse(ByteView(out, len));
  assert(parsed.ok());
  return *parsed;
}

} // namespace

Result<PublicKey> PublicKey::parse(ByteView bytes) {
  uint8_t buf[65];
  ByteView input = bytes;
  if (bytes.size() == 64) {
    buf[0] = 0x04;
    std::memcpy(buf + 1, bytes.data(), 64);
    input = ByteView(buf, 65);
  } else if (bytes.size() != 33 && bytes.size() != 65) {
    return make_error(Errc::bad_length, "public key must be 33, 64 or 65 bytes, got " + std::to_string(bytes.size()));
  }
  secp256k1_pubkey pk;
  if (!secp256k1_ec_pubkey_parse(context(), &pk, input.data(), input.size())) {
    return make_error(Errc::invalid_input, "public key is not a point on secp256k1");
  }
  uint8_t out[65];
  size_t len = sizeof(out);
  secp256k1_ec_pubkey_serialize(context(), out, &len, &pk, SECP256K1_EC_UNCOMPRESSED);
  PublicKey key;
  std::memcpy(key.m_xy.data(), out + 1, 64);
  return key;
}

FixedBytes<65> PublicKey::uncompressed() const {
  FixedBytes<65> out{};
  out[0] = 0x04;
  std::memcpy(out.data() + 1, m_xy.data(), 64);
  return out;
}

Address PublicKey::address() const { return Address::from_public_key(*this); }

Result<PrivateKey> PrivateKey::from_bytes(ByteView secret) {
  if (secret.size() != 32) {
    return make_error(Errc::bad_length, "private key must be 32 bytes, got " + std::to_string(secret.size()));
  }
  if (!secp256k1_ec_seckey_verify(context(), secret.data())) {
    return make_error(Errc::invalid_input, "private key is zero or not below the curve order");
  }
  PrivateKey key;
  std::memcpy(key.m_secret.data(), secret.data(), 32);
  return key;
}

PrivateKey PrivateKey::generate(RandomSource& random) {
  for (;;) {
    Hash256 candidate = random.bytes<32>();
    auto key = from_bytes(candidate);
    OPENSSL_cleanse(candidate.data(), candidate.size());
    if (key) return *key;
  }
}

PrivateKey::~PrivateKey() { OPENSSL_cleanse(m_secret.data(), m_secret.size()); }

PublicKey PrivateKey::public_key() const {
  secp256k1_pubkey pk;
  int ok = secp256k1_ec_pubkey_create(context(), &pk, m_secret.data());
  assert(ok); // the secret was validated on construction
  (void)ok;
  return from_lib(pk);
}

XOnlyPublicKey PrivateKey::xonly_public_key() const {
  secp256k1_keypair kp;
  int ok = secp256k1_keypair_create(context(), &kp, m_secret.data());
  assert(ok);
  secp256k1_xonly_pubkey xonly;
  ok = secp256k1_keypair_xonly_pub(context(), &xonly, nullptr, &kp);
  assert(ok);
  (void)ok;
  XOnlyPublicKey out{};
  secp256k1_xonly_pubkey_serialize(context(), out.data(), &xonly);
  return out;
}

Address PrivateKey::address() const { return public_key().address(); }

Result<RecoverableSignature> RecoverableSignature::parse(ByteView bytes) {
  if (bytes.size() != 65) {
    return make_error(Errc::bad_length, "signature must be 65 bytes (r ‖ s ‖ v), got " + std::to_string(bytes.size()));
  }
  uint8_t v = bytes[64];
  if (v != 27 && v != 28) {
    return make_error(Errc::bad_signature, "signature v must be 27 or 28, got " + std::to_string(v));
  }
  secp256k1_ecdsa_recoverable_signature rsig;
  if (!secp256k1_ecdsa_recoverable_signature_parse_compact(context(), &rsig, bytes.data(), v - 27)) {
    return make_error(Errc::bad_signature, "signature r or s is not below the curve order");
  }
  secp256k1_ecdsa_signature sig;
  secp256k1_ecdsa_recoverable_signature_convert(context(), &sig, &rsig);
  // normalize() returns 1 when the input had a high s: such signatures are
  // malleable and rejected (EIP-2), exactly as Ethereum does.
  if (secp256k1_ecdsa_signature_normalize(context(), nullptr, &sig)) {
    return make_error(Errc::bad_signature, "signature has a high s value (non-canonical; only low-s is accepted)");
  }
  RecoverableSignature out;
  std::memcpy(out.m_bytes.data(), bytes.data(), 65);
  return out;
}

Result<RecoverableSignature> RecoverableSignature::from_hex(std::string_view hex) {
  auto bytes = core::from_hex(hex);
  if (!bytes) return make_error(bytes.error().code, "signature: " + bytes.error().message);
  return parse(*bytes);
}

std::string RecoverableSignature::to_hex() const { return core::to_hex(m_bytes); }

RecoverableSignature sign_hash(const PrivateKey& key, const Hash256& digest) {
  secp256k1_ecdsa_recoverable_signature rsig;
  int ok = secp256k1_ecdsa_sign_recoverable(context(), &rsig, digest.data(), key.secret().data(), nullptr, nullptr);
  assert(ok); // only fails for an invalid key, which PrivateKey rules out
  (void)ok;
  RecoverableSignature out;
  int recid = 0;
  secp256k1_ecdsa_recoverable_signature_serialize_compact(context(), out.m_bytes.data(), &recid, &rsig);
  out.m_bytes[64] = static_cast<uint8_t>(27 + recid);
  return out;
}

Result<PublicKey> recover_public_key(const Hash256& digest, const RecoverableSignature& signature) {
  secp256k1_ecdsa_recoverable_signature rsig;
  if (!secp256k1_ecdsa_recoverable_signature_parse_compact(context(), &rsig, signature.bytes().data(),
                                                           signature.recovery_id())) {
    return make_error(Errc::bad_signature, "signature does not parse");
  }
  secp256k1_pubkey pk;
  if (!secp256k1_ecdsa_recover(context(), &pk, &rsig, digest.data())) {
    return make_error(Errc::bad_signature, "no public key recovers from this signature");
  }
  return from_lib(pk);
}

SchnorrSignature schnorr_sign(const PrivateKey& key, const Hash256& message, const Hash256& aux_rand) {
  secp256k1_keypair kp;
  int ok = secp256k1_keypair_create(context(), &kp, key.secret().data());
  assert(ok);
  SchnorrSignature sig{};
  ok = secp256k1_schnorrsig_sign32(context(), sig.data(), message.data(), &kp, aux_rand.data());
  assert(ok);
  (void)ok;
  OPENSSL_cleanse(&kp, sizeof(kp));
  return sig;
}

bool schnorr_verify(const XOnlyPublicKey& key, ByteView message, const SchnorrSignature& signature) {
  secp256k1_xonly_pubkey xonly;
  if (!secp256k1_xonly_pubkey_parse(context(), &xonly, key.data())) return false;
  return secp256k1_schnorrsig_verify(context(), signature.data(), message.data(), message.size(), &xonly) == 1;
}

void randomize_context(const Hash256& seed) {
  int ok = secp256k1_context_randomize(context(), seed.data());
  assert(ok);
  (void)ok;
}

} // namespace openstreaming::core
