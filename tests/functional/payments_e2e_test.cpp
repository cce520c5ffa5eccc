// Payments in the live network, real processes: a broadcaster, two relays and
// a viewer in a line (b ← r1 ← r2 ← v), each paying its upstream with
// probabilistic tickets at the price agreed on subscription, settled on each
// ledger a node can use: the embedded one (`openstreaming ledger`) and the
// TicketBroker on Anvil, a real EVM node (`--ledger evm+http://…
// --contracts`). After the run every party's balance change on the ledger
// matches what was metered, within the bound the ticket parameters imply
// (docs/payments.md), and equals exactly what it redeemed minus what was
// redeemed from it (on the chain, less the gas of its own transactions); a
// relay killed with winners queued redeems them all after a restart, none twice.
#include "api/evm_calls.h"
#include "api/evm_wallet.h"
#include "core/amount.h"
#include "support/anvil.h"
#include "support/embedded_ledger.h"
#include "support/node_process.h"
#include "support/process.h"
#include "support/wait.h"

#include <gtest/gtest.h>

#include <cmath>
#include <iostream>
#include <set>

namespace openstreaming {
namespace {

using nlohmann::json;
using test::NodeProcess;
using test::NodeSpec;
using test::wait_until;

double ether(const std::string& wei) { // for comparisons with a tolerance; exact sums use U256
  auto a = core::Amount::from_decimal_wei(wei);
  return a ? static_cast<double>(a->wei() / core::U256(1'000'000'000ULL)) / 1e9 : 0.0;
}
double ether(const json& j) {
  return ether(j.get<std::string>());
}

// Prices and tickets chosen so that a 40 s run wins often enough to measure:
// quote ≈ 0.012 ether/MB (cost 0.01 × 1.2), one ticket per 64 KiB ≈ 0.00079
// ether of expected value, face value 100 × 0.00002 = 0.002 ether, so a ticket
// wins with p ≈ 0.39.
constexpr const char* kPaidToml =
    "[timing]\nping_interval_ms = 300\nidle_timeout_ms = 4000\nhandshake_timeout_ms = 3000\n"
    "reconnect_base_ms = 200\nreconnect_max_ms = 1000\nstream_stall_ms = 6000\n"
    "[agent]\ncost_per_mb = \"0.01ether\"\nmax_price_per_mb = \"1ether\"\nreflect_interval_ms = "
    "1000\nstate_interval_ms = 1000\n"
    "[payments]\nredeem_cost = \"0.00002ether\"\nticket_kb = 64\npoll_ms = 200\nconfirmations = 1\n";
constexpr double kFaceEther = 0.002;

// GetParam(): "embedded" or "anvil".
struct PaidLine : ::testing::TestWithParam<std::string> {
  test::TempDir dir;
  std::unique_ptr<test::Process> ledger; // embedded
  std::unique_ptr<test::Anvil> anvil;    // or a chain
  std::unique_ptr<api::EvmClient> chain;
  std::string url, contracts;
  std::unique_ptr<NodeProcess> b, r1, r2, v;

  bool on_chain() const { return GetParam() == "anvil"; }
  std::vector<std::string> ledger_args() const {
    std::vector<std::string> a{"--ledger", url};
    if (!contracts.empty()) a.insert(a.end(), {"--contracts", contracts});
    return a;
  }
  std::vector<std::string> with_ledger(std::vector<std::string> args) const {
    auto l = ledger_args();
    args.insert(args.end(), l.begin(), l.end());
    return args;
  }

  void SetUp() override {
    NodeSpec s;
    s.peer_exchange = false;
    s.config_toml = kPaidToml;
    b = std::make_unique<NodeProcess>(dir, "b", 901, s);
    r1 = std::make_unique<NodeProcess>(dir, "r1", 902, s);
    r2 = std::make_unique<NodeProcess>(dir, "r2", 903, s);
    v = std::make_unique<NodeProcess>(dir, "v", 904, s);
    if (on_chain()) {
      // A block a second, 3-block rounds; each node gets 100 ether from the
      // development account (all four transfers in flight at once).
      anvil = std::make_unique<test::Anvil>(std::vector<std::string>{"--block-time", "1"});
      auto deployed = anvil->deploy(dir, {"--round-blocks", "3"});
      ASSERT_TRUE(deployed) << deployed.error().message;
      contracts = *deployed;
      url = "evm+" + anvil->rpc();
      chain = std::make_unique<api::EvmClient>(anvil->url);
      std::vector<Hash256> sent;
      for (auto* n : {b.get(), r1.get(), r2.get(), v.get()}) {
        auto tx = chain->transact(test::anvil_dev_key(), n->address(), core::U256("100000000000000000000"), {});
        ASSERT_TRUE(tx) << tx.error().message;
        sent.push_back(*tx);
      }
      for (const auto& tx : sent) {
        auto receipt = chain->wait(tx, 1, std::chrono::seconds(30));
        ASSERT_TRUE(receipt && receipt->success) << (receipt ? "reverted" : receipt.error().message);
      }
    } else {
      std::vector<core::Address> accounts;
      for (auto* n : {b.get(), r1.get(), r2.get(), v.get()}) accounts.push_back(n->address());
      // 100 ms blocks, 10-block rounds: a winner is redeemed ~2 s after it won.
      auto u = test::start_embedded_ledger(ledger, dir, test::write_genesis(dir, accounts, 100, 10));
      ASSERT_TRUE(u) << u.error().message;
      url = *u;
    }
    // Everyone who receives media pays for it: a deposit and a reserve.
    for (auto* n : {r1.get(), r2.get(), v.get()}) {
      auto r = wallet({"deposit", "--key", n->key_file(), "--deposit", "10ether", "--reserve", "1ether"});
      ASSERT_EQ(r.exit_code, 0) << r.err;
    }
    b->spec().extra_args = with_ledger({"--ingest", "testsrc", "--stream", "show"});
    b->start();
    r1->spec().bootstrap = {b->p2p()};
    r1->spec().extra_args = ledger_args();
    r1->start();
    r2->spec().bootstrap = {r1->p2p()};
    r2->spec().extra_args = ledger_args();
    r2->start();
    v->spec().bootstrap = {r2->p2p()};
    v->spec().extra_args = with_ledger({"--watch", "show", "--role", "viewer"});
    v->start();
  }

  test::RunResult wallet(std::vector<std::string> args) {
    args.insert(args.begin(), {OPENSTREAMING_BIN, "wallet"});
    auto l = ledger_args();
    args.insert(args.begin() + 3, l.begin(), l.end());
    test::SpawnOptions o;
    o.env["OPENSTREAMING_PASSWORD"] = "test";
    return test::run(args, o, std::chrono::seconds(60));
  }
  json account(const NodeProcess& n) {
    auto r = wallet({"balance", n.address().to_checksum_hex(), "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out, nullptr, false);
  }
  // `n`'s account and the gas it has paid, both at one block on a chain: the
  // nodes still send transactions (a payee initialises each round), so figures
  // read at two heights would not add up.
  std::pair<json, core::U256> account_and_gas(const NodeProcess& n) {
    if (!on_chain()) return {account(n), core::U256(0)};
    auto head = chain->block_number();
    EXPECT_TRUE(head) << head.error().message;
    auto d = api::load_deployment(contracts);
    EXPECT_TRUE(d) << d.error().message;
    auto a = api::EvmWallet(anvil->url, *d).account(n.address(), *head);
    EXPECT_TRUE(a) << a.error().message;
    auto fees = api::evm_calls::fees_paid(*chain, {n.address()}, 0, *head);
    EXPECT_TRUE(fees) << fees.error().message;
    return {a ? *a : json(), fees ? *fees : core::U256(0)};
  }
  // Balance + deposit + reserve + the gas it spent (exact wei).
  core::U256 worth(const NodeProcess& n) {
    auto [a, w] = account_and_gas(n);
    for (const char* k : {"balance", "deposit", "reserve"}) w += core::U256(a[k].get<std::string>());
    return w;
  }
  static json relation(const json& payments, const NodeProcess& other) {
    for (const auto& r : payments["relationships"]) {
      if (r["address"] == other.address().to_checksum_hex()) return r;
    }
    return nullptr;
  }
  static uint64_t parts(const NodeProcess& n) {
    for (const auto& s : n.get_json("/api/streams")) {
      if (s["name"] == "show") return s["stats"]["parts_received"].get<uint64_t>();
    }
    return 0;
  }
  bool parts_flowing_stopped() {
    uint64_t before = parts(*r1);
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    return parts(*r1) == before;
  }
  // Waits until nothing is left to redeem anywhere.
  bool settled(std::chrono::seconds limit) {
    return wait_until(
        [&] {
          for (auto* n : {b.get(), r1.get(), r2.get()}) {
            json p = n->get_json("/api/payments");
            if (p["winners_queued"] != 0) return false;
          }
          return true;
        },
        limit);
  }
};

TEST_P(PaidLine, BalancesMatchWhatWasMeteredWithinTheTicketVariance) {
  ASSERT_TRUE(wait_until([&] { return parts(*v) >= 4; }, std::chrono::seconds(30))) << v->process().err();
  std::this_thread::sleep_for(std::chrono::seconds(30));
  // The viewer leaves: r2 has no one to serve and unsubscribes, then r1 does;
  // the media stops along the line. Then the last winners settle.
  EXPECT_EQ(v->stop(), 0);
  ASSERT_TRUE(wait_until([&] { return parts_flowing_stopped(); }, std::chrono::seconds(20)));
  ASSERT_TRUE(settled(std::chrono::seconds(30)));

  // Each paying relationship: payee P, payer Q, judged from P's side (Q = v is gone).
  struct Pair {
    NodeProcess *payee, *payer;
  };
  std::map<NodeProcess*, double> expected_change;   // what was redeemed: + by it, - from it
  std::map<NodeProcess*, core::U256> earned, spent; // the same, exact
  for (auto [payee, payer] : {Pair{b.get(), r1.get()}, Pair{r1.get(), r2.get()}, Pair{r2.get(), v.get()}}) {
    json pe = relation(payee->get_json("/api/payments"), *payer);
    ASSERT_FALSE(pe.is_null()) << payee->get_json("/api/payments").dump(1);
    const json& in = pe["they_pay"];
    uint64_t n = in["tickets_received"].get<uint64_t>();
    EXPECT_GT(n, 20u) << pe.dump(1);
    EXPECT_EQ(in["tickets_rejected"], 0) << pe.dump(1);
    EXPECT_EQ(in["redeemed"], in["won"]) << "every winner redeemed: " << pe.dump(1);
    double served = ether(in["metered_wei"]);
    if (payer != v.get()) { // the payer's side, where it is still running
      json pr = relation(payer->get_json("/api/payments"), *payee);
      ASSERT_FALSE(pr.is_null());
      // Both ends metered the same bytes at the same agreed price (give or take the parts in flight at the end).
      EXPECT_NEAR(ether(pr["we_pay"]["metered_wei"]), served, 0.05 * served + 0.005);
      EXPECT_EQ(pr["we_pay"]["tickets_sent"], in["tickets_received"]) << "a ticket was lost or refused";
    }
    // Paid = won × face, whose expectation is n × EV. The bound: 4 sigma of the
    // binomial, plus one ticket's worth of debt the payer had not paid yet
    // when the media stopped, plus the 5 % metering slack above.
    double p = in["params"]["win_prob"].get<double>();
    ASSERT_GT(p, 0.2);
    double sigma = std::sqrt(static_cast<double>(n) * p * (1 - p)) * kFaceEther;
    double ev = kFaceEther * p;
    double paid = ether(in["redeemed_wei"]);
    double bound = 4 * sigma + ev + 0.05 * served;
    std::cout << "[ measured ] " << payer->address().to_checksum_hex().substr(0, 8) << " -> "
              << payee->address().to_checksum_hex().substr(0, 8) << ": metered " << served << " ether, " << n
              << " tickets (p " << p << "), " << in["won"] << " won, paid " << paid << " ether (bound ±" << bound
              << ")\n";
    EXPECT_NEAR(paid, served, bound);
    expected_change[payee] += paid;
    expected_change[payer] -= paid;
    const core::U256 exact(in["redeemed_wei"].get<std::string>());
    earned[payee] += exact;
    spent[payer] += exact;
  }
  // The ledger agrees with the nodes to the wei: each party's worth (and, on a
  // chain, the gas it paid) changed by exactly what it redeemed minus what was
  // redeemed from it.
  const core::U256 start("100000000000000000000");
  for (auto* n : {b.get(), r1.get(), r2.get(), v.get()}) {
    EXPECT_EQ((worth(*n) + spent[n]).str(), (start + earned[n]).str()) << n->address().to_checksum_hex();
  }
  // The viewer only paid; the broadcaster only earned.
  EXPECT_LT(expected_change[v.get()], 0);
  EXPECT_GT(expected_change[b.get()], 0);
}

TEST_P(PaidLine, RelayKilledWithWinnersQueuedRedeemsThemAllAfterARestart) {
  ASSERT_TRUE(wait_until([&] { return parts(*v) >= 4; }, std::chrono::seconds(30))) << v->process().err();
  // Wait until r1 holds winners it has not redeemed yet, then kill it hard.
  json queued;
  ASSERT_TRUE(wait_until(
      [&] {
        queued = r1->get_json("/api/payments")["winners"];
        return queued.size() >= 2;
      },
      std::chrono::seconds(40)));
  r1->kill9();
  std::set<std::string> lost;
  for (const auto& w : queued) lost.insert(w["ticket_hash"].get<std::string>());
  r1->start(); // same data dir, same key: the winners come back from payments.sqlite
  ASSERT_TRUE(wait_until([&] { return r1->get_json("/api/payments")["ledger"]["reachable"] == true; },
                         std::chrono::seconds(10)));
  ASSERT_TRUE(
      wait_until([&] { return r1->get_json("/api/payments")["winners_queued"] == 0; }, std::chrono::seconds(30)))
      << r1->get_json("/api/payments").dump(1);
  // Every winner queued at the kill was redeemed, each exactly once.
  auto t = wallet({"tickets", "--key", r1->key_file()});
  ASSERT_EQ(t.exit_code, 0) << t.err;
  json redeemed = json::parse(t.out)["tickets"];
  std::map<std::string, int> times;
  core::U256 sum = 0;
  for (const auto& x : redeemed) {
    ++times[x["ticket_hash"].get<std::string>()];
    sum += core::U256(x["face_value"].get<std::string>());
  }
  for (const auto& h : lost) EXPECT_EQ(times[h], 1) << h << " was not redeemed exactly once";
  for (const auto& [h, n] : times) EXPECT_EQ(n, 1) << h;
  // r1 earned exactly the face values of its redeemed tickets (what it pays
  // comes out of its deposit), less on a chain the gas it paid.
  auto [a, gas] = account_and_gas(*r1);
  EXPECT_EQ((core::U256(a["balance"].get<std::string>()) + gas).str(),
            (core::U256("100000000000000000000") - core::U256("11000000000000000000") + sum).str());
}

INSTANTIATE_TEST_SUITE_P(BothBackends, PaidLine, ::testing::Values("embedded", "anvil"),
                         [](const auto& p) { return p.param; });

} // namespace
} // namespace openstreaming
