// Payments in the live network, real processes: an embedded ledger, a
// broadcaster, two relays and a viewer in a line (b ← r1 ← r2 ← v), each
// paying its upstream with probabilistic tickets at the price agreed on
// subscription. After the run every party's balance change on the ledger
// matches what was metered, within the bound the ticket parameters imply
// (docs/payments.md), and a relay killed with winners queued redeems them all
// after a restart, none twice.
#include "core/amount.h"
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
    "[agent]\ncost_per_mb = \"0.01ether\"\nmax_price_per_mb = \"1ether\"\nreflect_interval_ms = 1000\nstate_interval_ms = 1000\n"
    "[payments]\nredeem_cost = \"0.00002ether\"\nticket_kb = 64\npoll_ms = 200\n";
constexpr double kFaceEther = 0.002;

struct PaidLine : ::testing::Test {
  test::TempDir dir;
  std::unique_ptr<test::Process> ledger;
  std::string url;
  std::unique_ptr<NodeProcess> b, r1, r2, v;

  void SetUp() override {
    NodeSpec s;
    s.peer_exchange = false;
    s.config_toml = kPaidToml;
    b = std::make_unique<NodeProcess>(dir, "b", 901, s);
    r1 = std::make_unique<NodeProcess>(dir, "r1", 902, s);
    r2 = std::make_unique<NodeProcess>(dir, "r2", 903, s);
    v = std::make_unique<NodeProcess>(dir, "v", 904, s);
    json accounts = json::object();
    for (auto* n : {b.get(), r1.get(), r2.get(), v.get()}) accounts[n->address().to_checksum_hex()] = "100ether";
    // 100 ms blocks, 10-block rounds: a winner is redeemed ~2 s after it won.
    std::string genesis =
        dir.write("genesis.json",
                  json{{"chain_id", 1337}, {"block_ms", 100}, {"round_blocks", 10}, {"accounts", accounts}}.dump());
    ledger = std::make_unique<test::Process>(std::vector<std::string>{OPENSTREAMING_BIN, "ledger", "--data-dir",
                                                                      dir.file("ledger"), "--listen", "127.0.0.1:0",
                                                                      "--genesis", genesis});
    auto line = ledger->wait_for_line("listening rpc ", std::chrono::seconds(20));
    ASSERT_TRUE(line) << ledger->err();
    url = "http://" + line->substr(std::string("listening rpc ").size());
    // Everyone who receives media pays for it: a deposit and a reserve.
    for (auto* n : {r1.get(), r2.get(), v.get()}) {
      auto r = wallet({"deposit", "--key", n->key_file(), "--deposit", "10ether", "--reserve", "1ether"});
      ASSERT_EQ(r.exit_code, 0) << r.err;
    }
    b->spec().extra_args = {"--ingest", "testsrc", "--stream", "show", "--ledger", url};
    b->start();
    r1->spec().bootstrap = {b->p2p()};
    r1->spec().extra_args = {"--ledger", url};
    r1->start();
    r2->spec().bootstrap = {r1->p2p()};
    r2->spec().extra_args = {"--ledger", url};
    r2->start();
    v->spec().bootstrap = {r2->p2p()};
    v->spec().extra_args = {"--ledger", url, "--watch", "show", "--role", "viewer"};
    v->start();
  }

  test::RunResult wallet(std::vector<std::string> args) {
    args.insert(args.begin(), {OPENSTREAMING_BIN, "wallet"});
    args.insert(args.begin() + 3, {"--ledger", url});
    test::SpawnOptions o;
    o.env["OPENSTREAMING_PASSWORD"] = "test";
    return test::run(args, o, std::chrono::seconds(30));
  }
  json account(const NodeProcess& n) {
    auto r = wallet({"balance", n.address().to_checksum_hex(), "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out, nullptr, false);
  }
  // Balance + deposit + reserve, in ether.
  double worth(const NodeProcess& n) {
    json a = account(n);
    return ether(a["balance"]) + ether(a["deposit"]) + ether(a["reserve"]);
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

TEST_F(PaidLine, BalancesMatchWhatWasMeteredWithinTheTicketVariance) {
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
  std::map<NodeProcess*, double> expected_change; // what was redeemed: + by it, - from it
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
  }
  // The ledger agrees with the nodes, to the wei rounded in printing: each
  // party's worth changed by exactly what it redeemed minus what was redeemed from it.
  for (auto* n : {b.get(), r1.get(), r2.get(), v.get()}) {
    EXPECT_NEAR(worth(*n), 100.0 + expected_change[n], 1e-6) << n->address().to_checksum_hex();
  }
  // The viewer only paid; the broadcaster only earned.
  EXPECT_LT(expected_change[v.get()], 0);
  EXPECT_GT(expected_change[b.get()], 0);
}

TEST_F(PaidLine, RelayKilledWithWinnersQueuedRedeemsThemAllAfterARestart) {
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
    sum += core::U256(x["faceValue"].get<std::string>());
  }
  for (const auto& h : lost) EXPECT_EQ(times[h], 1) << h << " was not redeemed exactly once";
  for (const auto& [h, n] : times) EXPECT_EQ(n, 1) << h;
  // r1 earned exactly the face values of its redeemed tickets (what it pays comes out of its deposit).
  json a = account(*r1);
  EXPECT_EQ(core::U256(a["balance"].get<std::string>()),
            core::U256("100000000000000000000") - core::U256("11000000000000000000") + sum);
}

} // namespace
} // namespace openstreaming
