#include "core/random.h"

#include <gtest/gtest.h>

namespace openstreaming::core {
namespace {

TEST(DeterministicRandom, SameSeedSameStream) {
  DeterministicRandom a(7), b(7), c(8);
  auto x = a.bytes<100>();
  EXPECT_EQ(x, b.bytes<100>());
  EXPECT_NE(x, c.bytes<100>());
}

TEST(DeterministicRandom, ChunkingDoesNotChangeStream) {
  DeterministicRandom a(1), b(1);
  auto whole = a.bytes<70>();
  FixedBytes<70> parts{};
  b.fill(std::span<uint8_t>(parts.data(), 5));
  b.fill(std::span<uint8_t>(parts.data() + 5, 40));
  b.fill(std::span<uint8_t>(parts.data() + 45, 25));
  EXPECT_EQ(whole, parts);
}

TEST(RandomSource, UniformStaysInRangeAndCoversIt) {
  DeterministicRandom r(3);
  int seen[10] = {};
  for (int i = 0; i < 10000; ++i) {
    uint64_t v = r.uniform(10);
    ASSERT_LT(v, 10u);
    ++seen[v];
  }
  for (int count : seen) EXPECT_GT(count, 800); // expected 1000 each
}

} // namespace
} // namespace openstreaming::core
