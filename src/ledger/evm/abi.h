// The Solidity contract ABI (docs.soliditylang.org, "Contract ABI Specification"):
// call data, return data, event topics and revert reasons.
//
// Written by hand: no Debian package offers the Solidity ABI to C++ (see rlp.h).
// Pure functions, no I/O.
//
// Types are parsed from their canonical text ("uint256", "(address,bytes)[]",
// "bytes32[3]"): elementary uintN/intN (N = 8..256, step 8), address, bool,
// bytesN (1..32), bytes, string; fixed arrays T[k], dynamic arrays T[] and tuples
// (T1,...,Tn), nested to any mix up to kMaxTypeDepth. `uint`/`int` are read as
// uint256/int256; selectors always hash the canonical form. fixedMxN and function
// types are not supported (Errc::unsupported).
//
// Encoding checks each value against its type (a uint8 above 255, a bytes4 of 3
// bytes, a missing tuple field are errors, never truncated).
//
// Decoding treats the data as hostile (return data and logs come from a chain
// node we do not control):
// - every offset and length is checked against the data before it is followed or
//   anything is allocated; offsets are relative to the enclosing tuple's start, as
//   the spec says, and may point anywhere inside the data after it;
// - values must be clean: uintN/address/bool with zero high bits (bool 0 or 1),
//   intN sign-extended, bytesN zero-padded — the checks Solidity's own decoder
//   makes, so a value has one meaning;
// - the work and memory are linear in the data's size: each decoded word and each
//   byte of bytes/string is charged against a budget of data.size() bytes, so
//   offsets that point many elements at one region (a decoding "zip bomb") fail
//   with Errc::overflow instead of expanding; an honest, non-overlapping encoding
//   always fits. The output then holds at most depth() Values (each <= 96 bytes)
//   per 32 bytes of data, plus the payload bytes. Recursion is bounded by the
//   type's depth (kMaxTypeDepth), never by the data.
// Trailing bytes after the encoded values are ignored, as by Solidity and ethers.
#pragma once

#include "core/address.h"
#include "core/amount.h"
#include "core/bytes.h"
#include "core/result.h"

#include <boost/multiprecision/cpp_int.hpp>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace openstreaming::ledger::evm::abi {

using core::U256;
// Signed magnitude, so -2^255 (the least int256) is representable.
using I256 = boost::multiprecision::int256_t;
using Selector = FixedBytes<4>;

// Nesting of arrays and tuples in one type ("uint256[][]" is depth 3).
inline constexpr std::size_t kMaxTypeDepth = 16;

class Type {
public:
  enum class Kind : uint8_t { uint, sint, address, boolean, fixed_bytes, bytes, string, array, fixed_array, tuple };

  // Strict: no spaces, no parameter names; see the header comment for the grammar.
  static Result<Type> parse(std::string_view text);

  static Type uint(unsigned bits = 256);
  static Type sint(unsigned bits = 256);
  static Type address();
  static Type boolean();
  static Type fixed_bytes(unsigned size);
  static Type bytes();
  static Type string();
  static Type array(Type element);
  static Type fixed_array(Type element, std::size_t length);
  static Type tuple(std::vector<Type> components);

  Kind kind() const { return m_kind; }
  unsigned bits() const { return m_size; }                             // uint, sint
  unsigned byte_size() const { return m_size; }                        // fixed_bytes
  std::size_t length() const { return m_length; }                      // fixed_array
  const Type& element() const { return m_components.front(); }         // array, fixed_array
  const std::vector<Type>& components() const { return m_components; } // tuple

  bool is_dynamic() const { return m_dynamic; }
  // Bytes the value takes in its enclosing tuple's head: 32 if dynamic, else its
  // whole static encoding.
  std::size_t head_size() const { return m_head_size; }
  std::size_t depth() const { return m_depth; }
  // "uint256", "(address,bytes32)[]": the form selectors and topics hash.
  std::string canonical() const;

  bool operator==(const Type& o) const {
    return m_kind == o.m_kind && m_size == o.m_size && m_length == o.m_length && m_components == o.m_components;
  }

private:
  Type(Kind kind, unsigned size, std::size_t length, std::vector<Type> components);
  Kind m_kind = Kind::uint;
  unsigned m_size = 256;
  std::size_t m_length = 0;
  std::vector<Type> m_components;
  bool m_dynamic = false;
  std::size_t m_head_size = 32;
  std::size_t m_depth = 1;
};

// A value of some Type. Arrays and tuples are both lists; the type says which.
class Value {
public:
  enum class Kind : uint8_t { uint, sint, address, boolean, fixed_bytes, bytes, string, list };

  static Value uint(U256 v);
  static Value sint(I256 v);
  static Value address(const core::Address& a);
  static Value boolean(bool b);
  static Value fixed_bytes(ByteView b); // bytesN: exactly N bytes
  static Value fixed_bytes(const Hash256& h) { return fixed_bytes(ByteView(h)); }
  static Value bytes(Bytes b);
  static Value string(std::string s);
  static Value list(std::vector<Value> items);

  Kind kind() const { return m_kind; }
  // Accessors assert the kind: a decoded value's kind always follows its Type.
  const U256& as_uint() const;
  const I256& as_sint() const;
  const core::Address& as_address() const;
  bool as_bool() const;
  const Bytes& as_bytes() const; // fixed_bytes and bytes
  const std::string& as_string() const;
  const std::vector<Value>& as_list() const;
  // bytes32 (or any bytesN, right-padded with zeros) as a word.
  Hash256 as_word() const;

  bool operator==(const Value& o) const { return m_kind == o.m_kind && m_v == o.m_v; }

private:
  Kind m_kind = Kind::uint;
  std::variant<U256, I256, core::Address, bool, Bytes, std::string, std::vector<Value>> m_v;
};

// ---- Encoding --------------------------------------------------------------

// Solidity's abi.encode(value): the one-element tuple (value), so a dynamic value
// (bytes, string, T[], a dynamic tuple) starts with its offset, 0x20.
Result<Bytes> encode(const Type& type, const Value& value);
// enc((v1, ..., vn)): the arguments of a call or the values of a return.
Result<Bytes> encode(std::span<const Type> types, std::span<const Value> values);

// ---- Decoding --------------------------------------------------------------

// abi.decode(data, (T)): the inverse of encode(type, value).
Result<Value> decode(const Type& type, ByteView data);
Result<std::vector<Value>> decode(std::span<const Type> types, ByteView data);

// ---- Functions, events, errors ---------------------------------------------

// A function or custom error from its signature, e.g.
// "redeemWinningTickets((address,address,uint256,uint256,uint256,bytes32,uint256,bytes32)[],bytes[],uint256[])".
struct Function {
  std::string name;
  std::vector<Type> inputs;
  std::string signature; // canonical: name(type1,type2,...)
  Selector selector{};   // first 4 bytes of keccak256(signature)

  static Result<Function> parse(std::string_view signature);
  // selector ‖ enc((args...)).
  Result<Bytes> encode_call(std::span<const Value> args) const;
  // Checks the selector, then decodes the arguments.
  Result<std::vector<Value>> decode_call(ByteView calldata) const;
};

// keccak256 of the canonical text (also the event topic 0).
Hash256 signature_hash(std::string_view canonical_signature);
// The topic 0 of an event, from its signature (types canonicalised, no names or `indexed`).
Result<Hash256> event_topic(std::string_view event_signature);
// The topic of an indexed argument: its 32-byte encoding for a static elementary
// type; for bytes and string keccak256 of the raw bytes. Arrays and tuples, whose
// topic is the hash of a padded in-place encoding, are Errc::unsupported.
Result<Hash256> indexed_topic(const Type& type, const Value& value);

// Why a call reverted, decoded from its return data.
struct Revert {
  enum class Kind : uint8_t {
    empty,        // no data (require(false), out of gas, a revert without reason)
    error_string, // Error(string), selector 0x08c379a0
    panic,        // Panic(uint256), selector 0x4e487b71
    custom,       // one of the custom errors given to decode_revert
    unknown,      // some other selector (or fewer than 4 bytes): raw data kept
  };
  Kind kind = Kind::empty;
  std::string reason;           // error_string
  U256 panic_code{0};           // panic
  Selector selector{};          // the first 4 bytes, when there are 4
  std::string error_signature;  // custom
  std::vector<Value> arguments; // custom
  Bytes data;                   // the whole return data
};

inline constexpr Selector kErrorSelector{0x08, 0xc3, 0x79, 0xa0};
inline constexpr Selector kPanicSelector{0x4e, 0x48, 0x7b, 0x71};

// A malformed payload behind a known selector (Error, Panic or a listed custom
// error) is an error; an unknown selector is Kind::unknown, not an error.
Result<Revert> decode_revert(ByteView data, std::span<const Function> custom_errors = {});
// What the compiler means by a panic code ("arithmetic overflow or underflow").
std::string panic_description(const U256& code);
// One line for logs: "reverted: not enough funds", "panic 0x11 (...)", "Custom(…)".
// Chain-supplied text is cut at 256 characters and control characters become '?'.
std::string describe(const Revert& revert);

} // namespace openstreaming::ledger::evm::abi
