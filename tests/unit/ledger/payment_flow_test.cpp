// One paying relationship end to end, in process, against the real ledger
// state machine: the payer meters media bytes at the payee's quote and pays with
// tickets; the payee checks them against the ledger, queues winners and redeems
// them in batches after their parameters expire. The payee's balance change
// must match what was metered within the variance the ticket parameters imply.
#include "core/hex.h"
#include "core/random.h"
#include "ledger/state.h"
#include "pay/tickets.h"
#include "pay/winners.h"

#include <gtest/gtest.h>

#include <cmath>

namespace openstreaming::ledger {
namespace {

// The recipient's view of the ledger, straight from the state machine.
struct StateView final : pay::LedgerView {
  const State& s;
  explicit StateView(const State& st) : s(st) {}
  std::optional<pay::SenderFunds> funds(const Address& a) const override {
    Account acc = s.account(a);
    return pay::SenderFunds{acc.deposit, acc.reserve, 1, acc.withdraw_round};
  }
  uint64_t current_round() const override { return s.round(); }
  std::optional<Hash256> round_block_hash(uint64_t r) const override { return s.round_block_hash(r); }
};

TEST(PaymentFlow, PayeeBalanceMatchesMeteredValueWithinTheTicketVariance) {
  core::DeterministicRandom rng(2026);
  auto payer = core::PrivateKey::generate(rng), payee = core::PrivateKey::generate(rng);
  Genesis g;
  g.accounts[payer.address()] = *Amount::parse("100ether");
  g.accounts[payee.address()] = *Amount::parse("0wei");
  g.round_blocks = 10;
  State st(g);
  auto tx = [&](const core::PrivateKey& k, const std::string& kind, json args) {
    auto r = st.apply(sign_tx(k, st.account(k.address()).nonce, kind, std::move(args), g.chain_id));
    EXPECT_TRUE(r) << (r ? "" : r.error().message);
    return r ? *r : json();
  };
  tx(payer, "fund", {{"deposit", "10ether"}, {"reserve", "1ether"}});
  st.seal_block(1);

  StateView view(st);
  pay::TicketReceiver receiver(payee.address(), rng.bytes<32>(), st.ticket_domain());
  pay::TicketSender sender(payer, st.ticket_domain());
  pay::WinnersQueue winners(st.params().ticket_valid_rounds);

  // Media: 0.5 s parts of 100 KB for 10 minutes at 1.2 gwei per MB... too cheap to
  // see; price it at 0.001 ether per MB so the sums are visible: 0.0001 ether a part.
  const Amount price_per_mb = *Amount::parse("0.001ether");
  const uint64_t part_bytes = 100'000, parts = 1200; // 10 minutes
  // Face value 0.002 ether (100 x a redemption cost of 0.00002 ether), win
  // probability 1/20: each ticket is worth 0.0001 ether, one part's value.
  const Amount redemption_cost = *Amount::parse("0.00002ether");
  const Amount face = pay::face_value_for(redemption_cost);
  const U256 win = pay::win_prob_from(0.05);
  U256 seed = 1;
  uint64_t tickets = 0, won = 0;
  Amount metered;
  for (uint64_t i = 0; i < parts; ++i) {
    Amount value = *core::mul_div(price_per_mb, U256(part_bytes), U256(1'000'000));
    metered = *core::checked_add(metered, value);
    sender.owe(payee.address(), value);
    // Fresh parameters each round (the old ones expire with it).
    auto params = receiver.params(payer.address(), face.wei(), win, st.round(), *st.round_block_hash(st.round()), seed);
    auto batch = sender.pay(params);
    ASSERT_TRUE(batch) << batch.error().message;
    for (const auto& t : *batch) {
      auto r = receiver.receive(t, seed, view, winners.pending_from(payer.address()));
      ASSERT_TRUE(r) << r.error().message;
      ++tickets;
      if (r->winner) {
        ++won;
        winners.add({t, r->recipient_rand, t.ticket.signing_hash(st.ticket_domain())});
      }
    }
    st.seal_block(static_cast<int64_t>(i) * 500);
    if (st.height() % g.round_blocks == 0) ++seed;
    // Redeem what is due, in one batch.
    auto due = winners.due(st.round());
    if (!due.empty()) {
      json items = json::array();
      for (const auto& w : due) {
        items.push_back({{"ticket", w.ticket.ticket.to_json()}, {"signature", w.ticket.signature.to_hex()},
                         {"recipient_rand", core::to_hex(w.recipient_rand)}});
      }
      json r = tx(payee, "redeem", {{"tickets", items}});
      for (std::size_t k = 0; k < due.size(); ++k) {
        bool paid = r["results"][k]["paid"] == true;
        bool retry = !paid && r["results"][k]["reason"].get<std::string>().find("cannot cover") != std::string::npos;
        winners.settled(due[k].hash, retry);
      }
    }
  }
  // Drain: a few more rounds so the last winners come due.
  for (int b = 0; b < 3 * static_cast<int>(g.round_blocks); ++b) {
    st.seal_block(1'000'000 + b);
    auto due = winners.due(st.round());
    if (due.empty()) continue;
    json items = json::array();
    for (const auto& w : due) {
      items.push_back({{"ticket", w.ticket.ticket.to_json()}, {"signature", w.ticket.signature.to_hex()},
                       {"recipient_rand", core::to_hex(w.recipient_rand)}});
    }
    json r = tx(payee, "redeem", {{"tickets", items}});
    for (std::size_t k = 0; k < due.size(); ++k) winners.settled(due[k].hash, false);
  }
  EXPECT_EQ(winners.size(), 0u);
  EXPECT_EQ(winners.expired(), 0u);
  EXPECT_EQ(tickets, parts); // one ticket per part's worth, exactly
  // Paid = won x face. Expected = metered. Binomial bound: |won - n p| <= 4 sqrt(n p (1 - p)).
  Amount paid = st.account(payee.address()).balance;
  EXPECT_EQ(paid.wei(), U256(won) * face.wei());
  double n = static_cast<double>(tickets), p = 0.05;
  double sd = std::sqrt(n * p * (1 - p));
  EXPECT_NEAR(static_cast<double>(won), n * p, 4 * sd) << "won " << won << " of " << tickets;
  double metered_eth = static_cast<double>(metered.wei() / U256(1'000'000'000'000ULL)) / 1e6;
  double paid_eth = static_cast<double>(paid.wei() / U256(1'000'000'000'000ULL)) / 1e6;
  double face_eth = static_cast<double>(face.wei() / U256(1'000'000'000'000ULL)) / 1e6;
  EXPECT_NEAR(paid_eth, metered_eth, 4 * sd * face_eth) << "metered " << metered_eth << " ether, paid " << paid_eth;
  // Value is conserved throughout.
  EXPECT_EQ(st.total_value(), g.supply());
  // Redemption cost stays <= 1 % of face value by construction.
  EXPECT_EQ(face.wei(), redemption_cost.wei() * 100);
}

} // namespace
} // namespace openstreaming::ledger
