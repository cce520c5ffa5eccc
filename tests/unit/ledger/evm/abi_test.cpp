#include "core/keccak.h"
#include "json_values.h"
#include "ledger/evm/abi.h"

#include <gtest/gtest.h>

#include <sstream>

namespace openstreaming::ledger::evm::abi {
namespace {

using test::hex;
using test::json;

Type type(std::string_view text) {
  auto t = Type::parse(text);
  EXPECT_TRUE(t) << text << ": " << t.error().message;
  return *t;
}

Bytes word_hex(std::string_view h) {
  return hex(std::string(64 - h.size(), '0') + std::string(h));
}

// Calldata vectors: the selector, the encoding of the arguments, and decoding back.
void check_calls(const json& calls) {
  for (const auto& c : calls) {
    SCOPED_TRACE(c["name"].get<std::string>());
    auto f = Function::parse(c["signature"].get<std::string>());
    ASSERT_TRUE(f) << f.error().message;
    if (c.contains("canonical")) {
      EXPECT_EQ(f->signature, c["canonical"].get<std::string>());
    }
    EXPECT_EQ(core::to_hex(f->selector), c["selector"].get<std::string>());
    auto args = test::abi_values(f->inputs, c["args"]);
    auto calldata = f->encode_call(args);
    ASSERT_TRUE(calldata) << calldata.error().message;
    EXPECT_EQ(core::to_hex(*calldata), c["calldata"].get<std::string>());
    auto decoded = f->decode_call(hex(c["calldata"].get<std::string>()));
    ASSERT_TRUE(decoded) << decoded.error().message;
    EXPECT_TRUE(*decoded == args);
  }
}

TEST(Abi, SoliditySpecExamples) {
  json spec = test::read_json("abi_solidity_spec.json");
  ASSERT_EQ(spec["calls"].size(), 5u);
  check_calls(spec["calls"]);
}

TEST(Abi, EthersGeneratedCalls) {
  check_calls(test::read_json("evm_ethers_generated.json")["calls"]);
}

TEST(Abi, SelectorsHashTheCanonicalSignature) {
  auto sam = *Function::parse("sam(bytes,bool,uint[])");
  EXPECT_EQ(sam.signature, "sam(bytes,bool,uint256[])");
  EXPECT_EQ(core::to_hex(sam.selector), "0xa5643bf2");
  // ERC-20, as published in EIP-20 implementations and every block explorer.
  EXPECT_EQ(core::to_hex(Function::parse("transfer(address,uint256)")->selector), "0xa9059cbb");
  EXPECT_EQ(core::to_hex(*event_topic("Transfer(address,address,uint256)")),
            "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef");
  json file = test::read_json("evm_ethers_generated.json");
  for (const auto& e : file["events"]) {
    SCOPED_TRACE(e["signature"].get<std::string>());
    EXPECT_EQ(core::to_hex(*event_topic(e["signature"].get<std::string>())), e["topic"].get<std::string>());
  }
}

TEST(Abi, TypeGrammar) {
  struct Case {
    const char* text;
    const char* canonical;
    bool dynamic;
    std::size_t head;
  } ok[] = {
      {.text = "uint", .canonical = "uint256", .dynamic = false, .head = 32},
      {.text = "int8", .canonical = "int8", .dynamic = false, .head = 32},
      {.text = "bytes32[3]", .canonical = "bytes32[3]", .dynamic = false, .head = 96},
      {.text = "uint16[2][2]", .canonical = "uint16[2][2]", .dynamic = false, .head = 128},
      {.text = "string[2]", .canonical = "string[2]", .dynamic = true, .head = 32},
      {.text = "(address,uint)", .canonical = "(address,uint256)", .dynamic = false, .head = 64},
      {.text = "(address,bytes)[]", .canonical = "(address,bytes)[]", .dynamic = true, .head = 32},
      {.text = "()", .canonical = "()", .dynamic = false, .head = 0},
  };
  for (const auto& c : ok) {
    SCOPED_TRACE(c.text);
    Type t = type(c.text);
    EXPECT_EQ(t.canonical(), c.canonical);
    EXPECT_EQ(t.is_dynamic(), c.dynamic);
    EXPECT_EQ(t.head_size(), c.head);
  }
  const char* bad[] = {"",         "uint7",    "uint264",    "uint08",   "bytes0",     "bytes33",
                       "address ", "(uint256", "(uint256,)", "uint256[", "uint256[0]", "uint256[01]",
                       "byte",     "Uint256",  "(uint256))", "()[]",     "tuple",      "uint256[99999999]"};
  for (const char* text : bad) {
    SCOPED_TRACE(text);
    EXPECT_FALSE(Type::parse(text));
  }
  EXPECT_EQ(Type::parse("fixed128x18").error().code, Errc::unsupported);
  std::string deep(kMaxTypeDepth, '(');
  deep += "uint256" + std::string(kMaxTypeDepth, ')');
  EXPECT_FALSE(Type::parse(deep));
  EXPECT_TRUE(Type::parse(std::string(kMaxTypeDepth - 1, '(') + "uint256" + std::string(kMaxTypeDepth - 1, ')')));
  std::string brackets = "uint256";
  for (std::size_t i = 0; i < kMaxTypeDepth; ++i) brackets += "[]";
  EXPECT_FALSE(Type::parse(brackets));
  EXPECT_FALSE(Function::parse("1f(uint256)"));
  EXPECT_FALSE(Function::parse("f(uint256) "));
  EXPECT_FALSE(Function::parse("f"));
}

TEST(Abi, SignedIntegersAreTwosComplement) {
  Bytes ones(32, 0xff);
  EXPECT_EQ(*encode(Type::sint(256), Value::sint(I256(-1))), ones);
  EXPECT_EQ(*encode(Type::sint(8), Value::sint(I256(-1))), ones);
  I256 min = -(I256(1) << 255);
  Bytes min_word(32, 0);
  min_word[0] = 0x80;
  EXPECT_EQ(*encode(Type::sint(256), Value::sint(min)), min_word);
  EXPECT_EQ(decode(Type::sint(256), min_word)->as_sint(), min);
  EXPECT_EQ(decode(Type::sint(8), word_hex("7f"))->as_sint(), I256(127));
  EXPECT_FALSE(encode(Type::sint(8), Value::sint(I256(128))));
  EXPECT_FALSE(encode(Type::sint(8), Value::sint(I256(-129))));
  EXPECT_FALSE(encode(Type::sint(256), Value::sint(I256(1) << 255)));
  // int8 -1 must be sign-extended over all 32 bytes.
  EXPECT_FALSE(decode(Type::sint(8), word_hex("ff")));
}

TEST(Abi, EncodingChecksValuesAgainstTypes) {
  struct Case {
    const char* name;
    const char* type;
    Value value;
  } cases[] = {
      {.name = "uint8 overflow", .type = "uint8", .value = Value::uint(U256(256))},
      {.name = "wrong kind", .type = "uint256", .value = Value::boolean(true)},
      {.name = "bytes4 of 3 bytes", .type = "bytes4", .value = Value::fixed_bytes(Bytes{1, 2, 3})},
      {.name = "tuple arity", .type = "(uint256,bool)", .value = Value::list({Value::uint(U256(1))})},
      {.name = "fixed array length", .type = "uint256[2]", .value = Value::list({Value::uint(U256(1))})},
      {.name = "string given bytes", .type = "string", .value = Value::bytes(Bytes{})},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto r = encode(type(c.type), c.value);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::invalid_input);
  }
}

TEST(Abi, EncodeOfOneDynamicValueIsItsOneElementTuple) {
  // abi.encode("dave") in Solidity: offset 0x20, length 4, data.
  Bytes expected = word_hex("20");
  Bytes len = word_hex("4");
  expected.insert(expected.end(), len.begin(), len.end());
  Bytes data = hex("0x6461766500000000000000000000000000000000000000000000000000000000");
  expected.insert(expected.end(), data.begin(), data.end());
  EXPECT_EQ(*encode(Type::string(), Value::string("dave")), expected);
  EXPECT_EQ(decode(Type::string(), expected)->as_string(), "dave");
}

TEST(Abi, DecodingRejectsDirtyValues) {
  struct Case {
    const char* name;
    const char* type;
    Bytes data;
  } cases[] = {
      {.name = "uint8 above 255", .type = "uint8", .data = word_hex("100")},
      {.name = "bool 2", .type = "bool", .data = word_hex("2")},
      {.name = "address with high bytes", .type = "address", .data = word_hex("1" + std::string(40, '0'))},
      {.name = "bytes4 with padding set",
       .type = "bytes4",
       .data = hex("0x" + std::string(8, 'a') + "01" + std::string(54, '0'))},
      {.name = "short word", .type = "uint256", .data = Bytes(31, 0)},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_FALSE(decode(type(c.type), c.data));
  }
}

Bytes concat_words(std::initializer_list<std::string_view> words) {
  Bytes out;
  for (auto w : words) {
    Bytes b = word_hex(w);
    out.insert(out.end(), b.begin(), b.end());
  }
  return out;
}

TEST(Abi, DecodingBoundsOffsetsAndLengths) {
  struct Case {
    const char* name;
    const char* type;
    Bytes data;
  } cases[] = {
      {.name = "offset past the end", .type = "bytes", .data = concat_words({"40", "0"})},
      {.name = "offset of 2^255", .type = "bytes", .data = concat_words({"8" + std::string(63, '0'), "0"})},
      {.name = "length past the end", .type = "bytes", .data = concat_words({"20", "21", "0"})},
      {.name = "length 2^256-1", .type = "string", .data = concat_words({"20", std::string(64, 'f')})},
      {.name = "array length past the end", .type = "uint256[]", .data = concat_words({"20", "3", "1", "2"})},
      {.name = "array length 2^64", .type = "uint256[]", .data = concat_words({"20", "10000000000000000"})},
      {.name = "offset inside a nested array", .type = "uint256[][]", .data = concat_words({"20", "1", "ffff"})},
      {.name = "empty data", .type = "(uint256,bool)", .data = Bytes{}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto r = decode(type(c.type), c.data);
    EXPECT_FALSE(r);
  }
}

TEST(Abi, OverlappingOffsetsCannotExpandBeyondTheData) {
  // uint256[][] of 64 elements whose offsets all point at one 64-element inner
  // array: 4 KiB of data that would decode to 64 * 64 words. Refused.
  constexpr std::size_t n = 64;
  std::vector<std::string> words{"20", "40"}; // outer offset, outer length
  std::size_t inner_at = n * 32;              // relative to the outer array's element heads
  for (std::size_t i = 0; i < n; ++i) {
    std::ostringstream o;
    o << std::hex << inner_at;
    words.push_back(o.str());
  }
  words.push_back("40"); // inner length 64
  for (std::size_t i = 0; i < n; ++i) words.push_back("1");
  Bytes data;
  for (const auto& w : words) {
    Bytes b = word_hex(w);
    data.insert(data.end(), b.begin(), b.end());
  }
  auto r = decode(type("uint256[][]"), data);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::overflow);

  // The same data with one element decodes: overlap itself is legal, expansion is not.
  words[1] = "1";
  data.clear();
  for (const auto& w : words) {
    Bytes b = word_hex(w);
    data.insert(data.end(), b.begin(), b.end());
  }
  auto one = decode(type("uint256[][]"), data);
  ASSERT_TRUE(one) << one.error().message;
  EXPECT_EQ(one->as_list().size(), 1u);
}

TEST(Abi, SolidityDocsRevertReason) {
  // docs.soliditylang.org, "Expressions and Control Structures": revert("Not enough Ether provided.").
  Bytes data = hex("0x08c379a0"
                   "0000000000000000000000000000000000000000000000000000000000000020"
                   "000000000000000000000000000000000000000000000000000000000000001a"
                   "4e6f7420656e6f7567682045746865722070726f76696465642e000000000000");
  auto r = decode_revert(data);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->kind, Revert::Kind::error_string);
  EXPECT_EQ(r->reason, "Not enough Ether provided.");
  EXPECT_EQ(describe(*r), "reverted: Not enough Ether provided.");
}

TEST(Abi, EthersGeneratedReverts) {
  json reverts = test::read_json("evm_ethers_generated.json")["reverts"];
  std::vector<Function> customs{*Function::parse("Unrelated(uint256)")};
  for (const auto& v : reverts) {
    if (v.contains("signature")) customs.push_back(*Function::parse(v["signature"].get<std::string>()));
  }
  for (const auto& v : reverts) {
    SCOPED_TRACE(v["name"].get<std::string>());
    auto r = decode_revert(hex(v["data"].get<std::string>()), customs);
    ASSERT_TRUE(r) << r.error().message;
    if (v.contains("reason")) {
      EXPECT_EQ(r->kind, Revert::Kind::error_string);
      EXPECT_EQ(r->reason, v["reason"].get<std::string>());
    } else if (v.contains("panic_code")) {
      EXPECT_EQ(r->kind, Revert::Kind::panic);
      EXPECT_EQ(r->panic_code, test::u256(v["panic_code"]));
      EXPECT_EQ(describe(*r), "panic 0x11 (arithmetic overflow or underflow)");
    } else {
      auto custom = *Function::parse(v["signature"].get<std::string>());
      EXPECT_EQ(r->kind, Revert::Kind::custom);
      EXPECT_EQ(r->error_signature, custom.signature);
      EXPECT_TRUE(r->arguments == test::abi_values(custom.inputs, v["args"]));
    }
  }
  auto locked = *decode_revert(hex(reverts[3]["data"].get<std::string>()), customs);
  EXPECT_EQ(describe(locked), "Locked(12, 10)");
  // Without the error's signature the selector is all that can be said.
  auto unknown = *decode_revert(hex(reverts[3]["data"].get<std::string>()));
  EXPECT_EQ(unknown.kind, Revert::Kind::unknown);
}

// What TicketBroker returns and emits, decoded as the backend will read it.
TEST(Abi, EthersGeneratedReturnData) {
  json file = test::read_json("evm_ethers_generated.json");
  ASSERT_GE(file["returns"].size(), 3u);
  for (const auto& v : file["returns"]) {
    SCOPED_TRACE(v["name"].get<std::string>());
    Type t = type(v["types"].get<std::string>());
    auto expected = test::abi_values(t.components(), v["values"]);
    auto decoded = decode(t.components(), hex(v["data"].get<std::string>()));
    ASSERT_TRUE(decoded) << decoded.error().message;
    EXPECT_TRUE(*decoded == expected);
    EXPECT_EQ(core::to_hex(*encode(t.components(), expected)), v["data"].get<std::string>());
  }
}

TEST(Abi, RevertKindsWithoutAKnownSelector) {
  auto empty = decode_revert({});
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->kind, Revert::Kind::empty);
  auto short_data = decode_revert(Bytes{1, 2});
  ASSERT_TRUE(short_data);
  EXPECT_EQ(short_data->kind, Revert::Kind::unknown);
  auto unknown = decode_revert(hex("0xdeadbeef00"));
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->kind, Revert::Kind::unknown);
  EXPECT_EQ(describe(*unknown), "reverted with unknown error 0xdeadbeef (5 bytes)");
  // A known selector with a malformed payload is an error, not "unknown".
  EXPECT_FALSE(decode_revert(hex("0x08c379a0" + std::string(64, 'f'))));
  EXPECT_FALSE(decode_revert(hex("0x4e487b71")));
  // Chain-supplied reasons are made printable for logs.
  auto nasty = *decode_revert(
      *Function{.name = "Error", .inputs = {Type::string()}, .signature = "", .selector = kErrorSelector}.encode_call(
          std::vector<Value>{Value::string("a\nb\x1b[31m")}));
  EXPECT_EQ(describe(nasty), "reverted: a?b?[31m");
}

TEST(Abi, IndexedTopics) {
  auto a = test::address("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
  Hash256 expected{};
  std::copy(a.bytes().begin(), a.bytes().end(), expected.begin() + 12);
  EXPECT_EQ(*indexed_topic(Type::address(), Value::address(a)), expected);
  EXPECT_EQ(*indexed_topic(Type::string(), Value::string("dave")), core::keccak256(as_bytes("dave")));
  EXPECT_EQ(indexed_topic(type("uint256[]"), Value::list({})).error().code, Errc::unsupported);
}

} // namespace
} // namespace openstreaming::ledger::evm::abi
