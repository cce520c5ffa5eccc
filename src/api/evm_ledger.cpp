#include "api/evm_ledger.h"

#include "api/evm_calls.h"
#include "api/ledger_rpc.h"
#include "core/hex.h"
#include "ledger/evm/abi.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <map>
#include <mutex>

namespace openstreaming::api {

using nlohmann::json;
namespace abi = ledger::evm::abi;
using abi::Type;
using abi::Value;
using namespace evm_calls;

namespace {

constexpr std::string_view kTicketTuple = "(address,address,uint256,uint256,uint256,bytes32,uint256,bytes32)";

Value ticket_value(const pay::Ticket& t) {
  return Value::list({Value::address(t.recipient), Value::address(t.sender), Value::uint(t.face_value),
                      Value::uint(t.win_prob), Value::uint(t.sender_nonce), Value::fixed_bytes(t.recipient_rand_hash),
                      Value::uint(t.creation_round), Value::fixed_bytes(t.creation_round_block_hash)});
}

} // namespace

std::string_view ticket_outcome_name(uint64_t code) {
  // The embedded ledger's reasons for the same checks (src/ledger/state.cpp),
  // so both backends explain a ticket in the same words.
  static constexpr std::array<std::string_view, 12> kNames = {
      "paid",
      "bad signature encoding",
      "not the recipient",
      "signature is not the sender's",
      "recipient_rand does not match",
      "not a winning ticket",
      "already redeemed",
      "created in a future round",
      "expired",
      "creationRoundBlockHash does not match",
      "sender cannot cover it now (stays redeemable)",
      "sender cannot cover it now: this recipient's share of the reserve this round is used up (stays redeemable)"};
  return code < kNames.size() ? kNames[code] : std::string_view("unknown outcome");
}

EvmLedger::EvmLedger(HttpUrl rpc, std::string url_text, Deployment deployment, const core::PrivateKey& key,
                     EvmLedgerOptions options)
    : m_client(std::move(rpc), options.rpc_timeout), m_url_text(std::move(url_text)),
      m_deployment(std::move(deployment)), m_o(options), m_key(key) {
  if (const auto* b = m_deployment.find("TicketBroker")) m_broker = b->address;
  m_client.known_errors = contract_errors();
  m_client.max_gas_price = options.max_gas_price;
}

Result<std::vector<Result<json>>> EvmLedger::batch(const std::vector<std::pair<std::string, json>>& calls) {
  std::vector<Result<json>> out;
  out.reserve(calls.size());
  const std::size_t step = std::max<std::size_t>(1, m_o.max_calls_per_request);
  for (std::size_t i = 0; i < calls.size(); i += step) {
    std::vector<std::pair<std::string, json>> part(calls.begin() + static_cast<std::ptrdiff_t>(i),
                                                   calls.begin() +
                                                       static_cast<std::ptrdiff_t>(std::min(calls.size(), i + step)));
    auto got = m_client.batch(part);
    if (!got) return got.error();
    for (auto& r : *got) out.push_back(std::move(r));
  }
  return out;
}

Result<void> EvmLedger::check_chain() {
  auto id = m_client.chain_id();
  if (!id) return id.error();
  if (*id != m_deployment.chain_id)
    return make_error(Errc::invalid_input, "wrong chain: the deployment is for chain " + m_deployment.chain_id.str() +
                                               ", " + m_url_text + " is chain " + id->str());
  auto code = m_client.rpc("eth_getCode", {m_broker.to_checksum_hex(), "latest"});
  if (!code) return code.error();
  auto bytes = parse_data(*code);
  if (!bytes || bytes->empty())
    return make_error(Errc::invalid_input, "no TicketBroker at " + m_broker.to_checksum_hex() + " on chain " +
                                               id->str() + " (deployed to another chain, or reset?)");
  auto got = batch({{"eth_call", call_at(m_broker, call_data("ticketValidRounds()"), "latest")},
                    {"eth_call", call_at(m_broker, call_data("roundLength()"), "latest")},
                    {"eth_call", call_at(m_broker, call_data("startBlock()"), "latest")},
                    {"eth_call", call_at(m_broker, call_data("domainSeparator()"), "latest")}});
  if (!got) return got.error();
  auto valid = uints((*got)[0], 1, "ticketValidRounds");
  auto length = uints((*got)[1], 1, "roundLength");
  auto start = uints((*got)[2], 1, "startBlock");
  auto separator = uints((*got)[3], 1, "domainSeparator");
  for (const auto* r : {&valid, &length, &start, &separator}) {
    if (!*r) return r->error();
  }
  auto v = small(valid->at(0), "ticketValidRounds");
  auto l = small(length->at(0), "roundLength");
  auto s = small(start->at(0), "startBlock");
  if (!v || !l || !s || *l == 0 || *v > 1'000'000)
    return make_error(Errc::invalid_input, "the TicketBroker's parameters are out of range");
  // The tickets we sign and accept must be the ones the broker verifies.
  pay::TicketDomain domain;
  domain.chain_id = *id;
  domain.verifying_contract = m_broker;
  if (core::to_word(separator->at(0)) != domain.separator())
    return make_error(Errc::invalid_input, "the TicketBroker at " + m_broker.to_checksum_hex() +
                                               " signs tickets under another EIP-712 domain than ours");
  m_valid_rounds = *v;
  m_round_length = *l;
  m_start_block = *s;
  m_checked = true;
  spdlog::info("payments: TicketBroker {} on chain {} (rounds of {} blocks, tickets valid {} rounds)",
               m_broker.to_checksum_hex(), id->str(), m_round_length, m_valid_rounds);
  return {};
}

Result<LedgerPoll> EvmLedger::poll(const core::Address& self, const std::vector<core::Address>& watched) {
  if (!m_checked) {
    if (auto c = check_chain(); !c) return c.error();
  }
  auto height = m_client.block_number();
  if (!height) return height.error();
  const std::string at = to_quantity(U256(*height));
  // Ourselves first, then the others once each, within the embedded ledger's limit per poll.
  std::vector<core::Address> addresses{self};
  for (const auto& a : watched) {
    if (addresses.size() == kMaxAccountsPerCall) break;
    if (std::find(addresses.begin(), addresses.end(), a) == addresses.end()) addresses.push_back(a);
  }
  // The round as the chain's rule gives it at this block, and a window of hashes
  // around it (the broker's currentRound answer below is the one used).
  const uint64_t estimate = *height >= m_start_block ? (*height - m_start_block) / m_round_length : 0;
  const uint64_t from = estimate > m_valid_rounds ? estimate - m_valid_rounds : 0;
  std::vector<std::pair<std::string, json>> calls;
  calls.push_back({"eth_call", call_at(m_broker, call_data("currentRound()"), at)});
  calls.push_back({"eth_getBalance", {self.to_checksum_hex(), at}});
  for (uint64_t r = from; r <= estimate + 1; ++r)
    calls.push_back({"eth_call", call_at(m_broker, call_data("roundBlockHash(uint256)", {Value::uint(r)}), at)});
  const std::size_t accounts_at = calls.size();
  for (const auto& a : addresses) {
    calls.push_back({"eth_call", call_at(m_broker, call_data("getSender(address)", {Value::address(a)}), at)});
    calls.push_back({"eth_call", call_at(m_broker, call_data("reserveRecipients(address)", {Value::address(a)}), at)});
  }
  auto got = batch(calls);
  if (!got) return got.error();
  auto round = uints((*got)[0], 1, "currentRound");
  if (!round) return round.error();
  auto round64 = small(round->at(0), "currentRound");
  if (!round64) return round64.error();
  if (!(*got)[1]) return (*got)[1].error();
  auto balance = parse_quantity(*(*got)[1]);
  if (!balance) return balance.error();

  LedgerPoll out;
  agent::LedgerSnapshot& s = out.snapshot;
  s.chain_id = static_cast<uint64_t>(m_deployment.chain_id); // checked against the chain; Ethereum ids fit
  s.domain.chain_id = m_deployment.chain_id;
  s.domain.verifying_contract = m_broker;
  s.round = *round64;
  s.height = *height;
  s.ticket_valid_rounds = m_valid_rounds;
  for (uint64_t r = from; r <= estimate + 1; ++r) {
    auto h = uints((*got)[2 + (r - from)], 1, "roundBlockHash");
    if (!h) return h.error();
    Hash256 hash = core::to_word(h->at(0));
    // Zero: not initialised (no ticket may cite it).
    if (h->at(0) != 0 && r <= s.round && r + s.ticket_valid_rounds >= s.round) s.round_hashes[r] = hash;
  }
  for (std::size_t i = 0; i < addresses.size(); ++i) {
    auto funds = uints((*got)[accounts_at + 2 * i], 3, "getSender");
    auto recipients = uints((*got)[accounts_at + 2 * i + 1], 1, "reserveRecipients");
    if (!funds) return funds.error();
    if (!recipients) return recipients.error();
    auto withdraw = small(funds->at(2), "withdrawRound");
    if (!withdraw) return withdraw.error();
    pay::SenderFunds f;
    f.deposit = core::Amount(funds->at(0));
    f.reserve = core::Amount(funds->at(1));
    f.withdraw_round = *withdraw;
    f.reserve_recipients = static_cast<uint64_t>(std::clamp<U256>(recipients->at(0), 1, 1'000'000));
    s.accounts[addresses[i]] = f;
    if (addresses[i] == self) s.self = {core::Amount(*balance), f.deposit, f.reserve};
  }
  // A payee issues parameters only for a round with a hash: initialise it if
  // nobody has. It costs gas, so only once per round, only with a balance, and
  // only while someone who may pay us is watched (a node that only pays never
  // needs it: its payees do).
  const bool payers = std::any_of(watched.begin(), watched.end(), [&](const auto& a) { return a != self; });
  if (!s.round_hashes.count(s.round) && m_initialised != s.round && *balance > 0 && payers) {
    m_initialised = s.round;
    auto tx = m_client.transact(m_key, m_broker, 0, call_data("initializeRound()"));
    if (tx)
      spdlog::info("payments: initialising round {} on chain (tx {})", s.round, core::to_hex(*tx));
    else
      spdlog::warn("payments: could not initialise round {}: {}", s.round, tx.error().message);
  }
  return out;
}

Result<std::vector<agent::RedeemOutcome>> EvmLedger::redeem(const std::vector<pay::Winner>& batch) {
  if (batch.empty()) return std::vector<agent::RedeemOutcome>{};
  if (!m_checked) {
    if (auto c = check_chain(); !c) return c.error();
  }
  std::vector<Value> items;
  for (const auto& w : batch) {
    const auto& sig = w.ticket.signature.bytes();
    items.push_back(Value::list({ticket_value(w.ticket.ticket), Value::bytes(Bytes(sig.begin(), sig.end())),
                                 Value::fixed_bytes(w.recipient_rand)}));
  }
  static const std::string kRedeem = "redeemWinningTickets((" + std::string(kTicketTuple) + ",bytes,bytes32)[])";
  auto data = fn(kRedeem).encode_call(std::vector<Value>{Value::list(std::move(items))});
  if (!data) return data.error();
  auto tx = m_client.transact(m_key, m_broker, 0, *data);
  if (!tx) return make_error(tx.error().code, "redeemWinningTickets: " + tx.error().message);
  auto receipt = m_client.wait(*tx, m_o.confirmations, m_o.receipt_timeout);
  if (!receipt)
    return make_error(receipt.error().code, "redemption " + core::to_hex(*tx) + ": " + receipt.error().message);
  if (!receipt->success) return make_error(Errc::io, "redemption " + core::to_hex(*tx) + " reverted");
  static const Hash256 kOutcome = *abi::event_topic("TicketOutcome(bytes32,address,address,uint8,uint256,uint256)");
  const Hash256 us = address_topic(m_key.address());
  std::map<Hash256, uint64_t> outcome;
  for (const auto& log : receipt->logs) {
    if (log.address != m_broker || log.topics.size() != 4 || log.topics[0] != kOutcome || log.topics[3] != us) continue;
    auto v = abi::decode(std::vector<Type>{Type::uint(8), Type::uint(), Type::uint()}, log.data);
    if (!v) return make_error(Errc::invalid_input, "redemption " + core::to_hex(*tx) + ": a malformed TicketOutcome");
    outcome[log.topics[1]] = static_cast<uint64_t>((*v)[0].as_uint()); // uint8: checked clean by decode
  }
  std::vector<agent::RedeemOutcome> out;
  for (const auto& w : batch) {
    auto it = outcome.find(w.hash);
    if (it == outcome.end())
      return make_error(Errc::invalid_input, "redemption " + core::to_hex(*tx) + ": no outcome for ticket " +
                                                 core::to_hex(w.hash) + " (signed under another domain?)");
    agent::RedeemOutcome o;
    o.hash = w.hash;
    o.paid = it->second == 0 || it->second == 6; // paid now, or before a crash (only we can redeem it)
    o.retry = it->second == 10 || it->second == 11;
    if (it->second != 0) o.reason = std::string(ticket_outcome_name(it->second));
    out.push_back(std::move(o));
  }
  return out;
}

} // namespace openstreaming::api
