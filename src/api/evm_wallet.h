// `openstreaming wallet … --ledger evm+http://… --contracts FILE`: the
// wallet's operations on an EVM chain, through the four contracts of a
// deployment (TicketBroker, StreamChannels, ServiceRegistry, Staking), with the
// embedded ledger's transaction kinds, arguments and JSON shapes (docs/ledger.md),
// so the CLI and the conformance suite treat both backends alike.
#pragma once

#include "api/evm_client.h"
#include "api/evm_deploy.h"
#include "pay/ticket.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

namespace openstreaming::api {

class EvmWallet {
public:
  EvmWallet(HttpUrl rpc, Deployment deployment);
  // {balance, deposit, reserve, stake, withdraw_round}: decimal wei strings, a round.
  // Read at block `at` (default: the head when called).
  Result<nlohmann::json> account(const core::Address& a, std::optional<uint64_t> at = std::nullopt);
  // One of the embedded ledger's transaction kinds, with its arguments (amounts
  // as "<n>wei" or any Amount text):
  //   fund {deposit, reserve} · unlock · withdraw · transfer {to, amount}
  //   bond {amount} · unbond {amount} · rebond {lock} · withdraw_stake {lock}
  //   open_channel {payee, amount, expiry, salt} · top_up {channel, amount}
  //   claim {channel, cumulative, signature} · close_channel {channel} · settle_channel {channel}
  //   register / update {endpoint, region, roles, offers: [{capability, price}]} · deregister
  // Sent from `key`, waited for one block deep: {transaction, block, gas_used}
  // plus, for open_channel, the channel's `id` and, for unbond, the `lock` id.
  // A refusal or revert is the error, with the contract's reason when it gave one.
  Result<nlohmann::json> send(const core::PrivateKey& key, const std::string& kind, const nlohmann::json& args);
  // {backend "evm", chain_id, height, round}: the chain's head and the
  // broker's current round there, as the embedded ledger's ledger_status.
  Result<nlohmann::json> status();
  // The tickets `recipient` redeemed: {domain, tickets: [{ticket_hash, sender,
  // face_value, from_reserve, block, transaction}]}, from the broker's
  // TicketOutcome events.
  Result<nlohmann::json> tickets(const core::Address& recipient);
  // {bonded, unbonding, stake, locks: [{id, amount, withdraw_block}]} (open locks).
  Result<nlohmann::json> stake(const core::Address& staker);
  // {id, payer, payee, deposit, paid, state, closes_at_block, expiry}; an
  // Errc::not_found error for an id no channel has.
  Result<nlohmann::json> channel(const Hash256& id);
  // The channels `who` pays or is paid by, from ChannelOpened events.
  Result<nlohmann::json> channels(const core::Address& who);
  // A page of registered operators' records: [{operator, endpoint, region,
  // roles, updated_block, offers}] (at most 256).
  Result<nlohmann::json> services(uint64_t start = 0, uint64_t limit = 256);
  // The EIP-712 domain vouchers are signed under: {chain, StreamChannels}.
  Result<pay::TicketDomain> voucher_domain();

private:
  Result<core::Address> contract(std::string_view name) const;
  Result<nlohmann::json> channel_at(const core::Address& channels, const Hash256& id, const std::string& at);
  EvmClient m_client;
  Deployment m_deployment;
};

} // namespace openstreaming::api
