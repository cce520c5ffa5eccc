#include "json_values.h"
#include "ledger/evm/rlp.h"

#include <boost/multiprecision/cpp_int.hpp>
#include <gtest/gtest.h>

#include <iterator>

namespace openstreaming::ledger::evm::rlp {
namespace {

using test::hex;
using test::json;

// The "in" side of ethereum/tests' RLP vectors: "#digits" is a big integer, any
// other string its UTF-8 bytes, a number an integer, an array a list.
Item item_from_json(const json& j) {
  if (j.is_array()) {
    std::vector<Item> items;
    for (const auto& e : j) items.push_back(item_from_json(e));
    return Item::list(std::move(items));
  }
  if (j.is_number_integer()) return Item::uint(j.get<uint64_t>());
  std::string s = j.get<std::string>();
  if (s.starts_with("#")) {
    // May exceed 256 bits ("bigint" is 2^256): minimal big-endian bytes of any size.
    boost::multiprecision::cpp_int v(s.substr(1));
    Bytes be;
    boost::multiprecision::export_bits(v, std::back_inserter(be), 8);
    if (v == 0) be.clear();
    return Item::bytes(std::move(be));
  }
  return Item::bytes(as_bytes(s));
}

TEST(Rlp, EthereumTestsValidVectorsEncodeAndDecode) {
  json vectors = test::read_json("rlp_ethereum_tests.json")["valid"];
  ASSERT_GE(vectors.size(), 28u);
  for (const auto& [name, v] : vectors.items()) {
    SCOPED_TRACE(name);
    Item item = item_from_json(v["in"]);
    Bytes expected = hex(v["out"].get<std::string>());
    EXPECT_EQ(core::to_hex(encode(item)), core::to_hex(expected));
    auto decoded = decode(expected);
    ASSERT_TRUE(decoded) << decoded.error().message;
    EXPECT_EQ(*decoded, item);
  }
}

TEST(Rlp, EthereumTestsInvalidVectorsAreRejected) {
  json vectors = test::read_json("rlp_ethereum_tests.json")["invalid"];
  ASSERT_GE(vectors.size(), 17u);
  for (const auto& [name, v] : vectors.items()) {
    SCOPED_TRACE(name);
    auto decoded = decode(hex(v["out"].get<std::string>()));
    EXPECT_FALSE(decoded);
    if (!decoded) {
      EXPECT_EQ(decoded.error().code, Errc::invalid_input);
    }
  }
}

TEST(Rlp, BriefExamples) {
  EXPECT_EQ(core::to_hex(encode(Item::bytes(as_bytes("dog")))), "0x83646f67");
  EXPECT_EQ(core::to_hex(encode(Item::list({Item::bytes(as_bytes("cat")), Item::bytes(as_bytes("dog"))}))),
            "0xc88363617483646f67");
  EXPECT_EQ(core::to_hex(encode_uint(U256(1024))), "0x820400");
  EXPECT_EQ(core::to_hex(encode_bytes(Bytes{0x04, 0x00})), "0x820400");
  EXPECT_EQ(core::to_hex(encode_uint(U256(0))), "0x80");
  // The set-theoretic representation of three: [ [], [[]], [ [], [[]] ] ].
  Item zero = Item::list({});
  Item one = Item::list({zero});
  Item three = Item::list({zero, one, Item::list({zero, one})});
  EXPECT_EQ(core::to_hex(encode(three)), "0xc7c0c1c0c3c0c1c0");
  // encode_list over pre-encoded items matches the tree encoder.
  std::vector<Bytes> parts{encode_bytes(as_bytes("cat")), encode_bytes(as_bytes("dog"))};
  EXPECT_EQ(encode_list(parts), hex("0xc88363617483646f67"));
}

TEST(Rlp, RejectsNonCanonicalAndTruncatedInput) {
  struct Case {
    const char* name;
    const char* hex;
  } cases[] = {
      {.name = "empty input", .hex = "0x"},
      {.name = "trailing byte after an item", .hex = "0x8000"},
      {.name = "trailing byte after a list", .hex = "0xc0c0"},
      {.name = "short string past the end", .hex = "0x83646f"},
      {.name = "list item past its list's end", .hex = "0xc283646f67"},
      {.name = "long string of length 55", .hex = "0xb837"},
      {.name = "length of length past the end", .hex = "0xbb0102"},
      {.name = "2^64-1 byte string", .hex = "0xbfffffffffffffffff"},
      {.name = "2^64-1 byte list", .hex = "0xffffffffffffffffff00"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_FALSE(decode(hex(c.hex)));
  }
}

Bytes nested_lists(std::size_t depth) {
  Item item = Item::list({});
  for (std::size_t i = 1; i < depth; ++i) {
    std::vector<Item> one;
    one.push_back(std::move(item));
    item = Item::list(std::move(one));
  }
  return encode(item);
}

TEST(Rlp, NestingIsCappedAtTheLimit) {
  EXPECT_TRUE(decode(nested_lists(16)));
  auto too_deep = decode(nested_lists(17));
  ASSERT_FALSE(too_deep);
  EXPECT_NE(too_deep.error().message.find("nested deeper"), std::string::npos);
  EXPECT_TRUE(decode(nested_lists(17), DecodeLimits{.max_depth = 17}));
  // Deeper input is refused at the cap: the decoder never recurses past it.
  EXPECT_FALSE(decode(nested_lists(1000)));
  EXPECT_FALSE(decode(Bytes(100000, 0xc1))); // a run of list headers, each claiming the rest
}

TEST(Rlp, IntegerReadersAreCanonical) {
  EXPECT_EQ(*to_uint(*decode(hex("0x80")), "x"), U256(0));
  EXPECT_EQ(*to_uint(*decode(hex("0x7f")), "x"), U256(127));
  EXPECT_EQ(*to_uint(*decode(hex("0x820400")), "x"), U256(1024));
  EXPECT_EQ(*to_u64(*decode(hex("0x88ffffffffffffffff")), "x"), UINT64_MAX);
  EXPECT_EQ(*to_uint(Item::uint(~U256(0)), "x"), ~U256(0));

  struct Case {
    const char* name;
    Item item;
    Errc code;
  } cases[] = {
      {.name = "zero as 0x00", .item = *decode(hex("0x00")), .code = Errc::invalid_input},
      {.name = "leading zero", .item = *decode(hex("0x820001")), .code = Errc::invalid_input},
      {.name = "33 bytes", .item = Item::bytes(Bytes(33, 1)), .code = Errc::overflow},
      {.name = "a list", .item = Item::list({}), .code = Errc::invalid_input},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto v = to_uint(c.item, "nonce");
    ASSERT_FALSE(v);
    EXPECT_EQ(v.error().code, c.code);
    EXPECT_NE(v.error().message.find("nonce"), std::string::npos);
  }
  auto big = to_u64(Item::uint(U256(1) << 64), "gasLimit");
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().code, Errc::overflow);
}

TEST(Rlp, FixedReaderChecksTheSize) {
  auto addr = to_fixed<20>(Item::bytes(Bytes(20, 0xaa)), "to");
  ASSERT_TRUE(addr);
  EXPECT_EQ((*addr)[19], 0xaa);
  EXPECT_FALSE((to_fixed<20>(Item::bytes(Bytes(19, 0xaa)), "to")));
  EXPECT_FALSE((to_fixed<20>(Item::list({}), "to")));
}

} // namespace
} // namespace openstreaming::ledger::evm::rlp
