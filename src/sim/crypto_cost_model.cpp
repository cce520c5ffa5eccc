#include "sim/crypto_cost_model.h"

namespace openstreaming::sim {

// A token: r = the table key (big-endian, in its last 8 bytes), s = 1, v = 27 —
// a well-formed signature no key made, cheap to make and to read back.
core::RecoverableSignature CryptoCostModel::sign_state(const Hash256& digest, const core::Address& signer) {
  uint64_t token = m_next_token++;
  std::array<uint8_t, 65> b{};
  for (int i = 0; i < 8; ++i) b[31 - i] = static_cast<uint8_t>(token >> (8 * i));
  b[63] = 1;
  b[64] = 27;
  m_states[0].emplace(token, Signed{digest, signer});
  return *core::RecoverableSignature::parse(b); // well-formed by construction
}

Result<core::Address> CryptoCostModel::recover_state(const Hash256& digest,
                                                     const core::RecoverableSignature& token) const {
  const auto& b = token.bytes();
  uint64_t key = 0;
  for (int i = 0; i < 8; ++i) key |= static_cast<uint64_t>(b[31 - i]) << (8 * i);
  for (const auto& g : m_states) {
    auto it = g.find(key);
    if (it != g.end() && it->second.digest == digest) return it->second.signer;
  }
  return make_error(Errc::bad_signature, "not a signature of this state (crypto cost model)");
}

} // namespace openstreaming::sim
