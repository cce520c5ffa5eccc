// `openstreaming ledger` and `openstreaming wallet` as a user runs them: real
// processes, a real SQLite file, JSON-RPC over HTTP; kill -9 and restart.
#include "core/keystore.h"
#include "core/random.h"
#include "support/embedded_ledger.h"
#include "support/process.h"
#include "support/temp_dir.h"
#include "support/wait.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <csignal>

namespace openstreaming {
namespace {

using nlohmann::json;
using test::run;
using test::RunResult;

struct LedgerWallet : ::testing::Test {
  test::TempDir dir;
  core::DeterministicRandom rng{77};
  core::PrivateKey alice = core::PrivateKey::generate(rng), bob = core::PrivateKey::generate(rng);
  std::string alice_key = dir.write("alice.json", core::keystore::encrypt(alice, "pw", rng, {1024, 8, 1}));
  std::string bob_key = dir.write("bob.json", core::keystore::encrypt(bob, "pw", rng, {1024, 8, 1}));
  std::string genesis = dir.write(
      "genesis.json",
      json{{"chain_id", 1337},
           {"block_ms", 100},
           {"round_blocks", 5},
           {"accounts", {{alice.address().to_checksum_hex(), "100ether"}, {bob.address().to_checksum_hex(), "1ether"}}}}
          .dump());
  std::unique_ptr<test::Process> ledger;
  std::string url;

  void start_ledger() {
    auto u = test::start_embedded_ledger(ledger, dir, genesis);
    ASSERT_TRUE(u) << u.error().message;
    url = *u;
  }
  RunResult wallet(std::vector<std::string> args) {
    args.insert(args.begin(), {OPENSTREAMING_BIN, "wallet"});
    args.insert(args.begin() + 3, {"--ledger", url});
    test::SpawnOptions o;
    o.env["OPENSTREAMING_PASSWORD"] = "pw";
    return run(args, o, std::chrono::seconds(30));
  }
  json balance(const core::PrivateKey& k) {
    auto r = wallet({"balance", k.address().to_checksum_hex(), "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out, nullptr, false);
  }
};

TEST_F(LedgerWallet, BalancesDepositsTransfersSurviveAKill) {
  start_ledger();
  json a = balance(alice);
  EXPECT_EQ(a, (json{{"balance", "100000000000000000000"},
                     {"deposit", "0"},
                     {"reserve", "0"},
                     {"stake", "0"},
                     {"withdraw_round", 0}}));
  auto d = wallet({"deposit", "--key", alice_key, "--deposit", "2ether", "--reserve", "1ether"});
  ASSERT_EQ(d.exit_code, 0) << d.err;
  auto t = wallet({"transfer", "--key", alice_key, "--to", bob.address().to_checksum_hex(), "--amount", "1.5ether"});
  ASSERT_EQ(t.exit_code, 0) << t.err;
  a = balance(alice);
  EXPECT_EQ(a["balance"], "95500000000000000000");
  EXPECT_EQ(a["deposit"], "2000000000000000000");
  EXPECT_EQ(a["reserve"], "1000000000000000000");
  EXPECT_EQ(balance(bob)["balance"], "2500000000000000000");
  // Withdraw before unlocking: refused with a reason; unlock then wait.
  auto early = wallet({"withdraw", "--key", alice_key});
  EXPECT_EQ(early.exit_code, 2);
  EXPECT_NE(early.err.find("unlock first"), std::string::npos) << early.err;
  ASSERT_EQ(wallet({"unlock", "--key", alice_key}).exit_code, 0);
  auto accounts = wallet({"accounts"});
  ASSERT_EQ(accounts.exit_code, 0);
  EXPECT_EQ(json::parse(accounts.out).size(), 2u);
  // Overspending is refused and changes nothing.
  auto broke = wallet({"transfer", "--key", bob_key, "--to", alice.address().to_checksum_hex(), "--amount", "10ether"});
  EXPECT_EQ(broke.exit_code, 2);
  EXPECT_NE(broke.err.find("insufficient balance"), std::string::npos) << broke.err;

  // kill -9, restart on the same data: everything sealed is still there.
  std::this_thread::sleep_for(std::chrono::milliseconds(300)); // a few blocks
  ledger->signal(SIGKILL);
  ledger->wait(std::chrono::seconds(5));
  start_ledger();
  a = balance(alice);
  EXPECT_EQ(a["balance"], "95500000000000000000");
  EXPECT_EQ(a["deposit"], "2000000000000000000");
  EXPECT_NE(a["withdraw_round"], 0);
  // After the unlock period (2 rounds of 5 blocks of 100 ms), withdraw works.
  ASSERT_TRUE(test::wait_until(
      [&] {
        return wallet({"withdraw", "--key", alice_key}).exit_code == 0;
      },
      std::chrono::seconds(10)));
  EXPECT_EQ(balance(alice)["balance"], "98500000000000000000");
  auto tickets = wallet({"tickets", "--key", bob_key});
  ASSERT_EQ(tickets.exit_code, 0) << tickets.err;
  auto tj = json::parse(tickets.out);
  EXPECT_EQ(tj["domain"]["name"], "OpenStreaming");
  EXPECT_EQ(tj["domain"]["chainId"], "1337");
  EXPECT_TRUE(tj["tickets"].is_array());
  ledger->signal(SIGTERM);
  EXPECT_EQ(ledger->wait(std::chrono::seconds(10)), 0);
}

TEST_F(LedgerWallet, BadInputIsAClearError) {
  std::string bad = dir.write("bad.json", R"({"chain_id": 1337, "accounts": {"0x12": "1ether"}})");
  auto r =
      run({OPENSTREAMING_BIN, "ledger", "--data-dir", dir.file("l2"), "--genesis", bad}, {}, std::chrono::seconds(20));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("genesis: account '0x12'"), std::string::npos) << r.err;
  r = run({OPENSTREAMING_BIN, "ledger", "--data-dir", dir.file("l3"), "--genesis", dir.file("missing.json")}, {},
          std::chrono::seconds(20));
  EXPECT_EQ(r.exit_code, 2);
  // A ledger file made with another genesis is refused, not silently mixed.
  start_ledger();
  ledger->signal(SIGTERM);
  ledger->wait(std::chrono::seconds(10));
  std::string other = dir.write("other.json", R"({"chain_id": 1338, "accounts": {}})");
  r = run({OPENSTREAMING_BIN, "ledger", "--data-dir", dir.file("ledger"), "--genesis", other}, {},
          std::chrono::seconds(20));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("another genesis"), std::string::npos) << r.err;
  // The wallet against nothing: exit 2 and a reason.
  url = "http://127.0.0.1:1";
  auto w = wallet({"balance", alice.address().to_checksum_hex()});
  EXPECT_EQ(w.exit_code, 2);
  EXPECT_NE(w.err.find("cannot reach"), std::string::npos) << w.err;
  w = wallet({"transfer", "--key", alice_key, "--to", "0x12", "--amount", "1ether"});
  EXPECT_EQ(w.exit_code, 2);
}

} // namespace
} // namespace openstreaming
