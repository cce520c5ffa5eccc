#include "core/random.h"

#include "core/hash.h"

#include <cstring>

namespace openstreaming::core {

uint64_t RandomSource::next_u64() {
  uint8_t buf[8];
  fill(buf);
  uint64_t v = 0;
  for (uint8_t b : buf) v = (v << 8) | b;
  return v;
}

uint64_t RandomSource::uniform(uint64_t bound) {
  // Rejection sampling: discard the top partial range so every value is equally likely.
  const uint64_t limit = UINT64_MAX - (UINT64_MAX % bound);
  for (;;) {
    uint64_t v = next_u64();
    if (v < limit) return v % bound;
  }
}

DeterministicRandom::DeterministicRandom(uint64_t seed) {
  uint8_t buf[8];
  for (int i = 0; i < 8; ++i) buf[i] = static_cast<uint8_t>(seed >> (56 - 8 * i));
  m_seed = sha256(buf);
}

void DeterministicRandom::fill(std::span<uint8_t> out) {
  std::size_t pos = 0;
  while (pos < out.size()) {
    if (m_used == m_block.size()) {
      uint8_t input[40];
      std::memcpy(input, m_seed.data(), 32);
      for (int i = 0; i < 8; ++i) input[32 + i] = static_cast<uint8_t>(m_counter >> (56 - 8 * i));
      ++m_counter;
      m_block = sha256(input);
      m_used = 0;
    }
    std::size_t n = std::min(out.size() - pos, m_block.size() - m_used);
    std::memcpy(out.data() + pos, m_block.data() + m_used, n);
    pos += n;
    m_used += n;
  }
}

} // namespace openstreaming::core
