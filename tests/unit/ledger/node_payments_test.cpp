// agent::Payments — a node's side of paying relationships — against the real
// ledger state machine, in process: the happy path, a crash in the middle of a
// redemption (replayed from the store log: paid once), and the attacks a
// neighbour can try over the wire.
#include "agent/payments/payment_frames.h"
#include "agent/payments/payments.h"
#include "core/hex.h"
#include "core/random.h"
#include "ledger/state.h"

#include <gtest/gtest.h>

namespace openstreaming::agent {
namespace {

using ledger::Genesis;
using ledger::State;
using nlohmann::json;

struct World {
  core::DeterministicRandom rng{4242};
  core::PrivateKey payer_key = core::PrivateKey::generate(rng), payee_key = core::PrivateKey::generate(rng),
                   other_key = core::PrivateKey::generate(rng);
  core::Address payer = payer_key.address(), payee = payee_key.address(), other = other_key.address();
  Genesis g = [&] {
    Genesis x;
    x.round_blocks = 4;
    x.accounts[payer] = *core::Amount::parse("100ether");
    x.accounts[payee] = *core::Amount::parse("1ether");
    x.accounts[other] = *core::Amount::parse("100ether");
    return x;
  }();
  State st{g};
  const core::Amount price = *core::Amount::parse("0.01ether"); // per MB

  static PaymentOptions options() {
    PaymentOptions o;
    o.enabled = true;
    o.redeem_cost = *core::Amount::parse("0.00001ether"); // face 0.001 ether
    o.ticket_bytes = 50'000;                              // EV 0.0005 ether: p = 0.5
    return o;
  }

  json tx(const core::PrivateKey& k, const std::string& kind, json args) {
    auto r = st.apply(ledger::sign_tx(k, st.account(k.address()).nonce, kind, std::move(args), g.chain_id));
    EXPECT_TRUE(r) << (r ? "" : r.error().message);
    return r ? *r : json();
  }
  LedgerSnapshot snapshot(std::initializer_list<core::Address> watched) const {
    LedgerSnapshot s;
    s.chain_id = g.chain_id;
    s.domain = st.ticket_domain();
    s.round = st.round();
    s.height = st.height();
    s.ticket_valid_rounds = st.params().ticket_valid_rounds;
    for (uint64_t r = 0; r <= st.round(); ++r) s.round_hashes[r] = *st.round_block_hash(r);
    for (const auto& a : watched) {
      auto acc = st.account(a);
      s.accounts[a] = {acc.deposit, acc.reserve, 1, acc.withdraw_round};
    }
    return s;
  }
  void blocks(int n) {
    for (int i = 0; i < n; ++i) st.seal_block(i);
  }
  // Submits a batch as LedgerLink does and turns the receipt into outcomes.
  std::vector<RedeemOutcome> redeem(const core::PrivateKey& k, const std::vector<pay::Winner>& batch) {
    auto outcomes = redeem_outcomes(batch, tx(k, "redeem", redeem_args(batch)));
    EXPECT_TRUE(outcomes) << (outcomes ? "" : outcomes.error().message);
    return outcomes ? *outcomes : std::vector<RedeemOutcome>{};
  }
};

// Carries tickets through the wire encoding, as the node does.
std::vector<pay::SignedTicket> over_the_wire(const U256& seed, const std::vector<pay::SignedTicket>& t,
                                             U256& seed_out) {
  auto parsed = parse_tickets(tickets_frame(seed, t));
  EXPECT_TRUE(parsed);
  seed_out = parsed->seed;
  return parsed->tickets;
}

TEST(NodePayments, PaysForMeteredBytesAndSurvivesACrashMidRedemption) {
  World w;
  w.tx(w.payer_key, "fund", {{"deposit", "10ether"}, {"reserve", "1ether"}});
  w.blocks(1);
  Payments payer(w.payer_key, World::options()), payee(w.payee_key, World::options());
  std::vector<Payments::StoreOp> log; // what the runtime would have written to payments.sqlite
  auto drain = [&](Payments& p) {
    while (auto op = p.poll_store_op()) log.push_back(*op);
  };
  payer.set_ledger(w.snapshot({w.payer}));
  payee.set_ledger(w.snapshot({w.payee, w.payer}));
  payee.agree_charge(w.payer, w.price);
  payer.agree_price(w.payee, w.price);

  uint64_t seedc = 1, tickets = 0;
  core::Amount metered;
  for (int part = 0; part < 400; ++part) { // 100 KB parts
    payee.served(w.payer, 100'000);
    payer.received(w.payee, 100'000);
    metered = *core::checked_add(metered, *core::mul_div(w.price, U256(100'000), U256(1'000'000)));
    if (auto params = payee.params_due(w.payer, U256(seedc++))) {
      auto frame = parse_ticket_params(ticket_params_frame(*params, w.price));
      ASSERT_TRUE(frame);
      ASSERT_TRUE(payer.on_params(w.payee, *frame));
    }
    auto t = payer.tickets_due(w.payee);
    if (!t.empty()) {
      U256 seed;
      auto got = over_the_wire(payer.relations().at(w.payee).params->seed, t, seed);
      EXPECT_EQ(payee.on_tickets(w.payer, seed, got), 0u) << payee.relations().at(w.payer).last_error;
      tickets += t.size();
    }
    drain(payee);
    if (part % 10 == 9) { // a block now and then; a new round every 40 parts
      w.blocks(1);
      payer.set_ledger(w.snapshot({w.payer}));
      payee.set_ledger(w.snapshot({w.payee, w.payer}));
      if (auto batch = payee.take_redemption(); !batch.empty()) payee.on_redeemed(w.redeem(w.payee_key, batch));
      drain(payee);
    }
  }
  EXPECT_EQ(tickets, 400u * 100'000 / 50'000); // one ticket per 50 KB, exactly
  const PaymentRelation& r = payee.relations().at(w.payer);
  EXPECT_EQ(r.tickets_received, tickets);
  EXPECT_EQ(r.tickets_rejected, 0u);
  EXPECT_EQ(r.metered_out, metered);
  EXPECT_EQ(payer.relations().at(w.payee).metered_in, metered);

  // Crash in the middle of a redemption: the batch reached the ledger, the
  // answer never reached the node. A new node object restored from the log
  // redeems again; the ledger says "already redeemed"; each paid once.
  w.blocks(3 * static_cast<int>(w.g.round_blocks));
  payee.set_ledger(w.snapshot({w.payee, w.payer}));
  auto batch = payee.take_redemption();
  ASSERT_FALSE(batch.empty());
  w.redeem(w.payee_key, batch); // ... and the process dies here
  std::map<Hash256, pay::Winner> stored;
  for (const auto& op : log) {
    if (op.add)
      stored[op.winner.hash] = op.winner;
    else
      stored.erase(op.winner.hash);
  }
  EXPECT_EQ(stored.size(), batch.size());
  std::vector<pay::Winner> restored;
  for (auto& [h, wn] : stored) restored.push_back(wn);
  Payments again(w.payee_key, World::options());
  again.restore(restored);
  again.set_ledger(w.snapshot({w.payee, w.payer}));
  auto retry = again.take_redemption();
  ASSERT_EQ(retry.size(), batch.size());
  auto outcomes = w.redeem(w.payee_key, retry);
  for (const auto& o : outcomes) {
    EXPECT_TRUE(o.paid);
    EXPECT_EQ(o.reason, "already redeemed");
  }
  again.on_redeemed(outcomes);
  EXPECT_EQ(again.winners_queued(), 0u);
  // The ledger paid every winner exactly once: the payee's gain is won × face.
  uint64_t won = r.won;
  EXPECT_EQ(w.st.account(w.payee).balance.wei(),
            core::Amount::parse("1ether")->wei() + U256(won) * r.issued_face_value);
  EXPECT_EQ(w.st.total_value(), w.g.supply());
  // Paid within 4 sigma of what was metered (p = 0.5).
  double n = static_cast<double>(tickets), sd = std::sqrt(n * 0.25);
  EXPECT_NEAR(static_cast<double>(won), n * 0.5, 4 * sd);
}

TEST(NodePayments, AttacksFromANeighbourAreRejected) {
  World w;
  w.tx(w.payer_key, "fund", {{"deposit", "0.002ether"}, {"reserve", "0ether"}});
  w.tx(w.other_key, "fund", {{"deposit", "10ether"}});
  w.blocks(1);
  Payments payer(w.payer_key, World::options()), payee(w.payee_key, World::options()),
      other(w.other_key, World::options());
  for (Payments* p : {&payer, &other}) p->set_ledger(w.snapshot({w.payer, w.other}));
  payee.set_ledger(w.snapshot({w.payee, w.payer, w.other}));
  payee.agree_charge(w.payer, w.price);
  payee.agree_charge(w.other, w.price);
  payer.agree_price(w.payee, w.price);
  other.agree_price(w.payee, w.price);
  auto params = *payee.params_due(w.payer, U256(7));
  ASSERT_TRUE(payer.on_params(w.payee, params));
  payer.received(w.payee, 100'000); // two tickets' worth
  auto t = payer.tickets_due(w.payee);
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(payee.on_tickets(w.payer, params.seed, {t[0]}), 0u);

  auto rejected_with = [&](const core::Address& from, const U256& seed, std::vector<pay::SignedTicket> ts,
                           const std::string& why) {
    std::size_t before = payee.relations().at(from).tickets_rejected;
    EXPECT_EQ(payee.on_tickets(from, seed, ts), ts.size()) << why;
    EXPECT_EQ(payee.relations().at(from).tickets_rejected, before + ts.size());
    EXPECT_NE(payee.relations().at(from).last_error.find(why), std::string::npos)
        << payee.relations().at(from).last_error;
  };
  // Replay of a ticket already accepted.
  rejected_with(w.payer, params.seed, {t[0]}, "replayed");
  // Forged signature: the payer's ticket with a changed nonce (a changed face
  // value is already refused by its recipientRandHash).
  pay::SignedTicket forged = t[1];
  forged.ticket.sender_nonce += 1000;
  rejected_with(w.payer, params.seed, {forged}, "signature");
  // A neighbour passing on someone else's ticket (sender is not who sent it).
  rejected_with(w.other, params.seed, {t[1]}, "sender is not the neighbour");
  // A ticket for another recipient.
  auto other_params = *payee.params_due(w.other, U256(9));
  other_params.recipient = w.other; // as if the payee were someone else
  EXPECT_FALSE(other.on_params(w.payee, other_params)) << "parameters naming another recipient are refused";
  // Parameters beyond the payer's limits are refused, and nothing is paid with them.
  auto greedy = *payee.params_due(w.other, U256(10));
  greedy.face_value = core::Amount::parse("5ether")->wei();
  EXPECT_FALSE(other.on_params(w.payee, greedy));
  // Overspending sender: its deposit (0.002 ether) covers two winners of
  // 0.001; with winners pending against it, more tickets are not accepted.
  int accepted = 0;
  for (int i = 0; i < 40; ++i) {
    payer.received(w.payee, 50'000);
    auto more = payer.tickets_due(w.payee);
    if (payee.on_tickets(w.payer, params.seed, more) == 0) ++accepted;
  }
  EXPECT_LT(accepted, 40) << "a sender with no funds left kept paying";
  EXPECT_NE(payee.relations().at(w.payer).last_error.find("cannot cover"), std::string::npos)
      << payee.relations().at(w.payer).last_error;
  // Stale parameters: two rounds later the payer waits for fresh ones instead
  // of paying with parameters the payee would refuse.
  w.blocks(2 * static_cast<int>(w.g.round_blocks));
  payer.set_ledger(w.snapshot({w.payer}));
  payer.received(w.payee, 100'000);
  EXPECT_TRUE(payer.tickets_due(w.payee).empty());
}

// The ledger poll reads the watch set's funds: it must not grow with everyone
// ever served, only with who can send tickets now (the connected payers).
TEST(NodePayments, TheWatchSetHoldsOnlyConnectedPayersAndIsBounded) {
  World w;
  PaymentOptions o = World::options();
  o.max_watched = 8;
  Payments payee(w.payee_key, o);
  payee.set_ledger(w.snapshot({w.payee}));
  core::DeterministicRandom rng{77};
  std::vector<core::Address> payers;
  for (int i = 0; i < 300; ++i) {
    payers.push_back(core::PrivateKey::generate(rng).address());
    payee.agree_charge(payers.back(), w.price); // each subscribed once and was charged
  }
  // None connected any more: only ourselves is watched.
  EXPECT_EQ(payee.watched({}), std::vector<core::Address>{w.payee});
  // Three connected, one of them never charged (a neighbour that does not pay us).
  auto watched = payee.watched({payers[5], w.other, payers[200]});
  EXPECT_EQ(watched, (std::vector<core::Address>{w.payee, payers[5], payers[200]}));
  // Everyone connected at once: never more than max_watched, ourselves first.
  watched = payee.watched(payers);
  EXPECT_EQ(watched.size(), o.max_watched);
  EXPECT_EQ(watched.front(), w.payee);
  // Tickets from a payer the snapshot does not show yet keep it watched after it
  // disconnected, until the snapshot that judges them.
  Payments fresh(w.payee_key, o);
  fresh.set_ledger(w.snapshot({w.payee}));
  fresh.agree_charge(w.payer, w.price);
  auto params = *fresh.params_due(w.payer, U256(3));
  Payments payer(w.payer_key, World::options());
  w.tx(w.payer_key, "fund", {{"deposit", "1ether"}, {"reserve", "0ether"}});
  payer.set_ledger(w.snapshot({w.payer}));
  payer.agree_price(w.payee, w.price);
  ASSERT_TRUE(payer.on_params(w.payee, params));
  payer.received(w.payee, 50'000);
  auto t = payer.tickets_due(w.payee);
  ASSERT_FALSE(t.empty());
  EXPECT_EQ(fresh.on_tickets(w.payer, params.seed, t), 0u); // held: funds unknown
  EXPECT_EQ(fresh.watched({}), (std::vector<core::Address>{w.payee, w.payer}));
  fresh.set_ledger(w.snapshot({w.payee, w.payer}));
  EXPECT_EQ(fresh.watched({}), std::vector<core::Address>{w.payee});
  EXPECT_EQ(fresh.relations().at(w.payer).tickets_received, t.size());
}

// A stream of throwaway payer identities, each served once and gone, cannot
// grow the relationships without bound; what is forgotten still counts in the
// totals, and nothing we owe or that is still connected is forgotten.
TEST(NodePayments, RelationshipsOfDepartedPayersAreBoundedAndTheirTotalsKept) {
  World w;
  PaymentOptions o = World::options();
  o.max_relations = 64;
  Payments node(w.payee_key, o);
  node.set_ledger(w.snapshot({w.payee}));
  core::DeterministicRandom rng{91};
  std::vector<core::Address> payers;
  core::U256 metered_out = 0;
  for (int i = 0; i < 1000; ++i) {
    payers.push_back(core::PrivateKey::generate(rng).address());
    node.agree_charge(payers.back(), w.price);
    metered_out += node.served(payers.back(), 10'000 + static_cast<uint64_t>(i)).wei();
  }
  // We pay one neighbour and owe it for bytes not yet ticketed (no parameters yet).
  node.agree_price(w.other, w.price);
  const core::U256 owed = node.received(w.other, 30'000).wei();
  ASSERT_GT(owed, core::U256(0));
  const std::vector<core::Address> connected = {payers[3], payers[999]};
  const std::size_t forgotten = node.forget_disconnected(connected);
  EXPECT_EQ(node.relations().size(), o.max_relations);
  EXPECT_EQ(forgotten, 1001 - o.max_relations);
  EXPECT_EQ(node.relations_forgotten(), forgotten);
  EXPECT_TRUE(node.relations().count(payers[3]));   // connected
  EXPECT_TRUE(node.relations().count(payers[999])); // connected
  EXPECT_TRUE(node.relations().count(w.other));     // we owe it
  EXPECT_EQ(node.relations().at(w.other).metered_in.wei(), owed);
  // Least at stake goes first: the payers kept owe the most.
  core::U256 kept = 0;
  for (const auto& [a, r] : node.relations()) kept += r.metered_out.wei();
  EXPECT_EQ(kept + node.retired().metered_out.wei(), metered_out); // totals never go down
  for (int i = 0; i < 900; ++i) {
    if (i == 3) continue;
    EXPECT_FALSE(node.relations().count(payers[i])) << i; // owed the least
  }
  // Under the limit, nothing more is forgotten.
  EXPECT_EQ(node.forget_disconnected({}), 0u);
  // A forgotten payer that comes back starts afresh.
  node.agree_charge(payers[0], w.price);
  EXPECT_EQ(node.unpaid(payers[0]).wei(), core::U256(0));
}

TEST(NodePayments, MalformedFramesAreRejected) {
  core::Frame f;
  f.type = static_cast<uint16_t>(core::MediaFrameType::tickets);
  f.header = {0x0a, 0x03, 1, 2, 3}; // seed of 3 bytes
  EXPECT_FALSE(parse_tickets(f));
  f.header = {0xff, 0xff};
  EXPECT_FALSE(parse_tickets(f));
  EXPECT_FALSE(parse_ticket_params(f));
  pay::TicketParams p;
  auto ok = ticket_params_frame(p, core::Amount());
  EXPECT_TRUE(parse_ticket_params(ok));
  ok.header.resize(ok.header.size() - 1);
  EXPECT_FALSE(parse_ticket_params(ok));
}

} // namespace
} // namespace openstreaming::agent
