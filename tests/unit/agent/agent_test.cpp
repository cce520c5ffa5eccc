// The four modules with injected time, table-driven where the rule is a table.
#include "agent/agent.h"
#include "agent/node.h"
#include "core/hex.h"
#include "core/keccak.h"
#include "support/mem_network.h"

#include <gtest/gtest.h>

#include <wire.pb.h>

namespace openstreaming::agent {
namespace {

core::Address addr(uint8_t n) {
  core::Address a;
  auto bytes = a.bytes();
  bytes[19] = n;
  return core::Address(bytes);
}

core::Amount gwei(uint64_t n) {
  return core::Amount::from_wei(n * 1'000'000'000ULL);
}

Timestamp at_s(double s) {
  return timestamp_from_us(static_cast<int64_t>(s * 1e6));
}

// ---- Economics ---------------------------------------------------------------------

TEST(Economics, QuoteFollowsTheMissionFormula) {
  struct Case {
    const char* name;
    double load;
    std::vector<uint64_t> neighbours_gwei;
    double overprice;
    uint64_t want_wei;
  } cases[] = {
      {.name = "idle", .load = 0, .neighbours_gwei = {}, .overprice = 1, .want_wei = 1'200'000'000},
      {.name = "half loaded", .load = 50, .neighbours_gwei = {}, .overprice = 1, .want_wei = 1'800'000'000},
      {.name = "neighbours dearer", .load = 0, .neighbours_gwei = {2, 4}, .overprice = 1, .want_wei = 2'700'000'000},
      {.name = "neighbours cheaper", .load = 0, .neighbours_gwei = {1, 1}, .overprice = 1, .want_wei = 1'200'000'000},
      {.name = "overpricing", .load = 0, .neighbours_gwei = {}, .overprice = 3, .want_wei = 3'600'000'000},
  };
  for (const auto& c : cases) {
    Memory m;
    EconomicsOptions o;
    o.overprice = c.overprice;
    Economics e(m, o);
    std::vector<core::Amount> q;
    for (auto g : c.neighbours_gwei) q.push_back(gwei(g));
    EXPECT_EQ(e.quote(c.load, q), core::Amount::from_wei(c.want_wei)) << c.name;
  }
}

TEST(Economics, AdmissionSaysWhy) {
  Memory m;
  EconomicsOptions o;
  o.capacity_kbps = 10'000;
  Economics e(m, o);
  e.update_quote(); // 1.2 gwei per MB
  EXPECT_TRUE(e.admit(std::nullopt, false, 0, 3000).accepted);
  EXPECT_EQ(e.admit(gwei(1), false, 0, 3000).reason, "price_above_limit");
  EXPECT_TRUE(e.admit(gwei(2), false, 0, 3000).accepted);
  EXPECT_EQ(e.admit(std::nullopt, false, 6500, 3000).reason, "capacity_full"); // 9500 > 90 % of 10000
  EXPECT_TRUE(e.admit(std::nullopt, true, 6500, 3000).accepted);               // the needy get the reserve
  EXPECT_EQ(e.admit(std::nullopt, true, 8000, 3000).reason, "capacity_full");
}

TEST(Economics, MetersTheAgreedValueItIsGivenAndNeverWraps) {
  Memory m;
  Economics e(m, {});
  e.update_quote();
  e.served(addr(1), 2'000'000, core::Amount::from_wei(2'400'000'000)); // 2 MB at 1.2 gwei/MB, as agreed
  EXPECT_EQ(m.find(addr(1))->credit_wei, core::Amount::from_wei(2'400'000'000));
  EXPECT_EQ(m.self().earnings_wei, core::Amount::from_wei(2'400'000'000));
  e.received(addr(2), 500'000, core::Amount::from_wei(1'000'000'000));
  EXPECT_EQ(m.find(addr(2))->owed_wei, core::Amount::from_wei(1'000'000'000));
  // A total at the top stays there: it neither wraps nor resets to zero.
  core::Amount top(core::U256((core::U256(1) << 255) - 1 + (core::U256(1) << 255)));
  e.received(addr(2), 1, top);
  e.received(addr(2), 1, core::Amount::from_wei(5));
  EXPECT_TRUE(core::saturated(m.find(addr(2))->owed_wei));
  EXPECT_TRUE(core::saturated(m.self().spent_wei));
}

// ---- Empathy ------------------------------------------------------------------------

struct EmpathyFixture {
  Memory memory;
  Empathy empathy{memory, EmpathyOptions{}};
  core::Amount expected = gwei(1);

  void claims(const core::Address& a, uint64_t capacity, uint64_t quote_gwei, int64_t now_ms = 0, bool valid = true) {
    NeighbourClaims c;
    c.capacity_kbps = capacity;
    c.quote_wei_per_mb = gwei(quote_gwei);
    c.has_quote = true;
    empathy.on_state(a, c, valid, now_ms);
  }
  // Budget: its latency 5 ms + RTT 1 ms + 250 ms slack; beyond that + 500 ms, too late to play.
  void parts(const core::Address& a, int on_time, int late, int missing, int too_late = 0) {
    for (int i = 0; i < on_time; ++i) empathy.on_upstream_part(a, 10, 5.0, 1);
    for (int i = 0; i < late; ++i) empathy.on_upstream_part(a, 400, 5.0, 1);
    for (int i = 0; i < missing; ++i) empathy.on_upstream_missing(a);
    for (int i = 0; i < too_late; ++i) empathy.on_upstream_part(a, 900, 5.0, 1);
  }
  void evaluate(double s) { empathy.evaluate(expected, at_s(s), static_cast<int64_t>(s * 1000)); }
  const CoherenceComponents& c(const core::Address& a) { return memory.find(a)->coherence; }
};

TEST(Empathy, ComponentsFollowTheMissionRule) {
  struct Case {
    const char* name;
    uint64_t claimed_capacity;
    double observed_rate;
    uint64_t quote_gwei;
    int on_time, late, missing, too_late;
    bool capacity, price, reliability, cooperation;
    double score;
  } cases[] = {
      {"honest", 20000, 21000, 1, 40, 0, 0, 0, true, true, true, true, 1.0},
      {"capacity lie", 200000, 21000, 1, 40, 0, 0, 0, false, true, true, false, 0.5},
      {"overpriced", 20000, 21000, 2, 40, 0, 0, 0, true, false, true, true, 0.7},
      {"a little late", 20000, 21000, 1, 40, 2, 0, 0, true, true, false, true, 0.8},
      {"late all along", 20000, 21000, 1, 0, 20, 0, 0, true, true, false, false, 0.6},
      {"one part missing", 20000, 21000, 1, 40, 0, 1, 0, true, true, false, false, 0.6},
      {"one part too late to play", 20000, 21000, 1, 40, 0, 0, 1, true, true, false, false, 0.6},
  };
  for (const auto& k : cases) {
    EmpathyFixture f;
    core::Address a = addr(1);
    for (int i = 0; i < 5; ++i) f.empathy.on_rate_sample(a, k.observed_rate);
    for (int i = 0; i < 5; ++i) f.claims(a, k.claimed_capacity, k.quote_gwei);
    // Interleave: the bad parts last, as when a relay turns bad.
    f.parts(a, k.on_time, 0, 0);
    f.parts(a, 0, k.late, k.missing, k.too_late);
    f.evaluate(1);
    const auto& c = f.c(a);
    EXPECT_EQ(c.capacity, k.capacity) << k.name;
    EXPECT_EQ(c.price, k.price) << k.name;
    EXPECT_EQ(c.reliability, k.reliability) << k.name;
    EXPECT_EQ(c.cooperation, k.cooperation) << k.name;
    EXPECT_DOUBLE_EQ(c.score, k.score) << k.name;
  }
}

TEST(Empathy, OneBadSecondDoesNotCondemn) {
  EmpathyFixture f;
  core::Address a = addr(1);
  f.parts(a, 40, 0, 0);
  f.parts(a, 0, 2, 0); // one second of late (but playable) parts
  f.evaluate(1);
  EXPECT_GT(f.c(a).score, 0.7);
  EXPECT_EQ(f.empathy.status(a, 1000), NeighbourStatus::trusted);
  // Even a second of parts too late to play only makes it incoherent for a moment: no probation.
  f.parts(a, 0, 0, 0, 2);
  f.evaluate(2);
  EXPECT_EQ(f.empathy.status(a, 2000), NeighbourStatus::incoherent);
  f.parts(a, 12, 0, 0);
  f.evaluate(5);
  f.parts(a, 20, 0, 0);
  f.evaluate(20);
  EXPECT_EQ(f.empathy.status(a, 20'000), NeighbourStatus::trusted);
  EXPECT_EQ(f.memory.find(a)->episodes, 0u);
}

TEST(Empathy, SustainedIncoherenceStartsAProbationThatAGoodMinuteDoesNotEnd) {
  EmpathyFixture f;
  core::Address a = addr(1);
  f.parts(a, 0, 20, 0);
  f.evaluate(0);
  EXPECT_EQ(f.empathy.status(a, 0), NeighbourStatus::incoherent);
  f.evaluate(9); // still incoherent after `sustained` (8 s): probation (2 min)
  EXPECT_GT(f.memory.find(a)->probation_until_ms, 9000);
  f.parts(a, 120, 0, 0); // a good minute
  f.evaluate(70);
  EXPECT_GT(f.c(a).score, 0.7);
  EXPECT_EQ(f.empathy.status(a, 70'000), NeighbourStatus::incoherent); // still on probation
  f.evaluate(130);
  EXPECT_EQ(f.empathy.status(a, 130'000), NeighbourStatus::trusted);
  // A second episode doubles the probation.
  f.parts(a, 0, 20, 0);
  f.evaluate(140);
  f.evaluate(149);
  EXPECT_EQ(f.memory.find(a)->episodes, 2u);
  EXPECT_EQ(f.memory.find(a)->probation_until_ms, 149'000 + 240'000);
}

TEST(Empathy, ABriefBlipStartsNoProbation) {
  EmpathyFixture f;
  core::Address a = addr(1);
  f.parts(a, 20, 0, 0);
  f.parts(a, 0, 0, 0, 4); // two seconds too late
  f.evaluate(0);
  EXPECT_EQ(f.empathy.status(a, 0), NeighbourStatus::incoherent);
  f.parts(a, 8, 0, 0); // back to normal within the `sustained` window
  f.evaluate(4);
  f.parts(a, 20, 0, 0);
  f.evaluate(12);
  EXPECT_EQ(f.memory.find(a)->probation_until_ms, 0);
  EXPECT_EQ(f.memory.find(a)->episodes, 0u);
}

TEST(Empathy, HostileActsShunForAPeriod) {
  EmpathyFixture f;
  core::Address liar = addr(1), forger = addr(2);
  EXPECT_FALSE(f.empathy.on_invalid_part(liar, 0));
  EXPECT_FALSE(f.empathy.on_invalid_part(liar, 0));
  EXPECT_TRUE(f.empathy.on_invalid_part(liar, 1000)); // the third
  EXPECT_TRUE(f.empathy.shunned(liar, 1000));
  NeighbourClaims c;
  EXPECT_TRUE(f.empathy.on_state(forger, c, /*valid=*/false, 0));
  EXPECT_TRUE(f.empathy.shunned(forger, 599'999));
  EXPECT_FALSE(f.empathy.shunned(forger, 600'000)); // 10 minutes
  f.evaluate(1);
  EXPECT_EQ(f.empathy.status(liar, 1000), NeighbourStatus::shunned);
}

TEST(Empathy, SilenceNeitherCondemnsNorAbsolves) {
  EmpathyFixture f;
  core::Address a = addr(1);
  f.parts(a, 5, 0, 3);
  f.evaluate(1);
  double before = f.c(a).score;
  f.evaluate(3600); // an hour without evidence
  EXPECT_EQ(f.c(a).score, before);
}

// ---- Propagation --------------------------------------------------------------------

struct RouteFixture {
  Memory memory;
  Empathy empathy{memory, EmpathyOptions{}};
  Economics economics{memory, EconomicsOptions{}};
  PropagationEngine engine{memory, empathy, economics, PropagationOptions{}};
  core::StreamId stream{};
  RouteFixture() { economics.update_quote(); }
  void latency(const core::Address& a, double ms) {
    NeighbourClaims c;
    c.stream_latency_ms[stream] = ms;
    empathy.on_state(a, c, true, 0);
  }
};

TEST(Propagation, ScoresPreferLowLatencyAndPenaliseLoss) {
  RouteFixture f;
  f.latency(addr(1), 20);
  f.latency(addr(2), 400);
  std::vector<UpstreamCandidate> c = {{1, 1, 2.0, addr(1)}, {2, 1, 2.0, addr(2)}};
  RouteContext ctx;
  ctx.flowing = true;
  ctx.stream_kbps = 1500;
  auto s1 = f.engine.score(f.stream, c[0], false, ctx), s2 = f.engine.score(f.stream, c[1], false, ctx);
  EXPECT_GT(s1.latency, s2.latency);
  EXPECT_NEAR(s1.latency, 1.0 / (1.0 + 21.0 / 250.0), 1e-9);
  EXPECT_GT(s1.value, s2.value);
  // A neighbour that lost 30 % of our parts is worth 30 % less.
  f.memory.neighbour(addr(1)).on_time.value = 0.7;
  auto lossy = f.engine.score(f.stream, c[0], false, ctx);
  EXPECT_NEAR(lossy.value, s1.value * 0.7, 1e-9);
}

TEST(Propagation, HysteresisDwellIncoherenceAndNearestBeforeFlow) {
  RouteFixture f;
  f.latency(addr(1), 60);
  f.latency(addr(2), 40);
  std::vector<UpstreamCandidate> c = {{1, 1, 2.0, addr(1)}, {2, 2, 2.0, addr(2)}};
  RouteContext ctx;
  ctx.now = at_s(0);
  // Not flowing: nearest by hops, whatever the score.
  EXPECT_EQ(f.engine.choose(f.stream, c, std::nullopt, ctx).primary, 1u);
  // Flowing: a slightly better candidate does not take over (hysteresis).
  ctx.flowing = true;
  ctx.now = at_s(10);
  EXPECT_EQ(f.engine.choose(f.stream, c, 1, ctx).primary, 1u);
  // A much better one does, once the route has been held for min_dwell.
  f.latency(addr(1), 2000);
  EXPECT_EQ(f.engine.choose(f.stream, c, 1, ctx).primary, 2u);
  EXPECT_NE(f.engine.routes().at(f.stream).last_switch_reason.find("better route"), std::string::npos);
  // Within min_dwell of that switch, no switching back and forth.
  f.latency(addr(1), 10);
  f.latency(addr(2), 2000);
  ctx.now = at_s(12);
  EXPECT_EQ(f.engine.choose(f.stream, c, 2, ctx).primary, 2u);
  // An incoherent upstream is left at once, dwell or not.
  f.memory.neighbour(addr(2)).status = NeighbourStatus::incoherent;
  auto out = f.engine.choose(f.stream, c, 2, ctx);
  EXPECT_EQ(out.primary, 1u);
  EXPECT_EQ(f.engine.routes().at(f.stream).last_switch_reason, "upstream incoherent");
  // A shunned neighbour is never a route, even the only one.
  f.empathy.on_state(addr(1), {}, /*valid=*/false, 0);
  std::vector<UpstreamCandidate> only = {{1, 1, 2.0, addr(1)}};
  EXPECT_FALSE(f.engine.choose(f.stream, only, std::nullopt, ctx).primary);
}

// ---- Memory and misbehaviour ---------------------------------------------------------

TEST(Memory, PredictionsLearnTheirError) {
  Memory m;
  auto a = m.predict("route_latency_ms", "s via x", "keep", 100, 0, 2000);
  auto b = m.predict("route_latency_ms", "s via x", "keep", 100, 2000, 4000);
  m.outcome(a, 110);
  m.outcome(b, 70);
  m.outcome(b, 0); // once only
  EXPECT_EQ(m.predictors().at("route_latency_ms").n, 2u);
  EXPECT_DOUBLE_EQ(m.predictors().at("route_latency_ms").mae, 20.0);
  Memory restored;
  restored.restore(m.snapshot());
  EXPECT_EQ(restored.predictions().size(), 2u);
  EXPECT_DOUBLE_EQ(restored.predictors().at("route_latency_ms").mae, 20.0);
  EXPECT_GT(restored.predict("load_pct", "self", "quote", 1, 0, 1), b); // ids keep growing
}

// ---- The agent's loop, driven without a network ------------------------------------

// One reflect step turns observations into self metrics, learns last step's
// load prediction against the load now, and shuns only the established
// neighbours empathy condemned.
TEST(AgentLoop, ReflectObservesLearnsPredictsAndChooses) {
  AgentOptions o;
  o.economics.capacity_kbps = 8000;
  Agent agent(o);
  const core::Address honest = addr(1), forger = addr(2), gone = addr(3);
  Observation obs;
  obs.seconds = 2;
  obs.part_bytes_out = 1'000'000; // 4,000 kbit/s over 2 s: half the capacity
  obs.queue_bytes = 1234;
  obs.subscribers = 3;
  obs.neighbours = {honest, forger};
  auto first = agent.reflect(obs, at_s(2), 2'000);
  EXPECT_TRUE(first.shun.empty());
  const SelfMetrics& self = agent.memory.self();
  EXPECT_DOUBLE_EQ(self.upload_used_kbps, 4000);
  EXPECT_DOUBLE_EQ(self.load_pct, 50);
  EXPECT_EQ(self.queue_bytes, 1234u);
  EXPECT_EQ(self.subscribers, 3u);
  EXPECT_EQ(agent.memory.predictors().count("load_pct"), 0u); // predicted, nothing learned yet
  const core::Amount quote_half = agent.economics.current_quote();

  // A forged state condemns its sender; a condemned node that is not connected
  // is not in the decision.
  NeighbourClaims c;
  EXPECT_TRUE(agent.empathy.on_state(forger, c, /*valid=*/false, 3'000));
  EXPECT_TRUE(agent.empathy.on_state(gone, c, /*valid=*/false, 3'000));
  obs.part_bytes_out = 2'000'000; // full load now
  auto second = agent.reflect(obs, at_s(4), 4'000);
  ASSERT_EQ(second.shun.size(), 1u);
  EXPECT_EQ(second.shun[0].address, forger);
  EXPECT_FALSE(second.shun[0].reason.empty());
  EXPECT_DOUBLE_EQ(self.load_pct, 100);
  // The first step predicted 50 % (its EWMA); 100 % came: an error of 50 learned.
  ASSERT_EQ(agent.memory.predictors().count("load_pct"), 1u);
  EXPECT_EQ(agent.memory.predictors().at("load_pct").n, 1u);
  EXPECT_DOUBLE_EQ(agent.memory.predictors().at("load_pct").mae, 50);
  // The quote follows the load.
  EXPECT_GT(agent.economics.current_quote(), quote_half);
  // Overpricing (fault injection) multiplies the quote.
  const core::Amount fair = agent.economics.current_quote();
  obs.overprice = 3;
  agent.reflect(obs, at_s(6), 6'000);
  EXPECT_GT(agent.economics.current_quote(), fair);
}

TEST(Misbehaviour, SpecsParseOrSayWhatIsWrong) {
  auto m = parse_misbehaviour("drop:0.3,delay:800,after:10");
  ASSERT_TRUE(m);
  EXPECT_DOUBLE_EQ(m->drop, 0.3);
  EXPECT_EQ(m->delay, 800ms);
  EXPECT_EQ(m->after, 10s);
  EXPECT_DOUBLE_EQ(parse_misbehaviour("lie-capacity:10")->lie_capacity, 10);
  EXPECT_DOUBLE_EQ(parse_misbehaviour("overprice:2,corrupt:1")->corrupt, 1);
  for (const char* bad :
       {"", "drop", "drop:1.5", "drop:-1", "delay:x", "teleport:1", "after:5", "lie-capacity:0.5", "drop:0.1,,"}) {
    auto r = parse_misbehaviour(bad);
    EXPECT_FALSE(r) << bad;
    if (!r) {
      EXPECT_NE(r.error().message.find("--misbehave"), std::string::npos) << bad;
    }
  }
}

} // namespace
} // namespace openstreaming::agent

// ---- The empathy protocol between two nodes -------------------------------------------

namespace openstreaming::agent {
namespace {

TEST(EmpathyProtocol, SignedStatesAreExchangedAndAForgeryIsShunned) {
  test::MemNetwork net(31);
  NodeOptions o;
  o.peer_exchange = false;
  o.agent_config.economics.capacity_kbps = 5000;
  auto a = net.add(o);
  NodeOptions ob = o;
  ob.bootstrap = {test::MemNetwork::endpoint_of(a)};
  auto b = net.add(ob);
  net.start_all();
  ASSERT_TRUE(net.run_until([&] { return net.connected(); }, 10s));
  net.run_for(5s);
  const NeighbourProfile* pb = net.node(a).agent().memory.find(net.key(b).address());
  ASSERT_NE(pb, nullptr);
  EXPECT_GE(pb->states_received, 2u);
  ASSERT_TRUE(pb->claims);
  EXPECT_EQ(pb->claims->capacity_kbps, 5000u);
  EXPECT_EQ(pb->claims->quote_wei_per_mb, core::Amount::from_wei(1'200'000'000));
  EXPECT_EQ(net.node(a).agent().empathy.status(net.key(b).address(), net.node(a).wall_ms(net.now())),
            NeighbourStatus::trusted);

  // b sends a state signed by some other key: a shuns b and will not take it back.
  net.with(b, [&](Node& n) {
    wire::v1::StateBody body;
    body.set_seq(999);
    body.set_capacity_kbps(1'000'000);
    std::string bytes = body.SerializeAsString();
    core::DeterministicRandom rng(5);
    auto other = core::PrivateKey::generate(rng);
    core::Keccak256 h;
    h.update(as_bytes(std::string_view("openstreaming/state/v1"))).update(as_bytes(bytes));
    auto sig = core::sign_hash(other, h.finalize());
    wire::v1::NeighbourState msg;
    msg.set_body(bytes);
    msg.set_signature(std::string(sig.bytes().begin(), sig.bytes().end()));
    core::Frame f;
    f.type = static_cast<uint16_t>(core::MediaFrameType::neighbour_state);
    f.header.resize(msg.ByteSizeLong());
    msg.SerializeToArray(f.header.data(), static_cast<int>(f.header.size()));
    n.send_app_frame(n.established_conns().at(0), std::move(f));
  });
  net.run_for(3s);
  int64_t now_ms = net.node(a).wall_ms(net.now());
  EXPECT_EQ(net.node(a).agent().empathy.status(net.key(b).address(), now_ms), NeighbourStatus::shunned);
  EXPECT_EQ(net.node(a).agent().memory.find(net.key(b).address())->states_forged, 1u);
  EXPECT_EQ(net.node(a).established_count(), 0u);
  EXPECT_EQ(net.node(a).metrics().disconnects.count({"shunned", "local"}), 1u);
}

// A state signed by its sender, then replayed, and older ones: only the first
// costs a signature recovery. The replays and the sender's own states, which
// the replayed seq overtook, are dropped on their seq before any ECDSA.
TEST(EmpathyProtocol, AReplayedOrStaleStateCostsNoSignatureCheck) {
  test::MemNetwork net(32);
  auto recoveries = std::make_shared<int>(0);
  NodeOptions o;
  o.peer_exchange = false;
  o.state_recover = [recoveries](const Hash256& digest,
                                 const core::RecoverableSignature& sig) -> Result<core::Address> {
    ++*recoveries;
    auto pub = core::recover_public_key(digest, sig);
    if (!pub) return pub.error();
    return pub->address();
  };
  auto a = net.add(o);
  NodeOptions ob;
  ob.peer_exchange = false;
  ob.bootstrap = {test::MemNetwork::endpoint_of(a)};
  auto b = net.add(ob);
  net.start_all();
  ASSERT_TRUE(net.run_until([&] { return net.connected(); }, 10s));
  net.run_for(3s);
  ASSERT_GT(*recoveries, 0) << "b's own states are verified";
  auto state_frame = [&](uint64_t seq) {
    wire::v1::StateBody body;
    body.set_seq(seq);
    body.set_capacity_kbps(4000);
    std::string bytes = body.SerializeAsString();
    core::Keccak256 h;
    h.update(as_bytes(std::string_view("openstreaming/state/v1"))).update(as_bytes(bytes));
    auto sig = core::sign_hash(net.key(b), h.finalize());
    wire::v1::NeighbourState msg;
    msg.set_body(bytes);
    msg.set_signature(std::string(sig.bytes().begin(), sig.bytes().end()));
    core::Frame f;
    f.type = static_cast<uint16_t>(core::MediaFrameType::neighbour_state);
    f.header.resize(msg.ByteSizeLong());
    msg.SerializeToArray(f.header.data(), static_cast<int>(f.header.size()));
    return f;
  };
  const core::Frame fresh = state_frame(1'000'000), old = state_frame(2);
  const int before = *recoveries;
  const uint64_t stale_before = net.node(a).metrics().states_stale;
  net.with(b, [&](Node& n) {
    ConnId c = n.established_conns().at(0);
    n.send_app_frame(c, fresh);
    for (int i = 0; i < 6; ++i) {
      n.send_app_frame(c, fresh); // replayed
      n.send_app_frame(c, old);   // older than the last verified
    }
  });
  net.run_for(4s); // b's own states (seq below a million) keep coming: stale too
  EXPECT_EQ(*recoveries, before + 1) << "a replayed or stale state was signature-checked";
  EXPECT_GE(net.node(a).metrics().states_stale, stale_before + 12);
  const NeighbourProfile* pb = net.node(a).agent().memory.find(net.key(b).address());
  ASSERT_NE(pb, nullptr);
  ASSERT_TRUE(pb->claims);
  EXPECT_EQ(pb->claims->capacity_kbps, 4000u);
  EXPECT_EQ(pb->states_forged, 0u);
  EXPECT_EQ(net.node(a).established_count(), 1u) << "replays are dropped, not a reason to disconnect";
}

} // namespace
} // namespace openstreaming::agent
