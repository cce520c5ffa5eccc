// Small pieces the EVM backend, wallet and demo share for talking to our
// contracts through an EvmClient: call data from a signature, eth_call params
// pinned to a block, checked readers of return data, and the custom errors of
// the four contracts (contracts/contracts) so a revert reads as its name.
#pragma once

#include "api/evm_client.h"
#include "ledger/evm/abi.h"

#include <nlohmann/json.hpp>

#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace openstreaming::api::evm_calls {

namespace abi = ledger::evm::abi;

// A function we call, parsed once. `signature` must be one of ours (it is
// asserted to parse).
const abi::Function& fn(std::string_view signature);
// selector ‖ enc(args) for one of our signatures and values of its declared types.
Bytes call_data(std::string_view signature, std::vector<abi::Value> args = {});
// The params of an eth_call of `data` on `to` at `block` ("latest" or a quantity).
nlohmann::json call_at(const core::Address& to, const Bytes& data, const std::string& block);
// `n` uint256 words from an eth_call's return data; the error names `what`.
Result<std::vector<core::U256>> uints(const Result<nlohmann::json>& r, std::size_t n, const char* what);
// The return data of an eth_call decoded as `types`; the error names `what`.
Result<std::vector<abi::Value>> decode_return(const Result<nlohmann::json>& r, const std::vector<abi::Type>& types,
                                              const char* what);
// A figure that must fit 64 bits (blocks, rounds, ids).
Result<uint64_t> small(const core::U256& v, const char* what);
// An address as an indexed event topic (left-padded to 32 bytes).
Hash256 address_topic(const core::Address& a);
// The custom errors of TicketBroker, StreamChannels, ServiceRegistry and Staking.
std::vector<abi::Function> contract_errors();

// Σ gasUsed × effectiveGasPrice over the transactions sent by `from` in blocks
// [first, last], read block by block with eth_getBlockReceipts (what they paid
// for gas, to the wei).
Result<core::U256> fees_paid(EvmClient& client, const std::set<core::Address>& from, uint64_t first, uint64_t last);

} // namespace openstreaming::api::evm_calls
