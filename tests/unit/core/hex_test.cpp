#include "core/hex.h"

#include <gtest/gtest.h>

namespace openstreaming::core {
namespace {

TEST(Hex, RoundTrip) {
  Bytes b = {0x00, 0x01, 0xab, 0xff};
  EXPECT_EQ(to_hex(b), "0x0001abff");
  EXPECT_EQ(to_hex(b, false), "0001abff");
  EXPECT_EQ(*from_hex("0x0001abff"), b);
  EXPECT_EQ(*from_hex("0001ABFF"), b);
  EXPECT_EQ(*from_hex("0X0001abff"), b);
  EXPECT_TRUE(from_hex("")->empty());
  EXPECT_TRUE(from_hex("0x")->empty());
}

TEST(Hex, RejectsMalformed) {
  struct Case {
    const char* text;
    Errc code;
  } cases[] = {
      {.text = "0x123", .code = Errc::invalid_input},
      {.text = "zz", .code = Errc::invalid_input},
      {.text = "0x12g4", .code = Errc::invalid_input},
      {.text = " 12", .code = Errc::invalid_input},
  };
  for (const auto& c : cases) {
    auto r = from_hex(c.text);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_EQ(r.error().code, c.code) << c.text;
    EXPECT_FALSE(r.error().message.empty());
  }
}

TEST(Hex, FixedLength) {
  EXPECT_TRUE((from_hex_fixed<2>("0xabcd").ok()));
  auto r = from_hex_fixed<3>("0xabcd");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::bad_length);
}

} // namespace
} // namespace openstreaming::core
