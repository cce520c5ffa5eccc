// The crypto cost model (crypto = "cost-model"). Signed neighbour states are
// signed with a token instead of a curve signature: the token names an entry
// in this table (digest, signer), so "recovering" it is a lookup and a token
// that is not in the table, or names another digest, fails like a forged
// signature. Announcements are checked for real once per distinct signed
// bytes, a repeat answered from a table. Two generations of each, the older
// dropped on age(): a signed message is not delivered ~10 s after it was made.
// (Parts are checked by identity against the simulator's published originals:
// Measurement::is_original.)
#pragma once

#include "core/address.h"
#include "core/result.h"
#include "core/secp256k1.h"

#include <array>
#include <cstdint>
#include <string>
#include <unordered_map>

namespace openstreaming::sim {

class CryptoCostModel {
public:
  core::RecoverableSignature sign_state(const Hash256& digest, const core::Address& signer);
  Result<core::Address> recover_state(const Hash256& digest, const core::RecoverableSignature& token) const;
  // `check()`'s verdict on `key`, computed once per two generations.
  template <class F>
  bool event(const std::string& key, F&& check) {
    for (auto& g : m_events) {
      if (auto it = g.find(key); it != g.end()) return it->second;
    }
    bool ok = check();
    m_events[0].emplace(key, ok);
    return ok;
  }
  void age() {
    m_states[1] = std::move(m_states[0]);
    m_states[0].clear();
    m_events[1] = std::move(m_events[0]);
    m_events[0].clear();
  }

private:
  struct Signed {
    Hash256 digest;
    core::Address signer;
  };
  uint64_t m_next_token = 1;
  std::array<std::unordered_map<uint64_t, Signed>, 2> m_states;
  std::array<std::unordered_map<std::string, bool>, 2> m_events;
};

} // namespace openstreaming::sim
