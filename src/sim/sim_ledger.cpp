#include "sim/sim_ledger.h"

namespace openstreaming::sim {

namespace {
ledger::Genesis genesis_for(const LedgerSettings& s, const std::vector<core::Address>& accounts) {
  ledger::Genesis g;
  g.block_ms = s.block_ms;
  g.round_blocks = s.round_blocks;
  const core::Amount each(s.deposit.wei() + s.reserve.wei());
  for (const auto& a : accounts) g.accounts[a] = each;
  return g;
}
} // namespace

SimLedger::SimLedger(const LedgerSettings& settings, const std::vector<core::Address>& accounts)
    : m_settings(settings), m_state(genesis_for(settings, accounts)) {}

Result<void> SimLedger::fund(const core::PrivateKey& key) {
  auto tx = ledger::sign_tx(
      key, m_state.account(key.address()).nonce, "fund",
      {{"deposit", m_settings.deposit.to_wei_string()}, {"reserve", m_settings.reserve.to_wei_string()}},
      m_state.genesis().chain_id);
  auto r = m_state.apply(tx);
  if (!r) {
    ++m_failed;
    return r.error();
  }
  return {};
}

agent::LedgerSnapshot SimLedger::snapshot(const core::Address& self, const std::vector<core::Address>& watched) const {
  agent::LedgerSnapshot s;
  s.chain_id = m_state.genesis().chain_id;
  s.domain = m_state.ticket_domain();
  s.round = m_state.round();
  s.height = m_state.height();
  s.ticket_valid_rounds = m_state.params().ticket_valid_rounds;
  for (uint64_t back = 0; back <= s.ticket_valid_rounds && back <= s.round; ++back) {
    if (auto h = m_state.round_block_hash(s.round - back)) s.round_hashes[s.round - back] = *h;
  }
  auto add = [&](const core::Address& a) {
    ledger::Account acc = m_state.account(a);
    pay::SenderFunds f;
    f.deposit = acc.deposit;
    f.reserve = acc.reserve;
    f.withdraw_round = acc.withdraw_round;
    f.reserve_recipients = std::max<uint64_t>(1, m_state.reserve_recipients(a));
    s.accounts[a] = f;
    if (a == self) s.self = {acc.balance, acc.deposit, acc.reserve};
  };
  add(self);
  for (const auto& a : watched) add(a);
  return s;
}

std::vector<agent::RedeemOutcome> SimLedger::redeem(const core::PrivateKey& key,
                                                    const std::vector<pay::Winner>& batch) {
  auto tx = ledger::sign_tx(key, m_state.account(key.address()).nonce, "redeem", agent::redeem_args(batch),
                            m_state.genesis().chain_id);
  auto r = m_state.apply(tx);
  if (!r) {
    ++m_failed;
    return {};
  }
  auto outcomes = agent::redeem_outcomes(batch, *r);
  if (!outcomes) {
    ++m_failed;
    return {};
  }
  return std::move(*outcomes);
}

} // namespace openstreaming::sim
