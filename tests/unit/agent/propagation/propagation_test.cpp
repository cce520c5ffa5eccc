// The propagation engine: upstream scores, hysteresis and dwell (src/agent/propagation).
#include "agent/agent.h"
#include "unit/agent/test_values.h"

#include <gtest/gtest.h>

namespace openstreaming::agent {
namespace {

using namespace test_values;

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

TEST(Propagation, WeightsLearnAwayFromAComponentThatPromisedWhatWasNotDelivered) {
  // Routes that scored full marks on bandwidth (a claim) and badly on latency
  // delivered little: bandwidth loses weight, latency gains, within bounds.
  RouteFixture fx;
  PropagationOptions learning;
  learning.learn_weights = true;
  struct {
    PropagationEngine engine;
    Memory& memory;
    Empathy& empathy;
    Economics& economics;
  } f{PropagationEngine{fx.memory, fx.empathy, fx.economics, learning}, fx.memory, fx.empathy, fx.economics};
  CandidateScore taken;
  taken.latency = 0.2;
  taken.bandwidth = 1.0;
  taken.economics = 0.5;
  taken.empathy = 1.0;
  taken.delivery = 1.0;
  const RouteWeights start = f.engine.weights();
  EXPECT_DOUBLE_EQ(start.latency, 0.3);
  for (int k = 0; k < 400; ++k) f.engine.learn(taken, 0.15);
  const RouteWeights& w = f.engine.weights();
  EXPECT_LT(w.bandwidth, start.bandwidth);
  EXPECT_GT(w.latency, start.latency);
  for (double x : {w.latency, w.bandwidth, w.economics, w.empathy}) {
    EXPECT_GE(x, 0.05 - 1e-12);
    EXPECT_LE(x, 0.6 + 1e-12);
  }
  EXPECT_NEAR(w.latency + w.bandwidth + w.economics + w.empathy, 1.0, 0.05);
  EXPECT_EQ(f.engine.weight_updates(), 400u);
  // Outcomes outside [0, 1] teach nothing; and off, nothing moves.
  f.engine.learn(taken, 7.0);
  EXPECT_EQ(f.engine.weight_updates(), 400u);
  PropagationOptions fixed;
  fixed.learn_weights = false;
  PropagationEngine off{f.memory, f.empathy, f.economics, fixed};
  off.learn(taken, 0.15);
  EXPECT_DOUBLE_EQ(off.weights().bandwidth, 0.3);
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

} // namespace
} // namespace openstreaming::agent
