// The EVM ledger backend (`--ledger evm+http://HOST:PORT --contracts
// deployments.json`, docs/ledger.md): settles a node's tickets in the
// TicketBroker contract on any EVM chain.
//
// Poll: the block number, then one JSON-RPC batch of eth_call/eth_getBalance
// pinned to that block (so every figure is of one state): the broker's current
// round and the block hashes of the rounds whose tickets are still honoured,
// our balance, and getSender/reserveRecipients of every watched payer. The
// first poll also checks the chain: its id is the deployment's, the broker has
// code, and the broker's EIP-712 domain separator is the one our tickets are
// signed under (else every ticket would be refused as not the sender's).
//
// A round's block hash exists on chain only once someone initialised the
// round; a payee needs it to issue ticket parameters. When the current round
// has none, the backend sends initializeRound() itself (once per round, only
// with a balance to pay for it, and only while it watches a payer other than
// itself); whichever node does it first, the others' calls change nothing.
//
// Redeem: one redeemWinningTickets(batch) transaction (gas estimated, fees
// suggested, nonce from the chain: EvmClient::transact), then its receipt once
// `confirmations` blocks deep; the outcome of each ticket is read from the
// broker's TicketOutcome events in that receipt (only logs of the broker, for
// us as recipient, for tickets of the batch count). Paid and AlreadyRedeemed
// are paid; CannotCover and ReserveShareUsedUp stay queued; the rest are final.
// A winner leaves the queue only after that: a transaction lost, reverted or
// reorganised away is an error and the batch is retried.
#pragma once

#include "api/evm_client.h"
#include "api/evm_deploy.h"
#include "api/ledger_backend.h"

namespace openstreaming::api {

struct EvmLedgerOptions {
  uint64_t confirmations = 2;
  std::chrono::milliseconds receipt_timeout = std::chrono::seconds(120);
  std::chrono::milliseconds rpc_timeout = std::chrono::seconds(10);
  std::size_t max_calls_per_request = 200; // JSON-RPC batch size (geth's default limit is 1000)
  std::optional<U256> max_gas_price;       // EvmClient::max_gas_price
};

// The TicketBroker's outcome codes, in its enum order.
std::string_view ticket_outcome_name(uint64_t code);

class EvmLedger final : public LedgerBackend {
public:
  EvmLedger(HttpUrl rpc, std::string url_text, Deployment deployment, const core::PrivateKey& key,
            EvmLedgerOptions options = {});

  Result<LedgerPoll> poll(const core::Address& self, const std::vector<core::Address>& watched) override;
  Result<std::vector<agent::RedeemOutcome>> redeem(const std::vector<pay::Winner>& batch) override;
  std::string kind() const override { return "evm"; }
  std::string url() const override { return m_url_text; }

  const core::Address& broker() const { return m_broker; }

private:
  Result<void> check_chain();
  // Calls in batches of at most max_calls_per_request, results in order.
  Result<std::vector<Result<nlohmann::json>>> batch(const std::vector<std::pair<std::string, nlohmann::json>>& calls);

  EvmClient m_client;
  std::string m_url_text;
  Deployment m_deployment;
  EvmLedgerOptions m_o;
  core::Address m_broker;
  core::PrivateKey m_key;
  bool m_checked = false;
  uint64_t m_valid_rounds = 0, m_round_length = 1, m_start_block = 0;
  std::optional<uint64_t> m_initialised; // the round we last sent initializeRound() for
};

} // namespace openstreaming::api
