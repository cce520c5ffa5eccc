// Keccak-256 as Ethereum uses it: the original Keccak submission's padding
// (domain byte 0x01), not FIPS-202 SHA3-256's 0x06.
//
// Written by hand on top of nettle's Keccak-f[1600] permutation because no
// Debian library exposes Ethereum's Keccak-256 (nettle only has FIPS SHA-3 and
// OpenSSL 3.0 has no KECCAK-256). Only the sponge (absorb, pad, squeeze) is
// ours; the permutation is nettle's.
#pragma once

#include "core/bytes.h"

#include <nettle/sha3.h>

namespace openstreaming::core {

// Incremental hasher. update() any number of times, then finalize() once.
class Keccak256 {
public:
  // rate = 1600 - 2*256 bits = 136 bytes.
  static constexpr std::size_t kRate = 136;

  // pad is the domain-separation byte: 0x01 for Keccak (default), 0x06 for
  // FIPS-202 SHA3-256. The latter exists so tests can cross-check the sponge
  // against nettle's own sha3_256 on multi-block inputs.
  explicit Keccak256(uint8_t pad = 0x01) : m_pad(pad) {}

  Keccak256& update(ByteView data);
  Hash256 finalize();

private:
  void absorb_block(const uint8_t* block);

  sha3_state m_state{}; // nettle's lanes, permuted in place
  uint8_t m_buffer[kRate]; // only the first m_buffered bytes are meaningful
  std::size_t m_buffered = 0;
  uint8_t m_pad;
};

Hash256 keccak256(ByteView data);

} // namespace openstreaming::core
