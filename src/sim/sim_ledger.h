// Settlement in the simulator: the embedded ledger's state machine
// (ledger::State, the code `openstreaming ledger` runs) in-process. Every
// paying node is funded at genesis and funds its deposit and reserve with a
// real signed transaction; blocks are sealed on the simulated clock; each node
// sees the ledger through the same LedgerSnapshot the daemon's ledger link
// builds, and redeems its winners with a real signed `redeem` transaction.
// No I/O: the simulator calls it on its own thread.
#pragma once

#include "agent/payments/payments.h"
#include "core/secp256k1.h"
#include "ledger/state.h"

#include <vector>

namespace openstreaming::sim {

struct LedgerSettings {
  uint64_t block_ms = 1000;
  uint64_t round_blocks = 10;
  core::Amount deposit = core::Amount::from_wei(1'000'000'000'000'000'000); // per payer: 1 ether
  core::Amount reserve = core::Amount::from_wei(1'000'000'000'000'000'000); // per payer: 1 ether
};

class SimLedger {
public:
  // Genesis gives each of `payers` deposit + reserve and each of `others`
  // nothing; fund() then moves a payer's funds into its deposit and reserve.
  SimLedger(const LedgerSettings& settings, const std::vector<core::Address>& accounts);

  // A signed `fund` transaction from `key` (deposit and reserve from the settings).
  Result<void> fund(const core::PrivateKey& key);
  // Seals the current block at simulated Unix time `time_ms`.
  void seal(int64_t time_ms) { m_state.seal_block(time_ms); }
  // What the ledger link would fetch for a node: status, the rounds whose
  // tickets are still valid, and the funds of `watched` (which includes `self`).
  agent::LedgerSnapshot snapshot(const core::Address& self, const std::vector<core::Address>& watched) const;
  // Redeems `batch` for `key` in the current block; one outcome per winner.
  std::vector<agent::RedeemOutcome> redeem(const core::PrivateKey& key, const std::vector<pay::Winner>& batch);

  const ledger::State& state() const { return m_state; }
  // The ledger's invariant: everything it holds equals what genesis created.
  bool value_conserved() const { return m_state.total_value() == m_state.genesis().supply(); }
  uint64_t failed_transactions() const { return m_failed; }
  core::U256 deposit_and_reserve_per_payer() const { return m_settings.deposit.wei() + m_settings.reserve.wei(); }

private:
  LedgerSettings m_settings;
  ledger::State m_state;
  uint64_t m_failed = 0;
};

} // namespace openstreaming::sim
