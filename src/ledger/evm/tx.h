// Ethereum transactions: EIP-1559 (type 2, EIP-2718 envelope) and legacy
// EIP-155 transactions — what a wallet sends with eth_sendRawTransaction.
//
// Written by hand over our own RLP (rlp.h), Keccak (core/keccak.h) and
// secp256k1 (core/secp256k1.h): no Debian package offers Ethereum transaction
// encoding to C++. Pure functions, no I/O; signing is deterministic (RFC 6979),
// so a transaction and a key always give the same raw bytes.
//
// Type 2 (EIP-1559):
//   signing hash = keccak256(0x02 ‖ rlp([chainId, nonce, maxPriorityFeePerGas, maxFeePerGas,
//                                        gasLimit, to, value, data, accessList]))
//   raw          = 0x02 ‖ rlp([... the same nine ..., yParity, r, s])
//   hash         = keccak256(raw)
// `to` absent is a contract creation (the empty string); the access list is
// always encoded, as an empty list when there is none.
//
// Signatures are low-s (EIP-2) with yParity 0 or 1. decode_eip1559 reads raw
// bytes strictly (canonical RLP, exact field count, canonical integers, nonce and
// gas limit below 2^64 as EIP-2681 requires) but does not judge the signature;
// recover_sender does (r, s in range, s low, as every node does).
#pragma once

#include "core/address.h"
#include "core/amount.h"
#include "core/bytes.h"
#include "core/result.h"
#include "core/secp256k1.h"

#include <cstdint>
#include <optional>
#include <vector>

namespace openstreaming::ledger::evm {

using core::U256;

inline constexpr uint8_t kEip1559TxType = 0x02;

struct AccessListEntry {
  core::Address address;
  std::vector<Hash256> storage_keys;
  bool operator==(const AccessListEntry&) const = default;
};

struct Eip1559Transaction {
  U256 chain_id{0};
  uint64_t nonce = 0;
  U256 max_priority_fee_per_gas{0};
  U256 max_fee_per_gas{0};
  uint64_t gas_limit = 0;
  std::optional<core::Address> to; // none: contract creation
  U256 value{0};
  Bytes data;
  std::vector<AccessListEntry> access_list;
  bool operator==(const Eip1559Transaction&) const = default;
};

struct SignedEip1559Transaction {
  Eip1559Transaction tx;
  uint8_t y_parity = 0; // 0 or 1
  U256 r{0};
  U256 s{0};
  bool operator==(const SignedEip1559Transaction&) const = default;
};

// 0x02 ‖ rlp(the nine unsigned fields).
Bytes signing_payload(const Eip1559Transaction& tx);
Hash256 signing_hash(const Eip1559Transaction& tx);
SignedEip1559Transaction sign(const Eip1559Transaction& tx, const core::PrivateKey& key);
// The raw transaction for eth_sendRawTransaction.
Bytes encode(const SignedEip1559Transaction& signed_tx);
// keccak256(raw): the hash a node reports for it.
Hash256 transaction_hash(const SignedEip1559Transaction& signed_tx);
Result<SignedEip1559Transaction> decode_eip1559(ByteView raw);
// Checks r, s (in range, low s) and recovers the signer of signing_hash(tx).
Result<core::Address> recover_sender(const SignedEip1559Transaction& signed_tx);

// Legacy transactions. With chain_id set, EIP-155 replay protection:
//   signing hash = keccak256(rlp([nonce, gasPrice, gasLimit, to, value, data, chainId, 0, 0]))
//   v = chainId * 2 + 35 + yParity
// chain_id 0 is the pre-EIP-155 form (six fields hashed, v = 27 + yParity): valid
// on every chain at once, so only for reading old transactions and for tests.
struct LegacyTransaction {
  uint64_t nonce = 0;
  U256 gas_price{0};
  uint64_t gas_limit = 0;
  std::optional<core::Address> to;
  U256 value{0};
  Bytes data;
  U256 chain_id{0};
  bool operator==(const LegacyTransaction&) const = default;
};

struct SignedLegacyTransaction {
  LegacyTransaction tx;
  U256 v{0};
  U256 r{0};
  U256 s{0};
};

Hash256 signing_hash(const LegacyTransaction& tx);
SignedLegacyTransaction sign(const LegacyTransaction& tx, const core::PrivateKey& key);
Bytes encode(const SignedLegacyTransaction& signed_tx);

} // namespace openstreaming::ledger::evm
