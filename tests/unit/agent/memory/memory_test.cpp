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

TEST(Memory, ARatioPredictorMeasuresItsCalibrationAndLearnsToCorrectIt) {
  // A model that says 0.9 when the outcome is 0.6: off by 0.3 in its bin.
  Memory m;
  for (int k = 0; k < 4; ++k) m.outcome(m.predict_calibrated("route_on_time", "s", "keep", 0.9, k, k + 1), 0.6);
  const PredictorStats& st = m.predictors().at("route_on_time");
  ASSERT_TRUE(st.calibration_error().has_value());
  EXPECT_NEAR(*st.calibration_error(), 0.3, 1e-9);
  EXPECT_NEAR(st.bias, -0.3, 1e-9);
  // Too few outcomes in that bin yet: the raw value is what is predicted.
  EXPECT_DOUBLE_EQ(m.calibrated("route_on_time", 0.9), 0.9);
  m.outcome(m.predict_calibrated("route_on_time", "s", "keep", 0.9, 4, 5), 0.6);
  // Five outcomes: the bin's mean outcome is predicted from now on, and the
  // predictions made that way are calibrated (the error falls).
  EXPECT_NEAR(m.calibrated("route_on_time", 0.92), 0.6, 1e-9);
  EXPECT_DOUBLE_EQ(m.calibrated("route_on_time", 0.35), 0.35); // another bin, no outcomes
  for (int k = 5; k < 50; ++k) {
    auto id = m.predict_calibrated("route_on_time", "s", "keep", 0.9, k, k + 1);
    EXPECT_NEAR(m.predictions().back().predicted, 0.6, 1e-9);
    EXPECT_DOUBLE_EQ(m.predictions().back().raw, 0.9);
    m.outcome(id, 0.6);
  }
  EXPECT_LT(*m.predictors().at("route_on_time").calibration_error(), 0.04);
  // It survives a restart.
  Memory restored;
  restored.restore(m.snapshot());
  EXPECT_NEAR(restored.calibrated("route_on_time", 0.9), 0.6, 1e-9);
}

TEST(Memory, APredictorOfSomethingOtherThanARatioHasNoCalibrationError) {
  Memory m;
  m.outcome(m.predict("route_latency_ms", "s", "keep", 100, 0, 1), 140);
  EXPECT_FALSE(m.predictors().at("route_latency_ms").calibration_error().has_value());
  EXPECT_DOUBLE_EQ(m.calibrated("route_latency_ms", 100), 100);
  EXPECT_DOUBLE_EQ(m.predictors().at("route_latency_ms").bias, 40);
}

} // namespace
} // namespace openstreaming::agent
