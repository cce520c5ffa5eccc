// A JSON-RPC client for any EVM node (eth_* methods; Anvil, geth, an L2's RPC):
// what the EVM ledger backend and `contracts deploy` build on (docs/ledger.md).
//
// One kept-alive connection (HttpConnection); every call ends within the
// client's timeout, answered or not. Everything the node says is untrusted:
// quantities are checked hex (at most 256 bits), hashes and data are checked
// hex of the right length, and a reverted call is an error carrying the decoded
// reason (Error(string), Panic(uint256), or the raw selector). Thread-safety:
// none; one thread uses a client.
//
// transact() never uses a hard-coded gas limit: eth_estimateGas plus a margin
// (a fixed limit breaks under gas spikes), fees from eth_feeHistory's next base
// fee and eth_maxPriorityFeePerGas, the nonce from the chain's pending count.
#pragma once

#include "api/http_client.h"
#include "core/address.h"
#include "core/amount.h"
#include "core/secp256k1.h"
#include "ledger/evm/abi.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace openstreaming::api {

using core::U256;

struct EvmLog {
  core::Address address;
  std::vector<Hash256> topics;
  Bytes data;
};

struct EvmReceipt {
  Hash256 transaction{};
  uint64_t block = 0;
  bool success = false; // status 1
  uint64_t gas_used = 0;
  U256 effective_gas_price{0};
  std::optional<core::Address> contract; // a creation's new contract
  std::vector<EvmLog> logs;
};

struct EvmFees {
  U256 max_fee_per_gas{0};
  U256 max_priority_fee_per_gas{0};
  U256 next_base_fee{0}; // the next block's base fee, as the node reported it
};

struct EvmCall {
  std::optional<core::Address> from;
  std::optional<core::Address> to; // none: a creation (estimate_gas)
  U256 value{0};
  Bytes data;
};

class EvmClient {
public:
  explicit EvmClient(HttpUrl url, std::chrono::milliseconds timeout = std::chrono::seconds(10));

  Result<U256> chain_id();
  Result<uint64_t> block_number();
  Result<U256> balance(const core::Address& a);
  // Transactions sent from `a` (`block` "pending" counts those in the pool).
  Result<uint64_t> nonce(const core::Address& a, const std::string& block = "pending");
  Result<EvmFees> suggest_fees();
  Result<uint64_t> estimate_gas(const EvmCall& call);
  // eth_call at `block`; a revert is an Errc::io error whose message is
  // the decoded reason ("reverted: ...").
  Result<Bytes> call(const EvmCall& call, const std::string& block = "latest");
  Result<Hash256> send_raw(ByteView raw);
  // None while the transaction is not mined.
  Result<std::optional<EvmReceipt>> receipt(const Hash256& tx);
  // Waits until the transaction is mined and `confirmations` blocks deep (1:
  // the block that holds it), polling every `poll`, for at most `limit`.
  Result<EvmReceipt> wait(const Hash256& tx, uint64_t confirmations, std::chrono::milliseconds limit,
                          std::chrono::milliseconds poll = std::chrono::milliseconds(100));

  // Builds, signs (EIP-1559) and sends a transaction from `key`: chain id and
  // nonce from the node, fees suggested, gas estimated + gas_margin_pct %.
  // With max_gas_price set, the max fee per gas is at most that: clamped to it
  // while the next block's base fee plus the tip is still below it, and when it
  // is not, nothing is sent (an Errc::io error saying so).
  Result<Hash256> transact(const core::PrivateKey& key, std::optional<core::Address> to, const U256& value,
                           const Bytes& data);
  uint32_t gas_margin_pct = 25;
  std::optional<U256> max_gas_price; // wei per gas; none: pay what the chain asks
  // Custom errors of the contracts we call, so a revert with one of them reads
  // as its name and arguments ("reverted: Locked(3, 1)") instead of a selector.
  std::vector<ledger::evm::abi::Function> known_errors;

  // One request: {"jsonrpc","id","method","params"} -> its result, or an error
  // with the node's message (and a decoded revert reason when it carries data).
  Result<nlohmann::json> rpc(const std::string& method, nlohmann::json params);
  // Several calls in one request (a JSON-RPC batch): each call's result or its
  // own error, in the order given; an error when the answer as a whole is not
  // one answer per call, matched by id.
  Result<std::vector<Result<nlohmann::json>>> batch(const std::vector<std::pair<std::string, nlohmann::json>>& calls);

private:
  HttpConnection m_conn;
  std::chrono::milliseconds m_timeout;
  uint64_t m_id = 0;
  std::optional<U256> m_chain_id;
};

// Checked readers for what an EVM node returns (exposed for tests and fuzzing).
Result<U256> parse_quantity(const nlohmann::json& j);
Result<Bytes> parse_data(const nlohmann::json& j);
std::string to_quantity(const U256& v);

} // namespace openstreaming::api
