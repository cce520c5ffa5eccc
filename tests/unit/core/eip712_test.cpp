#include "core/eip191.h"
#include "core/eip712.h"
#include "core/hex.h"
#include "core/keccak.h"
#include "support/vectors.h"

#include <gtest/gtest.h>

namespace openstreaming::core::eip712 {
namespace {

using nlohmann::json;

TypedData mail() { return *parse_typed_data(json::parse(test::read_vector_file("eip712_mail.json"))); }

// Expected values are those published with EIP-712's Example.js.
TEST(Eip712, MailExample) {
  TypedData td = mail();
  EXPECT_EQ(*encode_type(td.types, "Mail"), "Mail(Person from,Person to,string contents)Person(string name,address wallet)");
  EXPECT_EQ(to_hex(*type_hash(td.types, "Mail")), "0xa0cedeb2dc280ba39b857546d74f5549c3a1d7bdc2dd96bf881f76108e23dac2");
  EXPECT_EQ(to_hex(*hash_struct(td.types, "Mail", td.message)),
            "0xc52c0ee5d84264471806290a3f2c4cecfc5490626bf912d01f240d7a274b371e");
  EXPECT_EQ(to_hex(*domain_separator(td)), "0xf2cee375fa42b42143804025fc449deafd50cc031ca257e0b194a650a912090f");
  EXPECT_EQ(to_hex(*signing_hash(td)), "0xbe609aee343fb3c4b28e1df9e632fca64fcfaede20f02e86244efddf30957bd2");

  auto cow = *PrivateKey::from_bytes(keccak256(as_bytes("cow")));
  auto sig = sign_hash(cow, *signing_hash(td));
  EXPECT_EQ(sig.to_hex(),
            "0x4355c47d63924e8a72e509b65029052eb6c299d53a04e167c5775fd466751c9d"
            "07299936d304c153f6443dfa05f40ff007d72911b6f72307f996231605b91562"
            "1c");
}

TEST(Eip712, FixedDomainHelperMatchesGeneralEncoder) {
  auto contract = *Address::parse("0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC");
  EXPECT_EQ(domain_separator("Ether Mail", "1", U256(1), contract), *domain_separator(mail()));
}

TEST(Eip712, DerivesDomainTypeWhenAbsent) {
  TypedData td = mail();
  Hash256 expected = *domain_separator(td);
  td.types.erase("EIP712Domain");
  EXPECT_EQ(*domain_separator(td), expected);
}

TEST(Eip712, ArraysHashTheConcatenationOfElementEncodings) {
  json types = {{"Group", json::array({{{"name", "ids"}, {"type", "uint256[]"}}, {{"name", "tags"}, {"type", "string[2]"}}})}};
  json value = {{"ids", {1, "2", "0x03"}}, {"tags", {"a", "b"}}};
  Keccak256 ids;
  for (int i = 1; i <= 3; ++i) ids.update(word(U256(i)));
  Keccak256 tags;
  tags.update(keccak256(as_bytes("a"))).update(keccak256(as_bytes("b")));
  Hash256 expected = Keccak256()
                         .update(keccak256(as_bytes("Group(uint256[] ids,string[2] tags)")))
                         .update(ids.finalize())
                         .update(tags.finalize())
                         .finalize();
  EXPECT_EQ(*hash_struct(types, "Group", value), expected);
}

TEST(Eip712, SignedIntegersAreSignExtended) {
  json types = {{"T", json::array({{{"name", "v"}, {"type", "int8"}}})}};
  Hash256 ones{};
  ones.fill(0xff);
  Hash256 expected = Keccak256().update(keccak256(as_bytes("T(int8 v)"))).update(ones).finalize();
  EXPECT_EQ(*hash_struct(types, "T", json{{"v", -1}}), expected);
  EXPECT_EQ(*hash_struct(types, "T", json{{"v", "-1"}}), expected);
}

TEST(Eip712, RejectsMalformedValuesWithTheFieldName) {
  TypedData td = mail();
  struct Case {
    const char* name;
    json types;
    std::string type;
    json value;
  } cases[] = {
      {.name = "missing field", .types = td.types, .type = "Person", .value = json{{"name", "x"}}},
      {.name = "bad address", .types = td.types, .type = "Person", .value = json{{"name", "x"}, {"wallet", "0x12"}}},
      {.name = "uint8 overflow",
       .types = json{{"T", json::array({{{"name", "v"}, {"type", "uint8"}}})}},
       .type = "T",
       .value = json{{"v", 256}}},
      {.name = "bytes32 wrong length",
       .types = json{{"T", json::array({{{"name", "v"}, {"type", "bytes32"}}})}},
       .type = "T",
       .value = json{{"v", "0x1234"}}},
      {.name = "unknown type",
       .types = json{{"T", json::array({{{"name", "v"}, {"type", "uint7"}}})}},
       .type = "T",
       .value = json{{"v", 1}}},
      {.name = "fixed array length",
       .types = json{{"T", json::array({{{"name", "v"}, {"type", "bool[2]"}}})}},
       .type = "T",
       .value = json{{"v", {true}}}},
      {.name = "float is not an integer",
       .types = json{{"T", json::array({{{"name", "v"}, {"type", "uint256"}}})}},
       .type = "T",
       .value = json{{"v", 1.5}}},
  };
  for (const auto& c : cases) {
    auto r = hash_struct(c.types, c.type, c.value);
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_EQ(r.error().code, Errc::invalid_input) << c.name;
    EXPECT_NE(r.error().message.find("EIP-712"), std::string::npos) << c.name;
  }
}

TEST(Eip712, RecursiveTypesDoNotLoopForever) {
  json types = {{"Node", json::array({{{"name", "next"}, {"type", "Node[]"}}})}};
  EXPECT_EQ(*encode_type(types, "Node"), "Node(Node[] next)");
  json deep = json::object({{"next", json::array()}});
  for (int i = 0; i < 100; ++i) deep = json{{"next", json::array({deep})}};
  EXPECT_FALSE(hash_struct(types, "Node", deep).ok()); // bounded nesting, not a stack overflow
}

TEST(Eip712, ParseTypedDataRequiresAllParts) {
  EXPECT_FALSE(parse_typed_data(json::parse(R"({"types":{},"domain":{},"message":{}})")).ok());
  EXPECT_FALSE(parse_typed_data(json::parse(R"({"types":{},"primaryType":"X","domain":{},"message":{}})")).ok());
  EXPECT_FALSE(parse_typed_data(json::array()).ok());
}

} // namespace
} // namespace openstreaming::core::eip712
