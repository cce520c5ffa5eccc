// The simulator: its link model, graphs, scenario files, determinism, that
// adversaries do what they claim, and a 500-node run of the agent against
// droppers (continuity kept, droppers isolated).
#include "core/random.h"
#include "core/secp256k1.h"
#include "sim/diagnostics.h"
#include "sim/link.h"
#include "sim/scenario.h"
#include "sim/simulator.h"
#include "sim/sweep.h"
#include "sim/topology.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <unistd.h>

namespace openstreaming::sim {

class SimulatorPeer {
public:
  static const agent::Node& node(const Simulator& s, std::size_t i) { return *s.m_nodes[i]->node; }
  static bool is_adversary(const Simulator& s, std::size_t i) { return s.m_nodes[i]->adversary >= 0; }
};

namespace {

using namespace std::chrono_literals;

TEST(SimLink, ATransferTakesDelayPlusSizeOverBandwidth) {
  core::DeterministicRandom rng(1);
  LinkParams p;
  p.delay = 20ms;
  p.bandwidth_bps = 8e6; // 1 MB/s
  LinkDirection d(p);
  Timestamp t0 = timestamp_from_us(1'000'000);
  // 100 kB on an idle link: 20 ms + 100 ms.
  EXPECT_EQ(d.arrival(t0, 100'000, rng) - t0, 120ms);
  // A second frame sent at the same moment queues behind the first.
  EXPECT_EQ(d.arrival(t0, 100'000, rng) - t0, 220ms);
  // Much later the link is idle again.
  Timestamp t1 = t0 + 10s;
  EXPECT_EQ(d.arrival(t1, 1'000, rng) - t1, 21ms);
}

TEST(SimLink, JitterAndLossNeverReorderFrames) {
  core::DeterministicRandom rng(2);
  LinkParams p;
  p.delay = 10ms;
  p.bandwidth_bps = 1e9;
  p.jitter = 30ms;
  p.loss = 0.2;
  LinkDirection d(p);
  Timestamp t = timestamp_from_us(0), last{};
  int late = 0;
  for (int i = 0; i < 2000; ++i) {
    Timestamp a = d.arrival(t, 100, rng);
    EXPECT_GE(a, last);
    EXPECT_GE(a - t, 10ms);
    if (a - t > 45ms) ++late; // a retransmission
    last = a;
    t += 1ms;
  }
  EXPECT_GT(late, 100); // loss does cost time
}

TEST(SimTopology, GraphsAreConnectedWithTheRightDegrees) {
  core::DeterministicRandom rng(3);
  auto rr = make_graph("random-regular", 1000, 8, rng);
  ASSERT_TRUE(rr);
  EXPECT_TRUE(rr->connected());
  auto adj = rr->adjacency();
  std::size_t exact = 0;
  for (const auto& a : adj) exact += a.size() == 8;
  EXPECT_GE(exact, 990u);
  for (const char* t : {"geometric", "barabasi-albert"}) {
    auto g = make_graph(t, 2000, 8, rng);
    ASSERT_TRUE(g) << t;
    EXPECT_TRUE(g->connected()) << t;
    EXPECT_GE(g->edges.size(), 2000u * 3) << t;
  }
  auto ba = make_graph("barabasi-albert", 2000, 8, rng);
  std::size_t max_degree = 0;
  for (const auto& a : ba->adjacency()) max_degree = std::max(max_degree, a.size());
  EXPECT_GT(max_degree, 40u) << "preferential attachment makes hubs";
  EXPECT_FALSE(make_graph("ring", 10, 2, rng));
}

TEST(SimScenario, ExactKeysAndClearErrors) {
  auto s = Scenario::parse(R"(seed = 9
duration_s = 30
[network]
nodes = 50
topology = "geometric"
degree = 4
latency_ms = [5, 50]
[[adversary]]
fraction = 0.1
behavior = "delay"
param = 900
start_s = 5
)",
                           "t.toml");
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->seed, 9u);
  EXPECT_EQ(s->nodes, 50u);
  EXPECT_EQ(s->latency_ms[1], 50);
  ASSERT_EQ(s->adversaries.size(), 1u);
  EXPECT_EQ(s->adversaries[0].behavior, "delay");
  for (auto [text, needle] : std::vector<std::pair<std::string, std::string>>{
           {"sed = 1", "unknown key 'sed'"},
           {"[network]\nnodez = 5", "unknown key 'network.nodez'"},
           {"[network]\ntopology = \"ring\"", "network.topology"},
           {"[strategy]\nname = \"magic\"", "strategy.name"},
           {"[[adversary]]\nbehavior = \"nice\"\nfraction = 0.1", "adversary.behavior"},
           {"duration_s = -1", "duration_s"},
           {"[network]\nnodes = 1.5", "must be an integer"},
           {"seed = ", "line 1"}}) {
    auto bad = Scenario::parse(text, "bad.toml");
    ASSERT_FALSE(bad) << text;
    EXPECT_NE(bad.error().message.find(needle), std::string::npos) << bad.error().message;
  }
}

TEST(SimScenario, EveryShippedScenarioParsesAndBuilds) {
  std::size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(OPENSTREAMING_SCENARIOS_DIR)) {
    if (e.path().extension() != ".toml") continue;
    std::ifstream in(e.path());
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(text.rfind("# ", 0), 0u) << e.path() << ": a scenario starts with a comment saying what it tests";
    auto sc = Scenario::parse(text, e.path().string());
    ASSERT_TRUE(sc) << sc.error().message;
    sc->nodes = std::min<uint64_t>(sc->nodes, 60); // building the full size is the benchmark's job
    sc->degree = std::min<uint64_t>(sc->degree, 6);
    Simulator s(*sc);
    EXPECT_TRUE(s.build()) << e.path();
    ++n;
  }
  EXPECT_GE(n, 7u);
}

std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

TEST(SimSweep, TheDefaultSpaceDrawsValidScenariosTheSameForASeed) {
  const std::string space = read_text(std::filesystem::path(OPENSTREAMING_SCENARIOS_DIR) / "spaces" / "default.toml");
  auto a = sample_space(space, "default.toml", 40, 5);
  ASSERT_TRUE(a) << a.error().message;
  ASSERT_EQ(a->size(), 40u);
  std::set<std::string> topologies;
  std::set<uint64_t> broadcasters;
  std::size_t adversarial = 0;
  for (const auto& s : *a) {
    topologies.insert(s.scenario.topology);
    broadcasters.insert(s.scenario.broadcasters);
    EXPECT_GE(s.scenario.nodes, 500u);
    EXPECT_LE(s.scenario.nodes, 5000u);
    EXPECT_GE(s.scenario.degree, 4u);
    EXPECT_LE(s.scenario.degree, 16u);
    EXPECT_LE(s.scenario.latency_ms[0], s.scenario.latency_ms[1]);
    adversarial += !s.scenario.adversaries.empty();
    // The drawn file is a plain scenario: it parses back to the same thing.
    auto again = Scenario::parse(s.toml, s.name);
    ASSERT_TRUE(again) << again.error().message << "\n" << s.toml;
    EXPECT_EQ(again->nodes, s.scenario.nodes);
    EXPECT_EQ(again->seed, s.scenario.seed);
    EXPECT_EQ(again->adversaries.size(), s.scenario.adversaries.size());
  }
  EXPECT_EQ(topologies.size(), 3u);
  EXPECT_EQ(broadcasters.size(), 3u);
  EXPECT_GT(adversarial, 5u);
  EXPECT_LT(adversarial, 35u);
  // Same seed, same scenarios; the first k are the same whatever the count; another seed differs.
  auto b = sample_space(space, "default.toml", 6, 5);
  ASSERT_TRUE(b);
  for (std::size_t i = 0; i < 6; ++i) EXPECT_EQ((*b)[i].toml, (*a)[i].toml);
  auto c = sample_space(space, "default.toml", 6, 6);
  ASSERT_TRUE(c);
  EXPECT_NE((*c)[0].toml, (*a)[0].toml);
  // --max-nodes caps the draw.
  auto d = sample_space(space, "default.toml", 10, 5, 600);
  ASSERT_TRUE(d);
  for (const auto& s : *d) EXPECT_LE(s.scenario.nodes, 600u);
}

TEST(SimSweep, BadSpacesAreClearErrors) {
  struct Case {
    std::string toml, error;
  };
  for (const Case& c : std::vector<Case>{
           {"seed = 3\n", "may not set 'seed'"},
           {"[strategy]\nname = \"agent\"\n", "may not set strategy.name"},
           {"[network]\nnodes = { int = [900, 100] }\n", "network.nodes.int needs low <= high"},
           {"[network]\nnodes = { int = [10.5, 100] }\n", "bounds must be integers"},
           {"[network]\nnodes = { log_int = [0, 100] }\n", "bounds must be >= 1"},
           {"[network]\ntopology = { choice = [] }\n", "network.topology.choice must be a non-empty array"},
           {"[network]\nloss = { uniform = [\"a\", 1] }\n", "must hold two numbers"},
           {"[network]\nnodes = { int = [100, 200] }\ndegree = 150\n", "network.degree must be >= 2 and < nodes"},
           {"[network]\nspeed = { uniform = [1, 2] }\n", "unknown key 'network.speed'"},
           {"[network\n", "line 1"},
       }) {
    auto r = sample_space(c.toml, "space.toml", 5, 1);
    ASSERT_FALSE(r) << c.toml;
    EXPECT_NE(r.error().message.find(c.error), std::string::npos) << c.toml << " -> " << r.error().message;
  }
  EXPECT_FALSE(sample_space("", "space.toml", 0, 1));
  EXPECT_FALSE(parse_strategies("agent,randm"));
  EXPECT_FALSE(parse_strategies("agent,agent"));
  EXPECT_FALSE(parse_strategies(","));
  auto ok = parse_strategies("agent,gossip");
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok, (std::vector<std::string>{"agent", "gossip"}));
}

TEST(SimSweep, TheTableNamesEachWinnerAndTheAgentsStanding) {
  auto samples = sample_space("[network]\nnodes = 300\ndegree = 6\n", "space.toml", 3, 1);
  ASSERT_TRUE(samples);
  auto summary = [](double continuity, double p95) {
    return nlohmann::json{{"continuity_index", continuity}, {"latency_ms", {{"p95", p95}}}};
  };
  std::vector<SweepRow> rows = {
      {(*samples)[0], {summary(0.990, 900), summary(0.999, 800)}},  // random wins; the agent 0.009 behind
      {(*samples)[1], {summary(0.9995, 700), summary(1.000, 900)}}, // within 0.001: the lower p95 wins
      {(*samples)[2], {summary(0.980, 700), summary(0.970, 600)}},
  };
  rows[2].sample.scenario.adversaries.push_back({0.1, "drop", 1.0, 0});
  auto t = sweep_table(rows, {"agent", "random"});
  EXPECT_EQ(t["scenarios"][0]["winner"], "random");
  EXPECT_EQ(t["scenarios"][1]["winner"], "agent");
  EXPECT_EQ(t["scenarios"][2]["winner"], "agent");
  EXPECT_FALSE(t["scenarios"][0]["agent"]["holds"].get<bool>());
  EXPECT_TRUE(t["scenarios"][1]["agent"]["holds"].get<bool>());
  EXPECT_TRUE(t["scenarios"][2]["agent"]["strictly_best"].get<bool>());
  EXPECT_EQ(t["agent"]["holds"], 2u);
  EXPECT_EQ(t["agent"]["adversarial"], 1u);
  EXPECT_EQ(t["agent"]["strictly_best_adversarial"], 1u);
  EXPECT_EQ(t["agent"]["p95_within_10pct_honest"], 1u); // 900 > 1.1 x 800; 700 <= 1.1 x 900
  EXPECT_FALSE(t["agent"]["goal_met"].get<bool>());
  EXPECT_NEAR(t["win_rate"]["agent"].get<double>(), 2.0 / 3, 1e-9);
  auto dir = std::filesystem::temp_directory_path() / ("sweep-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  ASSERT_TRUE(write_sweep_report(dir.string(), t));
  EXPECT_NE(read_text(dir / "table.md").find("| s00 "), std::string::npos);
  EXPECT_NE(read_text(dir / "report.html").find("Goal not met"), std::string::npos);
  EXPECT_EQ(nlohmann::json::parse(read_text(dir / "sweep.json")), t);
  std::filesystem::remove_all(dir);
}

Scenario small(uint64_t nodes, double duration) {
  Scenario s;
  s.seed = 11;
  s.nodes = nodes;
  s.degree = 6;
  s.duration_s = duration;
  s.bitrate_kbps = 800;
  s.join_spread_s = 3;
  s.name = "small";
  return s;
}

nlohmann::json comparable(nlohmann::json j) {
  for (const char* k : {"wall_s", "peak_rss_mb", "events_per_s", "memory_per_node_kb"}) j.erase(k);
  return j;
}

TEST(SimCrypto, StateTokensRecoverTheirSignerAndNothingElse) {
  CryptoCostModel m;
  core::DeterministicRandom rng(1);
  auto alice_key = core::PrivateKey::generate(rng);
  core::Address alice = alice_key.address(), bob = core::PrivateKey::generate(rng).address();
  Hash256 body1 = rng.bytes<32>(), body2 = rng.bytes<32>();
  auto t1 = m.sign_state(body1, alice), t2 = m.sign_state(body2, bob);
  EXPECT_NE(t1, t2);
  ASSERT_TRUE(m.recover_state(body1, t1));
  EXPECT_EQ(*m.recover_state(body1, t1), alice);
  EXPECT_EQ(*m.recover_state(body2, t2), bob);
  EXPECT_FALSE(m.recover_state(body2, t1)); // another body under alice's token: a forgery
  EXPECT_FALSE(m.recover_state(body1, core::sign_hash(alice_key, body1))); // not a token of this run
  m.age(); // the previous generation is still answered...
  EXPECT_TRUE(m.recover_state(body1, t1));
  m.age(); // ...the one before is gone: a state is never delivered that late
  EXPECT_FALSE(m.recover_state(body1, t1));
}

TEST(Simulator, SameSeedSameSummary) {
  Scenario sc = small(60, 25);
  sc.adversaries.push_back({0.1, "drop", 0.5, 5});
  Simulator a(sc), b(sc);
  ASSERT_TRUE(a.build());
  ASSERT_TRUE(b.build());
  a.run();
  b.run();
  EXPECT_EQ(comparable(a.summary()), comparable(b.summary()));
  EXPECT_EQ(a.timeseries_csv(), b.timeseries_csv());
  EXPECT_GT(a.summary()["events"].get<uint64_t>(), 10000u);
  sc.seed = 12;
  Simulator c(sc);
  ASSERT_TRUE(c.build());
  c.run();
  EXPECT_NE(comparable(a.summary()), comparable(c.summary()));
}

TEST(Simulator, AnHonestNetworkDeliversTheStream) {
  Simulator s(small(80, 30));
  ASSERT_TRUE(s.build());
  s.run();
  auto j = s.summary();
  EXPECT_GT(j["continuity_index"].get<double>(), 0.95) << j.dump(1);
  EXPECT_LT(j["latency_ms"]["p95"].get<double>(), 3000) << j.dump(1);
  EXPECT_TRUE(j["adversary_isolation_s"].is_null());
  EXPECT_GT(j["viewers"].get<uint64_t>(), 50u);
}

// Continuity is judged over every joined viewer: one that never gets a part
// misses every part published from a join allowance (the playout delay) after
// it joined. Counting only viewers that started playing made a strategy that
// strands viewers look better than one that serves them all, a little late.
TEST(Simulator, AViewerThatNeverGetsAPartCountsAgainstTheStrategy) {
  Scenario sc = small(40, 30);
  sc.bitrate_kbps = 3000;
  sc.bandwidth_mbps[0] = sc.bandwidth_mbps[1] = 1; // no uplink carries the stream: subscribers are shed
  sc.join_spread_s = 0;
  Simulator s(sc);
  ASSERT_TRUE(s.build());
  s.run();
  auto j = s.summary();
  const auto viewers = j["viewers"].get<uint64_t>();
  ASSERT_GT(viewers, 20u);
  // Each joined at 1 s: parts from 4 s on are due once their 3 s deadline
  // passes, by the end (30 s) those published before 27 s, 0.5 s apart.
  const double per_viewer = (30.0 - 1 - 3 - 3) / sc.part_s - 2;
  EXPECT_GE(j["parts_due"].get<double>(), per_viewer * static_cast<double>(viewers)) << j.dump(1);
  EXPECT_LT(j["continuity_index"].get<double>(), 0.2) << j.dump(1);
}

// Every hop paid per byte with real tickets against the embedded ledger's
// state machine: tickets won and redeemed, the ledger's value conserved to the
// wei, what left the payers equal to what the payees redeemed, and each
// relationship's payout within 4 sigma of its metered value.
TEST(Simulator, PaidNodesSettleOnTheLedgerAndConserveValue) {
  Scenario sc = small(60, 60);
  sc.payments.enabled = true;
  sc.payments.round_blocks = 5; // 5 s rounds: winners are redeemed within the run
  Simulator s(sc);
  ASSERT_TRUE(s.build());
  s.run();
  auto j = s.summary();
  ASSERT_TRUE(j.contains("payments")) << j.dump(1);
  const auto& p = j["payments"];
  EXPECT_GT(j["continuity_index"].get<double>(), 0.95) << j.dump(1);
  EXPECT_TRUE(p["value_conserved"].get<bool>()) << p.dump(1);
  EXPECT_EQ(p["ledger_failed_transactions"], 0u) << p.dump(1);
  EXPECT_GT(p["tickets_sent"].get<uint64_t>(), 100u) << p.dump(1);
  EXPECT_EQ(p["tickets_rejected"], 0u) << p.dump(1);
  EXPECT_GT(p["tickets_won"].get<uint64_t>(), 10u) << p.dump(1);
  EXPECT_GT(p["tickets_redeemed"].get<uint64_t>(), 0u) << p.dump(1);
  EXPECT_EQ(p["ledger_paid_out_wei"], p["redeemed_wei"]) << p.dump(1);
  EXPECT_GT(p["relationships"].get<uint64_t>(), 40u) << p.dump(1);
  // A binomial of a few tickets is skewed (two wins in two tickets at p = 0.07
  // is 5 sigma), so a handful of short relationships may fall outside.
  EXPECT_GE(p["relationships_payout_within_4_sigma_of_ev"].get<double>(), 0.99 * p["relationships"].get<double>())
      << p.dump(1);
  EXPECT_GE(p["relationships_within_4_sigma"].get<double>(), 0.99 * p["relationships"].get<double>()) << p.dump(1);
  // Without [payments] the summary has no payments and the run is the unpaid one.
  Scenario unpaid = small(60, 20);
  Simulator u(unpaid);
  ASSERT_TRUE(u.build());
  u.run();
  EXPECT_FALSE(u.summary().contains("payments"));
}

TEST(SimScenario, PaymentsKeysAreCheckedLikeTheRest) {
  auto ok = Scenario::parse("[payments]\nenabled = true\ndeposit = \"2ether\"\nticket_kb = 128\n", "p.toml");
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_TRUE(ok->payments.enabled);
  EXPECT_EQ(ok->payments.deposit, "2ether");
  EXPECT_EQ(ok->payments.ticket_kb, 128u);
  for (const char* text :
       {"[payments]\nenabled = 1\n", "[payments]\ndeposit = \"lots\"\n", "[payments]\nredeem_cost = \"0ether\"\n",
        "[payments]\nfee = 1\n", "[payments]\nround_blocks = 0\n",
        "[strategy]\nname = \"gossip\"\n[payments]\nenabled = true\n"}) {
    EXPECT_FALSE(Scenario::parse(text, "bad.toml")) << text;
  }
}

TEST(Simulator, AdversariesDoWhatTheyClaim) {
  // Corrupting nodes: their copies reach neighbours and are rejected as invalid.
  Scenario sc = small(60, 25);
  sc.adversaries.push_back({0.15, "corrupt", 1.0, 0});
  Simulator s(sc);
  ASSERT_TRUE(s.build());
  s.run();
  EXPECT_GT(s.summary()["invalid_part_frames"].get<uint64_t>(), 0u) << s.summary().dump(1);
  // Droppers are rated below honest nodes by their honest neighbours.
  Scenario sd = small(60, 30);
  sd.adversaries.push_back({0.15, "drop", 0.6, 0});
  Simulator d(sd);
  ASSERT_TRUE(d.build());
  d.run();
  const Sample& last = d.samples().back();
  EXPECT_LT(last.adversary_coherence, last.honest_coherence) << d.timeseries_csv();
  // A strategy the simulator does not implement is refused, not faked.
  Scenario sg = small(20, 5);
  sg.strategy = "flood-everyone";
  Simulator gsp(sg);
  EXPECT_FALSE(gsp.build());
}

TEST(Simulator, SybilsComeBackUnderFreshKeysOnceBurnt) {
  Scenario sc = small(80, 60);
  sc.adversaries.push_back({0.1, "sybil", 0.8, 0});
  Simulator s(sc);
  ASSERT_TRUE(s.build());
  std::set<core::Address> first;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (SimulatorPeer::is_adversary(s, i)) first.insert(SimulatorPeer::node(s, i).address());
  }
  s.run();
  std::size_t renewed = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (SimulatorPeer::is_adversary(s, i) && !first.count(SimulatorPeer::node(s, i).address())) ++renewed;
  }
  auto j = s.summary();
  EXPECT_GT(renewed, 0u) << "a burnt sybil identity is replaced: " << j.dump(1);
  ASSERT_FALSE(j["adversary_isolation_s"].is_null());
  EXPECT_GT(j["continuity_index"].get<double>(), 0.8) << j.dump(1);
}

TEST(Simulator, GossipPushesEveryPartToEveryoneWithDuplicates) {
  Scenario sc = small(80, 30);
  sc.strategy = "gossip";
  Simulator s(sc);
  ASSERT_TRUE(s.build());
  s.run();
  auto j = s.summary();
  EXPECT_GT(j["continuity_index"].get<double>(), 0.95) << j.dump(1);
  // Each node takes a part from up to D mesh peers but needs it once.
  EXPECT_GT(j["duplicate_ratio"].get<double>(), 0.3) << j.dump(1);
  EXPECT_NE(j["cost_per_viewer_hour_wei"].get<std::string>(), "0");
  EXPECT_TRUE(j["adversary_isolation_s"].is_null());
  // Droppers in the mesh: IHAVE/IWANT repairs what they withhold; nobody is isolated (no scoring).
  Scenario sd = small(80, 30);
  sd.strategy = "gossip";
  sd.adversaries.push_back({0.2, "drop", 1.0, 0});
  Simulator d(sd);
  ASSERT_TRUE(d.build());
  d.run();
  auto k = d.summary();
  EXPECT_GT(k["continuity_index"].get<double>(), 0.9) << k.dump(1);
  EXPECT_DOUBLE_EQ(k["adversary_isolation_s"].get<double>(), 30.0) << k.dump(1);
  Scenario sc2 = sc;
  Simulator again(sc2);
  ASSERT_TRUE(again.build());
  again.run();
  EXPECT_EQ(comparable(j), comparable(again.summary()));
}

TEST(Simulator, GossipCarriesEveryStreamOnItsOwnTopic) {
  Scenario sc = small(120, 30);
  sc.strategy = "gossip";
  sc.broadcasters = 3;
  Simulator s(sc);
  ASSERT_TRUE(s.build());
  s.run();
  auto j = s.summary();
  // Every viewer plays its own stream; the relays carry all three.
  EXPECT_GT(j["continuity_index"].get<double>(), 0.95) << j.dump(1);
  EXPECT_GT(j["parts_due"].get<uint64_t>(), 0u);
}

TEST(SimDiagnostics, HistogramQuantilesReadBackAsBucketBounds) {
  Histogram h({1, 2, 5, 10});
  EXPECT_EQ(h.quantile(0.5), 0);
  for (double v : {0.5, 1.5, 1.8, 4.0, 7.0, 30.0}) h.add(v);
  EXPECT_EQ(h.count(), 6u);
  EXPECT_DOUBLE_EQ(h.quantile(0.1), 1);  // the first value's bucket
  EXPECT_DOUBLE_EQ(h.quantile(0.5), 2);  // three of six at or below 2
  EXPECT_DOUBLE_EQ(h.quantile(0.8), 10); // five of six at or below 10
  EXPECT_DOUBLE_EQ(h.quantile(1.0), 30); // above every bound: the largest value seen
  EXPECT_DOUBLE_EQ(h.max(), 30);
  EXPECT_NEAR(h.mean(), 44.8 / 6, 1e-9);
}

// A latency-aware overlay (peers near peers, many neighbours at about the same
// distance): where the agent's routes used to loop — nodes leaving their
// upstreams at once each took a neighbour whose advertised route led back
// through them, and the loops counted to infinity (continuity 0.36, 83 % of
// viewer samples on a looping chain). With each Have carrying its chain and
// the feasibility condition on new upstreams, no chain loops.
TEST(Simulator, NoRoutingLoopsOnAGeometricOverlay) {
  Scenario sc;
  sc.seed = 4242;
  sc.duration_s = 90;
  sc.nodes = 500;
  sc.topology = "geometric";
  sc.degree = 10;
  sc.latency_ms[0] = 5;
  sc.latency_ms[1] = 120;
  sc.bandwidth_mbps[0] = 8;
  sc.bandwidth_mbps[1] = 60;
  sc.loss = 0.002;
  sc.bitrate_kbps = 2500;
  sc.viewer_fraction = 0.7;
  sc.name = "geometric";
  Simulator s(sc);
  ASSERT_TRUE(s.build());
  s.run();
  auto j = s.summary();
  const auto& d = j["diagnostics"];
  EXPECT_EQ(d["tree"]["viewers_chain_loop"].get<double>(), 0.0) << d.dump(1);
  EXPECT_EQ(d["missed"]["loop"].get<uint64_t>(), 0u) << d.dump(1);
  EXPECT_GT(j["continuity_index"].get<double>(), 0.75) << d.dump(1);
}

// The diagnostics describe what the run built: an agent tree with a depth
// per viewer and subscribers per upstream, uplinks used but never beyond what
// they carry, every missed part given a cause; gossip has no tree, and all its
// duplicates come from mesh peers.
TEST(Simulator, DiagnosticsDescribeTheTreesTheirLoadAndEveryMiss) {
  Scenario sc = small(80, 30);
  sc.adversaries.push_back({0.1, "drop", 1.0, 5});
  Simulator s(sc);
  ASSERT_TRUE(s.build());
  s.run();
  auto j = s.summary();
  const auto& d = j["diagnostics"];
  ASSERT_TRUE(d.is_object()) << j.dump(1);
  const auto& tree = d["tree"];
  EXPECT_GE(tree["depth_p50"].get<double>(), 1) << d.dump(1);
  EXPECT_LE(tree["depth_p50"].get<double>(), tree["depth_p95"].get<double>());
  EXPECT_LE(tree["depth_max"].get<double>(), 64);
  EXPECT_LT(tree["viewers_without_path"].get<double>(), 0.2) << d.dump(1);
  // A broken chain is exactly one of: no upstream, a dead node, a loop.
  EXPECT_NEAR(tree["viewers_without_path"].get<double>(),
              tree["viewers_chain_no_upstream"].get<double>() + tree["viewers_chain_dead"].get<double>() +
                  tree["viewers_chain_loop"].get<double>(),
              0.0021)
      << d.dump(1);
  EXPECT_GE(tree["subscribers_per_upstream_p95"].get<double>(), 1);
  EXPECT_GT(tree["reparent_per_node_minute"].get<double>(), 0); // droppers make their children move
  uint64_t by_reason = 0;
  for (const auto& [reason, n] : tree["agent_switches_by_reason"].items()) by_reason += n.get<uint64_t>();
  EXPECT_GT(by_reason, 0u) << d.dump(1);
  EXPECT_GT(d["uplink"]["utilisation_p50"].get<double>(), 0);
  EXPECT_LE(d["uplink"]["utilisation_max"].get<double>(),
            1.2); // what was sent fits the uplink (and the queue at the end)
  const auto& m = d["missed"];
  uint64_t causes = 0;
  for (const char* k : {"late", "no_route", "loop", "upstream_dead", "saturated_path", "in_flight"})
    causes += m[k].get<uint64_t>();
  EXPECT_EQ(causes, m["total"].get<uint64_t>());
  if (j["continuity_index"].get<double>() < 1) {
    EXPECT_GT(m["total"].get<uint64_t>(), 0u) << d.dump(1);
  }
  const auto& dup = d["duplicates"];
  EXPECT_EQ(dup["from_upstream"].get<uint64_t>() + dup["from_dual_feed"].get<uint64_t>() +
                dup["from_others"].get<uint64_t>(),
            dup["total"].get<uint64_t>());

  Scenario g = small(60, 20);
  g.strategy = "gossip";
  Simulator gs(g);
  ASSERT_TRUE(gs.build());
  gs.run();
  auto gj = gs.summary()["diagnostics"];
  EXPECT_TRUE(gj["tree"].is_null());
  EXPECT_GT(gj["duplicates"]["total"].get<uint64_t>(), 0u);
  EXPECT_EQ(gj["duplicates"]["from_others"], gj["duplicates"]["total"]);
}

TEST(Simulator, StakeWeightedDeliversTheStream) {
  Scenario sc = small(80, 30);
  sc.strategy = "stake-weighted";
  Simulator s(sc);
  ASSERT_TRUE(s.build());
  s.run();
  auto j = s.summary();
  EXPECT_GT(j["continuity_index"].get<double>(), 0.9) << j.dump(1);
  EXPECT_EQ(j["strategy"], "stake-weighted");
}

TEST(Simulator, FiveHundredNodesWithDroppersTheAgentKeepsPlayingAndIsolatesThem) {
  Scenario sc;
  sc.seed = 7;
  sc.nodes = 500;
  sc.degree = 8;
  sc.duration_s = 60;
  sc.bitrate_kbps = 1500;
  sc.join_spread_s = 5;
  sc.name = "test-500";
  sc.adversaries.push_back({0.2, "drop", 0.5, 0});
  Simulator s(sc);
  ASSERT_TRUE(s.build());
  s.run();
  auto j = s.summary();
  std::cout << "[ measured ] 500 nodes, 20 % droppers, agent: " << j.dump() << "\n";
  EXPECT_GT(j["continuity_index"].get<double>(), 0.9) << j.dump(1);
  ASSERT_FALSE(j["adversary_isolation_s"].is_null());
  EXPECT_LT(j["adversary_isolation_s"].get<double>(), 30) << j.dump(1);
}

} // namespace
} // namespace openstreaming::sim
