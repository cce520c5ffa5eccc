// Randomness is an input. The core never opens a random device:
// callers pass a RandomSource. The live runtime passes an OS-backed CSPRNG
// (platform/system_random.h); tests and the simulator pass DeterministicRandom
// with a fixed seed so every run is reproducible.
#pragma once

#include "core/bytes.h"

#include <cstdint>
#include <span>

namespace openstreaming::core {

class RandomSource {
public:
  virtual ~RandomSource() = default;
  virtual void fill(std::span<uint8_t> out) = 0;

  uint64_t next_u64();
  // Uniform in [0, bound) without modulo bias; bound must be > 0.
  uint64_t uniform(uint64_t bound);
  template <std::size_t N>
  FixedBytes<N> bytes() {
    FixedBytes<N> out{};
    fill(out);
    return out;
  }
};

// SHA-256 in counter mode over a seed: deterministic, platform independent,
// and good enough for simulation and tests. Not for production keys.
class DeterministicRandom final : public RandomSource {
public:
  explicit DeterministicRandom(uint64_t seed);
  void fill(std::span<uint8_t> out) override;

private:
  Hash256 m_seed{};
  uint64_t m_counter = 0;
  Hash256 m_block{};
  std::size_t m_used = sizeof(Hash256);
};

} // namespace openstreaming::core
