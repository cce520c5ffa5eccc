// Money: unsigned 256-bit amounts of wei. Never floating point.
//
// Parsing is exact: "123" (wei), "20gwei", "1.5ether" (also "eth", "wei",
// optional space before the unit, unit case-insensitive). More decimals than
// the unit allows, a negative sign, exponents or a value >= 2^256 are errors.
// Arithmetic that can overflow or underflow goes through checked_* and
// returns Errc::overflow instead of wrapping.
#pragma once

#include "core/result.h"

#include <boost/multiprecision/cpp_int.hpp>

#include <compare>
#include <string>
#include <string_view>

namespace openstreaming::core {

using U256 = boost::multiprecision::uint256_t;

enum class Unit { wei, gwei, ether };

class Amount {
public:
  Amount() = default;
  explicit Amount(U256 wei) : m_wei(std::move(wei)) {}
  static Amount from_wei(uint64_t wei) { return Amount(U256(wei)); }

  static Result<Amount> parse(std::string_view text);
  // Strict decimal wei, as used in JSON APIs ("1500000000000000000").
  static Result<Amount> from_decimal_wei(std::string_view text);

  const U256& wei() const { return m_wei; }
  std::string to_wei_string() const;
  // "1.5ether", "20gwei", "7wei": exact, trailing zeros trimmed.
  std::string format(Unit unit) const;
  // The largest unit that keeps the value readable (ether >= 0.001 ether, gwei >= 1 gwei).
  std::string to_display() const;

  bool operator==(const Amount&) const = default;
  // Boost 1.74's multiprecision predates <=>, so the ordering is spelled out.
  std::strong_ordering operator<=>(const Amount& o) const {
    if (m_wei < o.m_wei) return std::strong_ordering::less;
    if (m_wei > o.m_wei) return std::strong_ordering::greater;
    return std::strong_ordering::equal;
  }

private:
  U256 m_wei{0};
};

Result<Amount> checked_add(const Amount& a, const Amount& b);
Result<Amount> checked_sub(const Amount& a, const Amount& b);
Result<Amount> checked_mul(const Amount& a, const U256& factor);
// floor(a * num / den) with a 512-bit intermediate; den must be non-zero.
Result<Amount> mul_div(const Amount& a, const U256& num, const U256& den);
// For running totals (metered value, earnings): a sum or product that would
// overflow stays at 2^256 - 1 instead of wrapping or resetting, so a counter
// never goes backwards.
Amount saturating_add(const Amount& a, const Amount& b);
Amount saturating_mul_div(const Amount& a, const U256& num, const U256& den);
bool saturated(const Amount& a); // == 2^256 - 1

// Big-endian 32-byte word (ABI / EIP-712 encoding of uint256).
std::array<uint8_t, 32> to_word(const U256& value);
U256 from_word(const std::array<uint8_t, 32>& word);

} // namespace openstreaming::core
