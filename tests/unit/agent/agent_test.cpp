// The agent (src/agent/agent.cpp): its loop driven without a network, and the
// fault-injection spec.
#include "agent/agent.h"
#include "unit/agent/test_values.h"

#include <gtest/gtest.h>

namespace openstreaming::agent {
namespace {

using namespace test_values;

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
