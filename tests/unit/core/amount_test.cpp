#include "core/amount.h"

#include <gtest/gtest.h>

namespace openstreaming::core {
namespace {

TEST(Amount, ParsesUnitsExactly) {
  struct Case {
    const char* text;
    const char* wei;
  } cases[] = {
      {.text = "123", .wei = "123"},
      {.text = "123wei", .wei = "123"},
      {.text = "20gwei", .wei = "20000000000"},
      {.text = "1.5ether", .wei = "1500000000000000000"},
      {.text = "1.5 ETH", .wei = "1500000000000000000"},
      {.text = "0.000000000000000001ether", .wei = "1"},
      {.text = ".5gwei", .wei = "500000000"},
      {.text = "100ether", .wei = "100000000000000000000"},
      {.text = "115792089237316195423570985008687907853269984665640564039457584007913129639935",
       .wei = "115792089237316195423570985008687907853269984665640564039457584007913129639935"},
  };
  for (const auto& c : cases) {
    auto a = Amount::parse(c.text);
    ASSERT_TRUE(a.ok()) << c.text << ": " << a.error().message;
    EXPECT_EQ(a->to_wei_string(), c.wei) << c.text;
  }
}

TEST(Amount, RejectsWhatIsNotAnExactAmount) {
  struct Case {
    const char* text;
    Errc code;
  } cases[] = {
      {.text = "", .code = Errc::invalid_input},
      {.text = "-1", .code = Errc::invalid_input},
      {.text = "1.5", .code = Errc::invalid_input},          // wei has no decimals
      {.text = "1.0000000001gwei", .code = Errc::invalid_input}, // 10 decimals for gwei
      {.text = "1e18", .code = Errc::invalid_input},
      {.text = "1.5 dollars", .code = Errc::invalid_input},
      {.text = "1.", .code = Errc::invalid_input},
      {.text = "0x10", .code = Errc::invalid_input},
      {.text = "115792089237316195423570985008687907853269984665640564039457584007913129639936", .code = Errc::overflow},
      {.text = "1000000000000000000000000000000000000000000000000000000000000000ether", .code = Errc::overflow},
  };
  for (const auto& c : cases) {
    auto a = Amount::parse(c.text);
    ASSERT_FALSE(a.ok()) << c.text;
    EXPECT_EQ(a.error().code, c.code) << c.text;
  }
}

TEST(Amount, FormatsAndRoundTrips) {
  auto a = *Amount::parse("1.5ether");
  EXPECT_EQ(a.format(Unit::ether), "1.5ether");
  EXPECT_EQ(a.format(Unit::gwei), "1500000000gwei");
  EXPECT_EQ(Amount::from_wei(1).format(Unit::ether), "0.000000000000000001ether");
  EXPECT_EQ(Amount::from_wei(0).format(Unit::ether), "0ether");
  EXPECT_EQ(Amount::from_wei(20'000'000'000).to_display(), "20gwei");
  for (const char* t : {"7", "20gwei", "1.5ether", "0.001ether"}) {
    auto x = *Amount::parse(t);
    EXPECT_EQ(*Amount::parse(x.to_display()), x) << t;
    EXPECT_EQ(*Amount::from_decimal_wei(x.to_wei_string()), x) << t;
  }
}

TEST(Amount, CheckedArithmeticNeverWraps) {
  Amount max(~U256(0));
  Amount one = Amount::from_wei(1);
  EXPECT_EQ(checked_add(max, one).error().code, Errc::overflow);
  EXPECT_EQ(checked_sub(one, Amount::from_wei(2)).error().code, Errc::overflow);
  EXPECT_EQ(checked_mul(max, U256(2)).error().code, Errc::overflow);
  EXPECT_EQ(checked_add(one, one)->wei(), 2);
  EXPECT_EQ(checked_sub(max, max)->wei(), 0);
  // mul_div keeps a 512-bit intermediate: (max * 3) / 3 == max.
  EXPECT_EQ(*mul_div(max, U256(3), U256(3)), max);
  EXPECT_FALSE(mul_div(one, U256(1), U256(0)).ok());
}

TEST(Amount, OrdersByValue) {
  EXPECT_LT(Amount::from_wei(1), Amount::from_wei(2));
  EXPECT_GT(*Amount::parse("1ether"), *Amount::parse("999999999gwei"));
  EXPECT_EQ(*Amount::parse("1gwei"), Amount::from_wei(1'000'000'000));
}

TEST(Amount, WordEncodingIsBigEndian) {
  auto w = to_word(U256(0x0102));
  EXPECT_EQ(w[30], 0x01);
  EXPECT_EQ(w[31], 0x02);
  EXPECT_EQ(from_word(w), U256(0x0102));
}

TEST(Amount, WordEncodingMatchesAByteByByteReference) {
  auto reference = [](U256 v) {
    std::array<uint8_t, 32> out{};
    for (int i = 31; i >= 0; --i, v >>= 8) out[static_cast<std::size_t>(i)] = static_cast<uint8_t>(v & 0xff);
    return out;
  };
  std::vector<U256> values = {0, 1, 255, 256, U256(1) << 255, ~U256(0), ~U256(0) >> 7, U256("123456789012345678901234567890")};
  U256 x = 0x9e3779b97f4a7c15ULL;
  for (int i = 0; i < 50; ++i) values.push_back(x = x * 6364136223846793005ULL + 1442695040888963407ULL);
  for (const auto& v : values) {
    EXPECT_EQ(to_word(v), reference(v)) << v;
    EXPECT_EQ(from_word(reference(v)), v) << v;
  }
}

TEST(Amount, FromDecimalWeiIsStrict) {
  EXPECT_FALSE(Amount::from_decimal_wei("1ether").ok());
  EXPECT_FALSE(Amount::from_decimal_wei("").ok());
  EXPECT_FALSE(Amount::from_decimal_wei(" 1").ok());
}

} // namespace
} // namespace openstreaming::core
