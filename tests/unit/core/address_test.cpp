#include "core/address.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>

namespace openstreaming::core {
namespace {

// The examples from EIP-55 itself.
TEST(Address, Eip55Examples) {
  const char* examples[] = {
      "0x52908400098527886E0F7030069857D2E4169EE7", "0x8617E340B3D01FA5F11F306F4090FD50E238070D",
      "0xde709f2102306220921060314715629080e2fb77", "0x27b1fdb04752bbc536007a920d24acb045561c26",
      "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
      "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB", "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
  };
  for (const char* e : examples) {
    auto a = Address::parse(e);
    ASSERT_TRUE(a.ok()) << e << ": " << a.error().message;
    EXPECT_EQ(a->to_checksum_hex(), e);
  }
}

TEST(Address, AcceptsSingleCaseWithoutChecksum) {
  std::string lower = "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed";
  std::string upper = "0x5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED";
  EXPECT_EQ(Address::parse(lower)->to_checksum_hex(), "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed");
  EXPECT_EQ(*Address::parse(lower), *Address::parse(upper));
  EXPECT_EQ(Address::parse(lower)->to_lower_hex(), lower);
}

TEST(Address, RejectsBadChecksumAndShape) {
  auto typo = Address::parse("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"); // last letter's case flipped
  ASSERT_FALSE(typo.ok());
  EXPECT_EQ(typo.error().code, Errc::bad_checksum);
  for (const char* bad : {"5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeA",
                          "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAedff", "0xZZAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", ""}) {
    auto r = Address::parse(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, Errc::invalid_input) << bad;
  }
}

} // namespace
} // namespace openstreaming::core
