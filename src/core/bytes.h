// Byte containers used across the core.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace openstreaming {

using Bytes = std::vector<uint8_t>;
using ByteView = std::span<const uint8_t>;
template <std::size_t N>
using FixedBytes = std::array<uint8_t, N>;
using Hash256 = FixedBytes<32>;

inline ByteView as_bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

} // namespace openstreaming
