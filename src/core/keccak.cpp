#include "core/keccak.h"

#include <bit>
#include <cstring>

namespace openstreaming::core {

namespace {
uint64_t load_le64(const uint8_t* p) {
  uint64_t v = 0;
  if constexpr (std::endian::native == std::endian::little) {
    std::memcpy(&v, p, 8);
  } else {
    for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  }
  return v;
}
} // namespace

void Keccak256::absorb_block(const uint8_t* block) {
  // Lanes are little-endian 64-bit words (FIPS 202 §B.1).
  for (std::size_t i = 0; i < kRate / 8; ++i) m_state.a[i] ^= load_le64(block + 8 * i);
  sha3_permute(&m_state);
}

Keccak256& Keccak256::update(ByteView data) {
  const uint8_t* p = data.data();
  std::size_t n = data.size();
  if (m_buffered > 0) {
    std::size_t take = std::min(n, kRate - m_buffered);
    std::memcpy(m_buffer + m_buffered, p, take);
    m_buffered += take;
    p += take;
    n -= take;
    if (m_buffered == kRate) {
      absorb_block(m_buffer);
      m_buffered = 0;
    }
  }
  while (n >= kRate) {
    absorb_block(p);
    p += kRate;
    n -= kRate;
  }
  if (n > 0) {
    std::memcpy(m_buffer, p, n);
    m_buffered = n;
  }
  return *this;
}

Hash256 Keccak256::finalize() {
  // Multi-rate padding: domain byte after the message, 0x80 in the last byte
  // of the block (the two combine when only one byte is free).
  std::memset(m_buffer + m_buffered, 0, kRate - m_buffered);
  m_buffer[m_buffered] ^= m_pad;
  m_buffer[kRate - 1] ^= 0x80;
  absorb_block(m_buffer);
  m_buffered = 0;
  Hash256 out;
  if constexpr (std::endian::native == std::endian::little) {
    std::memcpy(out.data(), m_state.a, out.size());
  } else {
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<uint8_t>(m_state.a[i / 8] >> (8 * (i % 8)));
  }
  return out;
}

Hash256 keccak256(ByteView data) { return Keccak256().update(data).finalize(); }

} // namespace openstreaming::core
