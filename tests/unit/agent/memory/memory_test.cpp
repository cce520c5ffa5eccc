// Memory: predictions and the error they learn (src/agent/memory).
#include "agent/agent.h"
#include "unit/agent/test_values.h"

#include <gtest/gtest.h>

namespace openstreaming::agent {
namespace {

using namespace test_values;

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

} // namespace
} // namespace openstreaming::agent
