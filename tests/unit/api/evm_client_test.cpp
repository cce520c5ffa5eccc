// What an EVM node returns is untrusted: the checked readers of quantities and data.
#include "api/evm_client.h"

#include <gtest/gtest.h>

namespace openstreaming::api {
namespace {

using nlohmann::json;

TEST(EvmClient, QuantitiesAreCheckedHexOfAtMost256Bits) {
  EXPECT_EQ(*parse_quantity("0x0"), U256(0));
  EXPECT_EQ(*parse_quantity("0x7a69"), U256(31337));
  EXPECT_EQ(*parse_quantity("0xFF"), U256(255));
  EXPECT_EQ(*parse_quantity("0x" + std::string(64, 'f')), ~U256(0));
  for (const json& bad : {json("0x" + std::string(65, '1')), json("0x"), json("7a69"), json("0xg1"), json(""),
                          json(31337), json(nullptr), json::array()}) {
    EXPECT_FALSE(parse_quantity(bad)) << bad.dump();
  }
  EXPECT_EQ(to_quantity(0), "0x0");
  EXPECT_EQ(to_quantity(31337), "0x7a69");
  EXPECT_EQ(*parse_quantity(to_quantity(~U256(0))), ~U256(0));
}

TEST(EvmClient, DataIsCheckedHex) {
  EXPECT_EQ(*parse_data("0x"), Bytes{});
  EXPECT_EQ(*parse_data("0x00ff"), (Bytes{0x00, 0xff}));
  for (const json& bad : {json("00ff"), json("0x0"), json("0xzz"), json(1), json(nullptr)})
    EXPECT_FALSE(parse_data(bad)) << bad.dump();
}

} // namespace
} // namespace openstreaming::api
