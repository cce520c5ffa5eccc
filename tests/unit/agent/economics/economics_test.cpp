// The economic module: the quote, admission and metering (src/agent/economics).
#include "agent/agent.h"
#include "unit/agent/test_values.h"

#include <gtest/gtest.h>

namespace openstreaming::agent {
namespace {

using namespace test_values;

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

} // namespace
} // namespace openstreaming::agent
