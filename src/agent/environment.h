// What a node needs from its surroundings, and the deterministic one the
// simulator, the in-memory test network and the fuzzers share.
#pragma once

#include "core/random.h"
#include "core/time.h"

#include <cstdint>

namespace openstreaming::agent {

// Implemented by the live runtime (system clock, OS randomness) and by
// DeterministicEnvironment. Time is not here: it is a parameter of every input.
class Environment {
public:
  virtual ~Environment() = default;
  virtual core::RandomSource& random() = 0;
  // Unix time in milliseconds at monotonic time `now`: stamps parts at ingest and
  // measures glass-to-glass latency.
  virtual int64_t wall_clock_ms(Timestamp now) = 0;
};

// The one epoch rule of every deterministic driver: monotonic time is Unix
// time (wall_clock_ms(now) = now in ms), and drivers start their clock at
// kDeterministicEpoch, so a run's wall times are plausible dates and equal
// seeds give equal runs.
inline constexpr int64_t kDeterministicEpochUs = 1'700'000'000'000'000; // 2023-11-14
inline Timestamp deterministic_epoch() {
  return timestamp_from_us(kDeterministicEpochUs);
}

class DeterministicEnvironment final : public Environment {
public:
  explicit DeterministicEnvironment(uint64_t seed) : m_random(seed) {}
  core::RandomSource& random() override { return m_random; }
  int64_t wall_clock_ms(Timestamp now) override { return to_us(now) / 1000; }

private:
  core::DeterministicRandom m_random;
};

} // namespace openstreaming::agent
