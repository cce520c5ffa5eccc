// RLP (Recursive Length Prefix), the serialisation of Ethereum transactions
// (Ethereum Yellow Paper, appendix B).
//
// Written by hand: no Debian package offers Ethereum's encodings (RLP, the
// Solidity ABI, typed transactions) to C++, and the rules are short. Pure
// functions: no I/O, no allocation beyond what the input or the value needs.
//
// Encoding is canonical by construction: integers are minimal big-endian (zero
// is the empty string), a single byte below 0x80 is its own encoding, and the
// short forms are used whenever the payload is shorter than 56 bytes.
//
// Decoding accepts only the canonical encoding, so every value has exactly one
// accepted byte string (a transaction's hash is then a function of its meaning):
// - a single byte below 0x80 wrapped as a one-byte string (0x81 0x00..0x7f) is rejected;
// - a long-form length below 56, or with a leading zero byte, is rejected;
// - every list's items must fill its payload exactly, and the top-level item the
//   whole input (no trailing bytes);
// - each length is checked against the bytes that remain before anything is
//   allocated, so a claimed length never allocates more than the input holds;
// - lists nest at most DecodeLimits::max_depth deep (recursion is bounded by it).
// Memory used by a decoded tree is linear in the input: the payload bytes (at most
// the input's size) plus one Item per item header (at most one per input byte).
// Integer readers (to_uint, to_u64) additionally reject leading zero bytes.
#pragma once

#include "core/amount.h"
#include "core/bytes.h"
#include "core/result.h"

#include <cstdint>
#include <span>
#include <vector>

namespace openstreaming::ledger::evm::rlp {

using core::U256;

// One RLP item: a byte string or a list of items.
class Item {
public:
  Item() = default; // the empty string
  static Item bytes(Bytes value);
  static Item bytes(ByteView value) { return bytes(Bytes(value.begin(), value.end())); }
  static Item list(std::vector<Item> items);
  // Minimal big-endian: 0 -> "", 1 -> 0x01, 1024 -> 0x0400.
  static Item uint(const U256& value);
  static Item uint(uint64_t value) { return uint(U256(value)); }

  bool is_list() const { return m_is_list; }
  bool is_bytes() const { return !m_is_list; }
  // Meaningful only for the matching kind (empty otherwise).
  const Bytes& payload() const { return m_bytes; }
  const std::vector<Item>& items() const { return m_items; }

  bool operator==(const Item&) const = default;

private:
  bool m_is_list = false;
  Bytes m_bytes;
  std::vector<Item> m_items;
};

// ---- Encoding --------------------------------------------------------------

Bytes encode(const Item& item);
// Appends the encoding to `out` (one buffer for a whole transaction).
void encode_to(const Item& item, Bytes& out);
Bytes encode_bytes(ByteView value);
Bytes encode_uint(const U256& value);
// A list header followed by already-encoded items.
Bytes encode_list(std::span<const Bytes> encoded_items);

// ---- Decoding --------------------------------------------------------------

struct DecodeLimits {
  // Nesting of lists; a type-2 transaction needs 4 (tx, access list, entry, keys).
  std::size_t max_depth = 16;
};

// Decodes exactly one canonical item that spans all of `input`.
Result<Item> decode(ByteView input, DecodeLimits limits = {});

// Readers of decoded items. `field` names the value in error messages.
// A canonical unsigned integer: a byte string of at most 32 bytes, no leading zero.
Result<U256> to_uint(const Item& item, std::string_view field);
// The same, at most 8 bytes (nonces and gas limits, EIP-2681).
Result<uint64_t> to_u64(const Item& item, std::string_view field);
// A byte string of exactly N bytes.
template <std::size_t N>
Result<FixedBytes<N>> to_fixed(const Item& item, std::string_view field);

} // namespace openstreaming::ledger::evm::rlp

namespace openstreaming::ledger::evm::rlp {

template <std::size_t N>
Result<FixedBytes<N>> to_fixed(const Item& item, std::string_view field) {
  if (item.is_list() || item.payload().size() != N) {
    return make_error(Errc::invalid_input,
                      std::string(field) + ": expected a byte string of " + std::to_string(N) + " bytes");
  }
  FixedBytes<N> out{};
  std::copy(item.payload().begin(), item.payload().end(), out.begin());
  return out;
}

} // namespace openstreaming::ledger::evm::rlp
