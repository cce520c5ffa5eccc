// Reading the EVM vector files (tests/vectors/*.json): integers as decimal or 0x
// strings, bytes as 0x hex, ABI values directed by their type. Test-only: a
// malformed vector file throws, which fails the test that read it.
#pragma once

#include "core/address.h"
#include "core/hex.h"
#include "ledger/evm/abi.h"
#include "ledger/evm/tx.h"
#include "support/vectors.h"

#include <nlohmann/json.hpp>

#include <stdexcept>
#include <string>

namespace openstreaming::ledger::evm::test {

using nlohmann::json;

inline json read_json(const std::string& name) {
  return json::parse(openstreaming::test::read_vector_file(name));
}

inline Bytes hex(std::string_view text) {
  auto b = core::from_hex(text);
  if (!b) throw std::runtime_error("bad hex in vector: " + std::string(text));
  return *b;
}

template <std::size_t N>
FixedBytes<N> hex_fixed(std::string_view text) {
  auto b = core::from_hex_fixed<N>(text);
  if (!b) throw std::runtime_error("bad hex in vector: " + std::string(text));
  return *b;
}

inline core::Address address(std::string_view text) {
  auto a = core::Address::parse(text);
  if (!a) throw std::runtime_error("bad address in vector: " + std::string(text) + ": " + a.error().message);
  return *a;
}

// Decimal or 0x hex; negative decimals for signed values.
template <class Int>
Int integer(const json& j) {
  if (j.is_number_integer()) return Int(j.get<int64_t>());
  std::string s = j.get<std::string>();
  if (s.starts_with("0x")) return Int(s); // boost parses the 0x prefix itself
  return Int(s);
}

inline U256 u256(const json& j) {
  return integer<U256>(j);
}

inline abi::Value abi_value(const abi::Type& type, const json& j) {
  using K = abi::Type::Kind;
  switch (type.kind()) {
  case K::uint:
    return abi::Value::uint(u256(j));
  case K::sint:
    return abi::Value::sint(integer<abi::I256>(j));
  case K::address:
    return abi::Value::address(address(j.get<std::string>()));
  case K::boolean:
    return abi::Value::boolean(j.get<bool>());
  case K::fixed_bytes:
    return abi::Value::fixed_bytes(hex(j.get<std::string>()));
  case K::bytes:
    return abi::Value::bytes(hex(j.get<std::string>()));
  case K::string:
    return abi::Value::string(j.get<std::string>());
  case K::array:
  case K::fixed_array: {
    std::vector<abi::Value> items;
    for (const auto& e : j) items.push_back(abi_value(type.element(), e));
    return abi::Value::list(std::move(items));
  }
  case K::tuple: {
    std::vector<abi::Value> items;
    for (std::size_t i = 0; i < type.components().size(); ++i)
      items.push_back(abi_value(type.components()[i], j.at(i)));
    return abi::Value::list(std::move(items));
  }
  }
  throw std::runtime_error("unknown type kind");
}

inline std::vector<abi::Value> abi_values(std::span<const abi::Type> types, const json& j) {
  std::vector<abi::Value> out;
  for (std::size_t i = 0; i < types.size(); ++i) out.push_back(abi_value(types[i], j.at(i)));
  return out;
}

// The field names of viem/ethers transaction objects; missing fields are zero/empty.
inline Eip1559Transaction eip1559_tx(const json& j) {
  Eip1559Transaction tx;
  tx.chain_id = u256(j.value("chainId", json("0")));
  tx.nonce = static_cast<uint64_t>(u256(j.value("nonce", json("0"))));
  tx.max_priority_fee_per_gas = u256(j.value("maxPriorityFeePerGas", json("0")));
  tx.max_fee_per_gas = u256(j.value("maxFeePerGas", json("0")));
  tx.gas_limit = static_cast<uint64_t>(u256(j.value("gas", json("0"))));
  if (j.contains("to") && !j["to"].is_null()) tx.to = address(j["to"].get<std::string>());
  tx.value = u256(j.value("value", json("0")));
  tx.data = hex(j.value("data", std::string("0x")));
  for (const auto& e : j.value("accessList", json::array())) {
    AccessListEntry entry{address(e["address"].get<std::string>()), {}};
    for (const auto& k : e["storageKeys"]) entry.storage_keys.push_back(hex_fixed<32>(k.get<std::string>()));
    tx.access_list.push_back(std::move(entry));
  }
  return tx;
}

inline LegacyTransaction legacy_tx(const json& j) {
  LegacyTransaction tx;
  tx.nonce = static_cast<uint64_t>(u256(j.value("nonce", json("0"))));
  tx.gas_price = u256(j.value("gasPrice", json("0")));
  tx.gas_limit = static_cast<uint64_t>(u256(j.value("gas", json("0"))));
  if (j.contains("to") && !j["to"].is_null()) tx.to = address(j["to"].get<std::string>());
  tx.value = u256(j.value("value", json("0")));
  tx.data = hex(j.value("data", std::string("0x")));
  tx.chain_id = u256(j.value("chainId", json("0")));
  return tx;
}

inline core::PrivateKey private_key(const json& j) {
  auto key = core::PrivateKey::from_bytes(hex(j.get<std::string>()));
  if (!key) throw std::runtime_error("bad private key in vector");
  return *key;
}

} // namespace openstreaming::ledger::evm::test
