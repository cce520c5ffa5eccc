// Hex encoding. Decoding accepts an optional 0x/0X prefix and either case;
// odd length or a non-hex character is an error, never an assert.
#pragma once

#include "core/bytes.h"
#include "core/result.h"

#include <string>
#include <string_view>

namespace openstreaming::core {

std::string to_hex(ByteView bytes, bool prefix = true);
Result<Bytes> from_hex(std::string_view text);

// Decodes exactly N bytes; any other length is Errc::bad_length.
template <std::size_t N>
Result<FixedBytes<N>> from_hex_fixed(std::string_view text) {
  auto bytes = from_hex(text);
  if (!bytes) return bytes.error();
  if (bytes->size() != N) {
    return make_error(Errc::bad_length, "expected " + std::to_string(N) + " bytes of hex, got " +
                                            std::to_string(bytes->size()));
  }
  FixedBytes<N> out{};
  std::copy(bytes->begin(), bytes->end(), out.begin());
  return out;
}

} // namespace openstreaming::core
