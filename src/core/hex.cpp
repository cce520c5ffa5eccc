#include "core/hex.h"

namespace openstreaming::core {

namespace {
int nibble(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
} // namespace

std::string to_hex(ByteView bytes, bool prefix) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2 + 2);
  if (prefix) out += "0x";
  for (uint8_t b : bytes) {
    out += kDigits[b >> 4];
    out += kDigits[b & 0xf];
  }
  return out;
}

Result<Bytes> from_hex(std::string_view text) {
  if (text.size() >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) text.remove_prefix(2);
  if (text.size() % 2 != 0) return make_error(Errc::invalid_input, "hex string has an odd number of digits");
  Bytes out(text.size() / 2);
  for (std::size_t i = 0; i < out.size(); ++i) {
    int hi = nibble(text[2 * i]);
    int lo = nibble(text[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return make_error(Errc::invalid_input, "invalid hex character at position " + std::to_string(2 * i + (hi < 0 ? 0 : 1)));
    }
    out[i] = static_cast<uint8_t>((hi << 4) | lo);
  }
  return out;
}

} // namespace openstreaming::core
