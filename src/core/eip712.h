// EIP-712 typed structured data hashing.
//
// Two layers:
// - A general encoder for arbitrary typed data in the JSON shape used by
//   eth_signTypedData_v4 ({types, primaryType, domain, message}): structs,
//   nested structs, dynamic and fixed arrays, string, bytes, bytesN, bool,
//   address, uintN and intN. Values may be JSON numbers or decimal/0x strings.
// - Small helpers for fixed structs on hot paths (tickets, vouchers) that
//   build hashStruct from 32-byte words without JSON.
//
// All input is untrusted: every malformed type or value is an Errc::invalid_input
// with a message naming the field.
#pragma once

#include "core/address.h"
#include "core/amount.h"
#include "core/bytes.h"
#include "core/result.h"

#include <nlohmann/json.hpp>

#include <string>

namespace openstreaming::core::eip712 {

struct TypedData {
  nlohmann::json types;     // {"TypeName": [{"name": ..., "type": ...}, ...], ...}
  std::string primary_type; // the struct that `message` is
  nlohmann::json domain;    // EIP712Domain values
  nlohmann::json message;
};

Result<TypedData> parse_typed_data(const nlohmann::json& j);

// "Mail(Person from,Person to,string contents)Person(string name,address wallet)"
Result<std::string> encode_type(const nlohmann::json& types, const std::string& type);
Result<Hash256> type_hash(const nlohmann::json& types, const std::string& type);
Result<Hash256> hash_struct(const nlohmann::json& types, const std::string& type, const nlohmann::json& value);

// hashStruct(EIP712Domain, domain). If `types` has no EIP712Domain entry, the
// domain type is derived from the fields present, in the standard order
// (name, version, chainId, verifyingContract, salt).
Result<Hash256> domain_separator(const TypedData& data);
// keccak256(0x19 ‖ 0x01 ‖ domainSeparator ‖ hashStruct(message))
Result<Hash256> signing_hash(const TypedData& data);

// ---- Fixed-struct helpers -------------------------------------------------

Hash256 digest(const Hash256& domain_separator, const Hash256& struct_hash);
Hash256 word(const U256& v);
Hash256 word(const Address& a);
Hash256 word(bool b);

// Domain separator for {name, version, chainId, verifyingContract}.
Hash256 domain_separator(std::string_view name, std::string_view version, const U256& chain_id,
                         const Address& verifying_contract);

} // namespace openstreaming::core::eip712
