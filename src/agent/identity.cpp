#include "agent/identity.h"

#include "core/keccak.h"

namespace openstreaming::agent {

Hash256 identity_digest(TlsSide side, const Hash256& tls_exporter) {
  static constexpr std::string_view kDomain = "openstreaming/identity/v1";
  const uint8_t side_byte = static_cast<uint8_t>(side);
  return core::Keccak256().update(as_bytes(kDomain)).update(ByteView(&side_byte, 1)).update(tls_exporter).finalize();
}

core::RecoverableSignature prove_identity(const core::PrivateKey& key, TlsSide side, const Hash256& tls_exporter) {
  return core::sign_hash(key, identity_digest(side, tls_exporter));
}

Result<core::Address> verify_identity(ByteView proof, TlsSide side, const Hash256& tls_exporter) {
  auto sig = core::RecoverableSignature::parse(proof);
  if (!sig) return sig.error();
  auto pub = core::recover_public_key(identity_digest(side, tls_exporter), *sig);
  if (!pub) return pub.error();
  return pub->address();
}

} // namespace openstreaming::agent
