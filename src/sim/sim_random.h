// The simulator's own randomness (topology, keys, seeds, every frame's jitter
// and loss): std::mt19937_64, whose output the standard fixes, so a seed gives
// the same run everywhere; a draw costs nanoseconds where
// core::DeterministicRandom hashes (SHA-256) — it ran for every frame.
// Final, so the pieces that hold a SimRandom& draw without a virtual call.
#pragma once

#include "core/random.h"

#include <random>

namespace openstreaming::sim {

class SimRandom final : public core::RandomSource {
public:
  explicit SimRandom(uint64_t seed) : m_engine(seed) {}
  void fill(std::span<uint8_t> out) override {
    for (std::size_t i = 0; i < out.size(); i += 8) {
      uint64_t v = m_engine();
      for (std::size_t k = 0; k < 8 && i + k < out.size(); ++k) out[i + k] = static_cast<uint8_t>(v >> (8 * k));
    }
  }

private:
  std::mt19937_64 m_engine;
};

} // namespace openstreaming::sim
