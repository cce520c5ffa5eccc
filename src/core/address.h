// Ethereum addresses: the last 20 bytes of keccak256(X ‖ Y) of a public key,
// printed with the EIP-55 mixed-case checksum.
#pragma once

#include "core/bytes.h"
#include "core/result.h"

#include <compare>
#include <string>
#include <string_view>

namespace openstreaming::core {

class PublicKey;

class Address {
public:
  Address() = default;
  explicit Address(const FixedBytes<20>& bytes) : m_bytes(bytes) {}

  static Address from_public_key(const PublicKey& key);
  // Accepts "0x" + 40 hex digits. All-lowercase and all-uppercase are taken
  // as unchecksummed; mixed case must match EIP-55 exactly (Errc::bad_checksum).
  static Result<Address> parse(std::string_view text);

  const FixedBytes<20>& bytes() const { return m_bytes; }
  std::string to_checksum_hex() const; // EIP-55, 0x-prefixed
  std::string to_lower_hex() const;    // 0x-prefixed
  bool is_zero() const;

  auto operator<=>(const Address&) const = default;

private:
  FixedBytes<20> m_bytes{};
};

} // namespace openstreaming::core
