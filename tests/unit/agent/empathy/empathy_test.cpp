// The empathy protocol's judgement: coherence, trust, probation, shunning (src/agent/empathy).
#include "agent/agent.h"
#include "unit/agent/test_values.h"

#include <gtest/gtest.h>

namespace openstreaming::agent {
namespace {

using namespace test_values;

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

// A relay serving many subscribers sends each part to them one after another:
// at the load it states, the last copy may leave up to load x a part's duration
// after the first. That wait is allowed for; a delay beyond it is still late.
TEST(Empathy, ABusyRelaysSendQueueIsNotLateness) {
  EmpathyFixture f;
  core::Address busy = addr(1), idle = addr(2);
  NeighbourClaims c;
  c.capacity_kbps = 20000;
  c.load_pct = 90;
  f.empathy.on_state(busy, c, true, 0);
  c.load_pct = 0;
  f.empathy.on_state(idle, c, true, 0);
  // 5 ms stated + 1 ms RTT + 250 ms slack = 256 ms; at 90 % of a 500 ms part, 450 ms more.
  EXPECT_TRUE(f.empathy.on_upstream_part(busy, 600, 5.0, 1, 500));
  EXPECT_FALSE(f.empathy.on_upstream_part(idle, 600, 5.0, 1, 500)) << "no queue to excuse it";
  EXPECT_FALSE(f.empathy.on_upstream_part(busy, 800, 5.0, 1, 500)) << "beyond the queue it states";
  c.load_pct = 400; // a claim above 100 % excuses no more than a full queue
  f.empathy.on_state(busy, c, true, 0);
  EXPECT_FALSE(f.empathy.on_upstream_part(busy, 800, 5.0, 1, 500));
}

// A part from an upstream that stated no latency for the stream (a relay that
// just took it on) is counted, but there is nothing to judge it late against.
TEST(Empathy, APartWithNoStatedLatencyIsCountedButNotJudged) {
  EmpathyFixture f;
  core::Address a = addr(1);
  for (int i = 0; i < 20; ++i) EXPECT_TRUE(f.empathy.on_upstream_part(a, 5000, std::nullopt, 1, 500));
  const NeighbourProfile* p = f.memory.find(a);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->parts_from, 20u);
  EXPECT_EQ(p->parts_late, 0u);
  EXPECT_DOUBLE_EQ(p->on_time.value, 1.0);
  // Held to a stated latency of zero, the same parts are late.
  EXPECT_FALSE(f.empathy.on_upstream_part(a, 5000, 0.0, 1, 500));
  EXPECT_EQ(p->parts_late, 1u);
}

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

} // namespace
} // namespace openstreaming::agent
