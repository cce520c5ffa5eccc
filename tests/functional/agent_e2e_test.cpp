// The agent with real processes on loopback: a broadcaster, two parallel relay
// paths, a viewer. The relay the viewer uses turns bad mid-stream (drop, delay,
// lying about capacity); the viewer must re-route to the honest path within
// kRerouteBound, keep playing, rate the bad relay incoherent, and still
// distrust it after a restart. An honest relay that stalls briefly is not shunned.
// A viewer swaps a neighbour that carries nothing for one it learned of (the
// overlay changes), and its memory's calibration shows in /api/memory.
#include "support/node_process.h"
#include "support/wait.h"

#include <gtest/gtest.h>

#include <csignal>
#include <iostream>
#include <thread>

namespace openstreaming {
namespace {

using nlohmann::json;
using test::NodeProcess;
using test::NodeSpec;
using test::wait_until;
using Clock = std::chrono::steady_clock;

// The bound we state (docs/agent.md): from the first bad part to the viewer's
// switch, 10 s (the target). Detection takes a few parts (0.5 s each)
// and the reflect step runs every second here; measured 0.4-6.2 s, also under
// ASan on the two-core CI machine.
constexpr auto kRerouteBound = std::chrono::seconds(10);
constexpr int kMisbehaveAfterS = 12;

// `steady`: a viewer that only leaves a route for a fault. With the default
// hysteresis (0.1) a load spike on the shared CI machine can make the other
// path look better on latency alone, and a viewer that left early never sees
// the fault it is supposed to judge (CI saw that once). 0.35 is above what
// latency or bandwidth alone can add (0.3 each), so a switch here is the
// empathy protocol's doing; performance switches have their unit tests.
// `timing` and `agent` are further keys of those tables.
std::string agent_toml(bool capacity, bool steady = false, const std::string& timing = "",
                       const std::string& agent = "") {
  std::string t = "[timing]\nping_interval_ms = 300\nidle_timeout_ms = 4000\nhandshake_timeout_ms = 3000\n"
                  "reconnect_base_ms = 200\nreconnect_max_ms = 1000\nstream_stall_ms = 6000\n" +
                  timing + "[agent]\nreflect_interval_ms = 1000\nstate_interval_ms = 1000\n" + agent;
  if (capacity) t += "upload_capacity_kbps = 20000\n";
  if (steady) t += "hysteresis = 0.35\n";
  return t;
}

// The testsrc broadcaster of "show", and a relay dialling `upstream`; neither learns peers.
NodeSpec broadcaster_spec() {
  NodeSpec s;
  s.peer_exchange = false;
  s.config_toml = agent_toml(false);
  s.extra_args = {"--ingest", "testsrc", "--stream", "show"};
  return s;
}
NodeSpec relay_spec(const std::string& upstream, bool capacity) {
  NodeSpec s;
  s.peer_exchange = false;
  s.config_toml = agent_toml(capacity);
  s.bootstrap = {upstream};
  return s;
}

json find_by(const json& list, const char* key, const std::string& value) {
  if (!list.is_array()) return nullptr;
  for (const auto& e : list) {
    if (e.contains(key) && e[key] == value) return e;
  }
  return nullptr;
}

std::string primary_of(const NodeProcess& v) {
  auto r = find_by(v.get_json("/api/routes"), "name", "show");
  return r.is_null() || r["primary"].is_null() ? "" : r["primary"].get<std::string>();
}

uint64_t parts_of(const NodeProcess& v) {
  auto s = find_by(v.get_json("/api/streams"), "name", "show");
  return s.is_null() ? 0 : s["stats"]["parts_received"].get<uint64_t>();
}

json neighbour(const NodeProcess& v, const NodeProcess& n) {
  return find_by(v.get_json("/api/neighbors"), "address", n.address().to_checksum_hex());
}

struct Diamond {
  test::TempDir dir;
  std::unique_ptr<NodeProcess> b, bad, good, v;

  explicit Diamond(const std::string& misbehave) {
    NodeSpec bs;
    bs.peer_exchange = false;
    bs.config_toml = agent_toml(false);
    bs.extra_args = {"--ingest", "testsrc", "--stream", "show"};
    b = std::make_unique<NodeProcess>(dir, "b", 801, bs);
    b->start();
    NodeSpec rs;
    rs.peer_exchange = false;
    rs.config_toml = agent_toml(true);
    rs.bootstrap = {b->p2p()};
    NodeSpec bad_spec = rs;
    bad_spec.extra_args = {"--misbehave", misbehave + ",after:" + std::to_string(kMisbehaveAfterS)};
    bad = std::make_unique<NodeProcess>(dir, "bad", 802, bad_spec);
    bad->start();
    bad_started = Clock::now();
    NodeSpec vs;
    vs.peer_exchange = false;
    vs.config_toml = agent_toml(false, true);
    vs.bootstrap = {bad->p2p()};
    vs.extra_args = {"--watch", "show", "--role", "viewer"};
    v = std::make_unique<NodeProcess>(dir, "v", 803, vs);
    v->start();
  }

  // The honest path, once the viewer is on the bad one: it dials both b and v.
  void start_good() {
    NodeSpec gs;
    gs.peer_exchange = false;
    gs.config_toml = agent_toml(true);
    gs.bootstrap = {b->p2p(), v->p2p()};
    good = std::make_unique<NodeProcess>(dir, "good", 804, gs);
    good->start();
  }

  Clock::time_point bad_started;
};

void run_misbehaviour_scenario(const std::string& misbehave) {
  Diamond d(misbehave);
  std::string bad_addr = d.bad->address().to_checksum_hex(), good_addr;
  ASSERT_TRUE(wait_until([&] { return parts_of(*d.v) >= 4 && primary_of(*d.v) == bad_addr; }, std::chrono::seconds(30)))
      << d.v->process().err();
  d.start_good();
  good_addr = d.good->address().to_checksum_hex();
  ASSERT_TRUE(
      wait_until([&] { return !neighbour(*d.v, *d.good).is_null() && neighbour(*d.v, *d.good)["connected"] == true; },
                 std::chrono::seconds(10)));
  // The honest path is a route the viewer knows before the relay turns bad
  // (else the test would judge the mesh's start-up, not the re-route).
  auto candidate_good = [&] {
    auto r = find_by(d.v->get_json("/api/routes"), "name", "show");
    return !r.is_null() && !find_by(r["candidates"], "address", good_addr).is_null();
  };
  ASSERT_TRUE(wait_until(candidate_good, std::chrono::seconds(10)))
      << "the viewer has no route through the honest relay\nviewer routes " << d.v->get_json("/api/routes").dump()
      << "\ngood routes " << d.good->get_json("/api/routes").dump() << "\ngood peers "
      << d.good->get_json("/api/peers").dump() << "\ngood streams " << d.good->get_json("/api/streams").dump() << "\n"
      << d.good->process().err().substr(0, 6000);
  // Honest so far: the viewer stays where it is (hysteresis) and trusts both.
  std::this_thread::sleep_until(d.bad_started + std::chrono::seconds(kMisbehaveAfterS - 1));
  ASSERT_EQ(primary_of(*d.v), bad_addr) << "the viewer left before the relay misbehaved";
  EXPECT_EQ(neighbour(*d.v, *d.bad)["status"], "trusted");

  // The relay turns bad: the viewer re-routes within the bound.
  auto bad_from = d.bad_started + std::chrono::seconds(kMisbehaveAfterS);
  std::this_thread::sleep_until(bad_from);
  ASSERT_TRUE(wait_until([&] { return primary_of(*d.v) == good_addr; }, std::chrono::seconds(30)))
      << "viewer routes " << d.v->get_json("/api/routes").dump() << "\ngood peers "
      << d.good->get_json("/api/peers").dump() << "\ngood routes " << d.good->get_json("/api/routes").dump()
      << "\ngood streams " << d.good->get_json("/api/streams").dump() << "\nviewer neighbours "
      << d.v->get_json("/api/neighbors").dump() << "\n"
      << d.good->process().err().substr(0, 6000);
  auto took = Clock::now() - bad_from;
  std::cout << "[ measured ] " << misbehave << ": re-routed "
            << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms after the first bad part\n";
  EXPECT_LE(took, kRerouteBound) << "re-routed after "
                                 << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms";
  auto route = find_by(d.v->get_json("/api/routes"), "name", "show");
  ASSERT_FALSE(route["last_switch_reason"].is_null());
  std::cout << "[ measured ] switch reason: " << route["last_switch_reason"].get<std::string>() << "\n";

  // Continuity recovers: parts keep coming through the honest relay.
  uint64_t before = parts_of(*d.v);
  std::this_thread::sleep_for(std::chrono::seconds(5));
  EXPECT_GE(parts_of(*d.v), before + 8) << "the stream did not flow again";

  // The bad relay's coherence, as the viewer sees it, falls below 0.7.
  ASSERT_TRUE(wait_until([&] { return neighbour(*d.v, *d.bad)["coherence"]["score"].get<double>() < 0.7; },
                         std::chrono::seconds(20)))
      << neighbour(*d.v, *d.bad).dump(1);
  EXPECT_EQ(neighbour(*d.v, *d.bad)["status"], "incoherent");
  EXPECT_NE(neighbour(*d.v, *d.good)["status"], "shunned");
  // Long enough for probation to start and be saved.
  ASSERT_TRUE(wait_until([&] { return neighbour(*d.v, *d.bad)["probation_until_ms"].get<int64_t>() > 0; },
                         std::chrono::seconds(20)));

  // Restart the viewer: it still distrusts the bad relay and takes the honest path.
  EXPECT_EQ(d.v->stop(), 0);
  d.v->spec().bootstrap = {d.bad->p2p(), d.good->p2p()}; // it comes back on a new port: it dials both
  d.v->start();
  ASSERT_TRUE(wait_until([&] { return !neighbour(*d.v, *d.bad).is_null(); }, std::chrono::seconds(5)));
  EXPECT_EQ(neighbour(*d.v, *d.bad)["status"], "incoherent") << neighbour(*d.v, *d.bad).dump(1);
  ASSERT_TRUE(wait_until([&] { return parts_of(*d.v) >= 4; }, std::chrono::seconds(30)));
  // If the distrusted relay answers first it is better than nothing; once the
  // honest one is there too, the viewer takes it.
  EXPECT_TRUE(wait_until([&] { return primary_of(*d.v) == good_addr; }, std::chrono::seconds(10)))
      << d.v->get_json("/api/routes").dump(1);
}

TEST(AgentE2e, DroppingRelayIsLeftAndDistrusted) {
  run_misbehaviour_scenario("drop:0.3");
}
TEST(AgentE2e, DelayingRelayIsLeftAndDistrusted) {
  run_misbehaviour_scenario("delay:800");
}
TEST(AgentE2e, RelayLyingAboutCapacityIsLeftAndDistrusted) {
  run_misbehaviour_scenario("lie-capacity:10");
}

TEST(AgentE2e, HonestRelayThatStallsBrieflyIsNotShunned) {
  test::TempDir dir;
  NodeProcess b(dir, "b", 811, broadcaster_spec());
  b.start();
  NodeProcess r(dir, "r", 812, relay_spec(b.p2p(), true));
  r.start();
  NodeSpec vs;
  vs.peer_exchange = false;
  vs.config_toml = agent_toml(false);
  vs.bootstrap = {r.p2p()};
  vs.extra_args = {"--watch", "show"};
  NodeProcess v(dir, "v", 813, vs);
  v.start();
  ASSERT_TRUE(wait_until([&] { return parts_of(v) >= 8; }, std::chrono::seconds(30)));
  ::kill(r.process().pid(), SIGSTOP); // a 2-second hiccup (GC pause, disk stall, ...)
  std::this_thread::sleep_for(std::chrono::seconds(2));
  ::kill(r.process().pid(), SIGCONT);
  uint64_t after = parts_of(v);
  ASSERT_TRUE(wait_until([&] { return parts_of(v) >= after + 10; }, std::chrono::seconds(20)));
  auto n = neighbour(v, r);
  EXPECT_NE(n["status"], "shunned") << n.dump(1);
  EXPECT_EQ(n["connected"], true);
  EXPECT_EQ(n["observed"]["parts_invalid"], 0);
  EXPECT_EQ(primary_of(v), r.address().to_checksum_hex());
}

bool has_peer(const NodeProcess& n, const NodeProcess& other) {
  return !find_by(n.get_json("/api/peers"), "address", other.address().to_checksum_hex()).is_null();
}

TEST(AgentE2e, AViewerReplacesAUselessNeighbourAndItsCalibrationIsInTheMemoryApi) {
  // b - r - v - i: v watches through r; i carries nothing for v and offers no
  // route. v keeps two peers (target_peers = 2), so it never dials b of its own
  // accord; it learns b's endpoint from r by peer exchange, and topology
  // adaptation (judged every second here, a neighbour after 4 s) swaps i for b.
  test::TempDir dir;
  NodeProcess b(dir, "b", 811, broadcaster_spec());
  b.start();
  NodeProcess r(dir, "r", 812, relay_spec(b.p2p(), false));
  r.start();
  NodeSpec is;
  is.peer_exchange = false;
  is.config_toml = agent_toml(false);
  NodeProcess i(dir, "i", 813, is);
  i.start();
  NodeSpec vs;
  vs.bootstrap = {r.p2p(), i.p2p()};
  // Peer exchange and topology adaptation fast.
  vs.config_toml = "target_peers = 2\n" +
                   agent_toml(false, false, "pex_interval_ms = 1000\n",
                              "adapt_topology = true\ntopology_interval_ms = 1000\ntopology_min_age_ms = 4000\n"
                              "diverse_peers = 1\n");
  vs.extra_args = {"--watch", "show", "--role", "viewer"};
  NodeProcess v(dir, "v", 814, vs);
  v.start();

  ASSERT_TRUE(
      wait_until([&] { return has_peer(v, r) && has_peer(v, i) && parts_of(v) >= 2; }, std::chrono::seconds(30)))
      << v.get_json("/api/peers").dump() << "\n"
      << v.process().err().substr(0, 4000);
  EXPECT_FALSE(has_peer(v, b));
  // The overlay changes: i goes, b comes, and the stream keeps flowing.
  ASSERT_TRUE(wait_until([&] { return has_peer(v, b) && !has_peer(v, i); }, std::chrono::seconds(40)))
      << v.get_json("/api/peers").dump() << "\n"
      << v.get_json("/api/memory")["predictions"].dump();
  EXPECT_EQ(v.metric("openstreaming_neighbours_replaced_total"), 1);
  EXPECT_EQ(v.metric("openstreaming_disconnects_total", {"reason=\"replaced\"", "initiator=\"local\""}), 1);
  EXPECT_TRUE(wait_until(
      [&] {
        return i.metric("openstreaming_disconnects_total", {"reason=\"replaced\"", "initiator=\"remote\""}) == 1;
      },
      std::chrono::seconds(5)));
  EXPECT_TRUE(has_peer(v, r)); // its upstream stays
  uint64_t before = parts_of(v);
  std::this_thread::sleep_for(std::chrono::seconds(4));
  EXPECT_GE(parts_of(v), before + 4) << "the stream stalled across the change";

  // What the memory learned: the neighbour-share predictor (whose predictions
  // decided the swap) and the on-time predictor have outcomes and a
  // calibration error; the swap itself is a recorded prediction.
  json memory;
  auto calibrated = [&](const char* name) {
    memory = v.get_json("/api/memory");
    const json& p = memory["predictors"];
    return p.contains(name) && p[name]["n"].get<uint64_t>() >= 1 && p[name]["calibration_error"].is_number();
  };
  ASSERT_TRUE(wait_until([&] { return calibrated("neighbour_share") && calibrated("route_on_time"); },
                         std::chrono::seconds(20)))
      << memory["predictors"].dump(1);
  const json& p = memory["predictors"];
  for (const char* name : {"neighbour_share", "route_on_time"}) {
    double ce = p[name]["calibration_error"].get<double>();
    EXPECT_GE(ce, 0.0);
    EXPECT_LE(ce, 1.0);
    std::cout << "[ measured ] " << name << ": n " << p[name]["n"] << ", mae " << p[name]["mae"]
              << ", calibration error " << ce << "\n";
  }
  EXPECT_TRUE(p["route_latency_ms"]["calibration_error"].is_null()); // not a ratio
  bool swap_recorded = false;
  for (const auto& pr : memory["predictions"]) {
    if (pr["predictor"] == "neighbour_share" && pr["action"] == "replace" &&
        pr["subject"] == i.address().to_checksum_hex())
      swap_recorded = true;
  }
  EXPECT_TRUE(swap_recorded) << memory["predictions"].dump();
}

} // namespace
} // namespace openstreaming
