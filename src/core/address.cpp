#include "core/address.h"

#include "core/hex.h"
#include "core/keccak.h"
#include "core/secp256k1.h"

#include <algorithm>
#include <cctype>
#include <cstring>

namespace openstreaming::core {

Address Address::from_public_key(const PublicKey& key) {
  Hash256 h = keccak256(key.xy());
  FixedBytes<20> out{};
  std::memcpy(out.data(), h.data() + 12, 20);
  return Address(out);
}

std::string Address::to_lower_hex() const { return to_hex(m_bytes); }

std::string Address::to_checksum_hex() const {
  std::string lower = to_hex(m_bytes, false);
  Hash256 h = keccak256(as_bytes(lower));
  std::string out = "0x";
  for (std::size_t i = 0; i < lower.size(); ++i) {
    char c = lower[i];
    uint8_t nib = (i % 2 == 0) ? (h[i / 2] >> 4) : (h[i / 2] & 0x0f);
    out += (std::isalpha(static_cast<unsigned char>(c)) && nib >= 8) ? static_cast<char>(std::toupper(c)) : c;
  }
  return out;
}

bool Address::is_zero() const {
  return std::all_of(m_bytes.begin(), m_bytes.end(), [](uint8_t b) { return b == 0; });
}

Result<Address> Address::parse(std::string_view text) {
  if (text.size() != 42 || text[0] != '0' || (text[1] != 'x' && text[1] != 'X')) {
    return make_error(Errc::invalid_input, "address must be 0x followed by 40 hex digits");
  }
  auto bytes = from_hex_fixed<20>(text);
  if (!bytes) return make_error(Errc::invalid_input, "address: " + bytes.error().message);
  Address addr(*bytes);
  std::string_view digits = text.substr(2);
  bool has_lower = std::any_of(digits.begin(), digits.end(), [](char c) { return c >= 'a' && c <= 'f'; });
  bool has_upper = std::any_of(digits.begin(), digits.end(), [](char c) { return c >= 'A' && c <= 'F'; });
  if (has_lower && has_upper && addr.to_checksum_hex().substr(2) != digits) {
    return make_error(Errc::bad_checksum, "address has mixed case but fails its EIP-55 checksum (a typo?)");
  }
  return addr;
}

} // namespace openstreaming::core
