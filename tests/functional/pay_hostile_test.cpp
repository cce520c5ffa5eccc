// A scripted hostile peer (real TLS, real identity, the wire protocol by hand)
// against real node processes: the payer-drain attack against a funded viewer
// on the embedded ledger, and an announcement flood against a broadcaster that
// is serving an honest viewer.
#include "agent/peer_types.h"
#include "core/amount.h"
#include "core/random.h"
#include "support/embedded_ledger.h"
#include "support/hostile_peer.h"
#include "support/node_process.h"
#include "support/process.h"
#include "support/wait.h"

#include <gtest/gtest.h>

#include <thread>

namespace openstreaming {
namespace {

using nlohmann::json;
using test::HostilePeer;
using test::NodeProcess;
using test::NodeSpec;
using test::wait_until;

constexpr const char* kToml = "[timing]\nping_interval_ms = 300\nidle_timeout_ms = 4000\nhandshake_timeout_ms = 3000\n"
                              "reconnect_base_ms = 200\nreconnect_max_ms = 1000\n"
                              "[payments]\npoll_ms = 200\n";

struct PayHostile : ::testing::Test {
  test::TempDir dir;
  std::unique_ptr<test::Process> ledger;
  std::string url;

  void start_ledger(const std::vector<const NodeProcess*>& funded) {
    std::vector<core::Address> accounts;
    for (const auto* n : funded) accounts.push_back(n->address());
    auto u = test::start_embedded_ledger(ledger, dir, test::write_genesis(dir, accounts, 100, 10));
    ASSERT_TRUE(u) << u.error().message;
    url = *u;
  }
  test::RunResult wallet(std::vector<std::string> args) {
    args.insert(args.begin(), {OPENSTREAMING_BIN, "wallet"});
    args.insert(args.begin() + 3, {"--ledger", url});
    test::SpawnOptions o;
    o.env["OPENSTREAMING_PASSWORD"] = "test";
    return test::run(args, o, std::chrono::seconds(30));
  }
  // Balance + deposit + reserve, exactly, in wei.
  core::U256 worth(const NodeProcess& n) {
    auto r = wallet({"balance", n.address().to_checksum_hex(), "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    json a = json::parse(r.out, nullptr, false);
    core::U256 total = 0;
    for (const char* k : {"balance", "deposit", "reserve"})
      total += core::Amount::from_decimal_wei(a[k].get<std::string>())->wei();
    return total;
  }
};

// The measured attack: announce a stream under one's own key, answer
// "accepted" at 1 ether per MB to a Subscribe never sent, hand out ticket
// parameters of face value 1 ether that always win, push validly signed parts.
// Before the payer-side rules the victim signed winning tickets to the attacker
// (40 ether of face value in 30 s); now it signs none, its ledger worth does
// not move, and the attacker is shunned.
TEST_F(PayHostile, AStrangerWhoAnnouncesAcceptsAndPushesPartsIsPaidNothing) {
  NodeSpec s;
  s.peer_exchange = false;
  s.config_toml = kToml;
  NodeProcess victim(dir, "victim", 1501, s);
  start_ledger({&victim});
  auto funded = wallet({"deposit", "--key", victim.key_file(), "--deposit", "1ether", "--reserve", "1ether"});
  ASSERT_EQ(funded.exit_code, 0) << funded.err;
  victim.spec().extra_args = {"--ledger", url, "--role", "viewer"};
  victim.start();
  ASSERT_TRUE(
      wait_until([&] { return victim.get_json("/api/payments").contains("balance"); }, std::chrono::seconds(20)))
      << "the victim never saw the ledger";
  const core::U256 before = worth(victim);

  core::DeterministicRandom rng(77);
  HostilePeer attacker(core::PrivateKey::generate(rng), victim.p2p());
  auto id = attacker.announce("evil", 1'700'000'000);
  attacker.pump(std::chrono::milliseconds(300));
  uint64_t round = victim.get_json("/api/payments")["ledger"].value("round", uint64_t{0});
  pay::TicketParams greedy;
  greedy.recipient = attacker.address();
  greedy.face_value = core::U256(1'000'000'000'000'000'000ULL); // 1 ether, within the payer's face-value limit
  greedy.win_prob = pay::max_win_prob();                        // every ticket wins
  greedy.creation_round = round;
  int64_t now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  for (uint32_t k = 0; k < 40 && !attacker.closed(); ++k) {
    attacker.subscribe_result(id, true, "1000000000000000000"); // 1 ether per MB
    attacker.ticket_params(greedy);
    attacker.part(id, k / 4, k % 4, 100'000, now_ms + 250 * k);
    attacker.pump(std::chrono::milliseconds(150));
  }
  attacker.pump(std::chrono::milliseconds(1000));

  EXPECT_EQ(attacker.received(core::MediaFrameType::tickets), 0u) << "the victim signed tickets to a stranger";
  EXPECT_TRUE(attacker.closed()) << "the attacker was never cut off";
  ASSERT_TRUE(attacker.disconnect_reason());
  EXPECT_EQ(*attacker.disconnect_reason(), static_cast<uint32_t>(agent::DisconnectReason::shunned));
  for (const char* type : {"subscribe_result", "ticket_params", "part"}) {
    EXPECT_GT(victim.metric("openstreaming_frames_unsolicited_total", {std::string("type=\"") + type + "\""}), 0)
        << type;
  }
  json payments = victim.get_json("/api/payments");
  for (const auto& r : payments["relationships"]) {
    if (r["address"] != attacker.address().to_checksum_hex()) continue;
    EXPECT_FALSE(r.contains("we_pay")) << r.dump();
  }
  // Two more rounds: nothing to redeem against the victim, its worth is exact.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  EXPECT_EQ(worth(victim), before);
}

// 1,000 announcements of streams under throwaway keys as fast as a peer can
// send them, plus oversized part indexes: the broadcaster keeps at most its
// stream cap, cuts the flooder off, and its honest viewer keeps every part.
TEST_F(PayHostile, AnAnnouncementFloodIsCappedAndTheFlooderCutOff) {
  test::BroadcasterAndViewer pair(dir, 1601);
  NodeProcess& target = *pair.broadcaster;
  NodeProcess& viewer = *pair.viewer;
  auto viewer_parts = [&]() -> uint64_t {
    for (const auto& s : viewer.get_json("/api/streams")) {
      if (s["name"] == "show") return s["stats"]["parts_received"].get<uint64_t>();
    }
    return 0;
  };
  ASSERT_TRUE(wait_until([&] { return viewer_parts() >= 4; }, std::chrono::seconds(30))) << "the stream never flowed";

  core::DeterministicRandom rng(78);
  HostilePeer flooder(core::PrivateKey::generate(rng), target.p2p());
  const uint64_t parts_before = viewer_parts();
  auto started = std::chrono::steady_clock::now();
  int sent = 0;
  for (; sent < 1000 && !flooder.closed(); ++sent) {
    // A fresh key per announcement: the per-broadcaster cap alone cannot stop this.
    flooder.announce_for(core::PrivateKey::generate(rng), "spam" + std::to_string(sent), 1'700'000'000);
    if (sent % 50 == 49) flooder.pump(std::chrono::milliseconds(10));
  }
  flooder.pump(std::chrono::milliseconds(2000));
  EXPECT_TRUE(flooder.closed()) << "the flooder was never cut off (" << sent << " sent)";
  ASSERT_TRUE(flooder.disconnect_reason());
  EXPECT_EQ(*flooder.disconnect_reason(), static_cast<uint32_t>(agent::DisconnectReason::rate_limited));
  EXPECT_GT(target.metric("openstreaming_frames_rate_limited_total", {"type=\"announcement\""}), 0);
  EXPECT_LE(target.get_json("/api/streams").size(), 256u);
  // The honest viewer got every part meanwhile (one per 0.5 s, one of slack).
  std::this_thread::sleep_for(std::chrono::seconds(3));
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  uint64_t got = viewer_parts() - parts_before;
  EXPECT_GE(static_cast<double>(got), secs / 0.5 - 2) << got << " parts in " << secs << " s";
  EXPECT_EQ(viewer.peer_addresses().size(), 1u);
}

} // namespace
} // namespace openstreaming
