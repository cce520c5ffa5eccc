#include "core/hash.h"
#include "core/hex.h"
#include "core/nostr.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cctype>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace openstreaming::core {
namespace {

using nlohmann::json;

// The generator's x coordinate: any 64 hex digits do for serialization.
constexpr const char* kPub = "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798";

struct Signer {
  PrivateKey key;
  Hash256 aux_rand;
};

Signer deterministic_signer() {
  DeterministicRandom rng(2024);
  PrivateKey key = PrivateKey::generate(rng);
  return Signer{.key = key, .aux_rand = rng.bytes<32>()};
}

NostrEvent signed_note() {
  Signer s = deterministic_signer();
  return sign_event(s.key, /*created_at=*/1700000000, /*kind=*/30311,
                    {{"d", "stream-1"}, {"title", "Live \"now\""}, {"status", "live"}}, "hello\nnostr é 🎉", s.aux_rand);
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST(NostrEvent, SignThenVerify) {
  Signer s = deterministic_signer();
  NostrEvent event = signed_note();
  EXPECT_EQ(event.pubkey, to_hex(s.key.xonly_public_key(), /*prefix=*/false));
  EXPECT_EQ(event.id, to_hex(sha256(as_bytes(serialize_for_id(event))), /*prefix=*/false));
  EXPECT_EQ(event.id.size(), 64u);
  EXPECT_EQ(event.sig.size(), 128u);
  EXPECT_EQ(event.created_at, 1700000000);
  EXPECT_EQ(event.kind, 30311);
  auto verified = verify_event(event);
  EXPECT_TRUE(verified.ok()) << verified.error().message;
}

TEST(NostrEvent, SigningIsDeterministicForAFixedAuxRand) {
  Signer s = deterministic_signer();
  NostrEvent a = sign_event(s.key, /*created_at=*/1, /*kind=*/1, {}, "x", s.aux_rand);
  NostrEvent b = sign_event(s.key, /*created_at=*/1, /*kind=*/1, {}, "x", s.aux_rand);
  EXPECT_EQ(a, b);
  Hash256 other_aux = s.aux_rand;
  other_aux[0] ^= 1;
  NostrEvent c = sign_event(s.key, /*created_at=*/1, /*kind=*/1, {}, "x", other_aux);
  EXPECT_EQ(c.id, a.id); // the id covers the content, not the nonce
  EXPECT_NE(c.sig, a.sig);
  EXPECT_TRUE(verify_event(c).ok());
}

TEST(NostrEvent, TamperingFailsVerifyWithTheRightMessage) {
  const NostrEvent original = signed_note();
  DeterministicRandom rng(99);
  const PrivateKey other = PrivateKey::generate(rng);
  const std::string other_pubkey = to_hex(other.xonly_public_key(), /*prefix=*/false);
  const auto rehash = [](NostrEvent& e) { e.id = to_hex(event_id_hash(e), /*prefix=*/false); };
  const std::string id_mismatch = "nostr event: 'id' does not match the event's contents";
  const std::string sig_fails = "nostr event: 'sig' does not verify for 'pubkey'";

  struct Case {
    const char* name;
    std::function<void(NostrEvent&)> tamper;
    Errc code;
    std::string message;
  } cases[] = {
      {.name = "content", .tamper = [](NostrEvent& e) { e.content += "!"; }, .code = Errc::invalid_input,
       .message = id_mismatch},
      {.name = "tag value", .tamper = [](NostrEvent& e) { e.tags[2][1] = "ended"; }, .code = Errc::invalid_input,
       .message = id_mismatch},
      {.name = "tag added", .tamper = [](NostrEvent& e) { e.tags.push_back({"p", kPub}); },
       .code = Errc::invalid_input, .message = id_mismatch},
      {.name = "tag removed", .tamper = [](NostrEvent& e) { e.tags.pop_back(); }, .code = Errc::invalid_input,
       .message = id_mismatch},
      {.name = "created_at", .tamper = [](NostrEvent& e) { e.created_at += 1; }, .code = Errc::invalid_input,
       .message = id_mismatch},
      {.name = "kind", .tamper = [](NostrEvent& e) { e.kind = 1; }, .code = Errc::invalid_input,
       .message = id_mismatch},
      {.name = "pubkey swapped", .tamper = [&](NostrEvent& e) { e.pubkey = other_pubkey; },
       .code = Errc::invalid_input, .message = id_mismatch},
      {.name = "id of another event",
       .tamper = [](NostrEvent& e) { e.id = to_hex(sha256(as_bytes("another event")), /*prefix=*/false); },
       .code = Errc::invalid_input, .message = id_mismatch},
      {.name = "id uppercase",
       .tamper = [](NostrEvent& e) { for (char& c : e.id) c = static_cast<char>(std::toupper(c)); },
       .code = Errc::invalid_input, .message = "nostr event: 'id' must be 64 lowercase hex characters (found '"},
      {.name = "id truncated", .tamper = [](NostrEvent& e) { e.id.pop_back(); }, .code = Errc::invalid_input,
       .message = "nostr event: 'id' must be 64 lowercase hex characters (got 63"},
      {.name = "id with 0x", .tamper = [](NostrEvent& e) { e.id = "0x" + e.id; }, .code = Errc::invalid_input,
       .message = "nostr event: 'id' must be 64 lowercase hex characters (got 66"},
      {.name = "pubkey not hex", .tamper = [](NostrEvent& e) { e.pubkey[5] = 'g'; }, .code = Errc::invalid_input,
       .message = "nostr event: 'pubkey' must be 64 lowercase hex characters (found 'g' at position 5)"},
      {.name = "sig truncated", .tamper = [](NostrEvent& e) { e.sig.resize(126); }, .code = Errc::invalid_input,
       .message = "nostr event: 'sig' must be 128 lowercase hex characters (got 126"},
      {.name = "sig last digit flipped",
       .tamper = [](NostrEvent& e) { e.sig.back() = e.sig.back() == '0' ? '1' : '0'; },
       .code = Errc::bad_signature, .message = sig_fails},
      {.name = "sig halves swapped",
       .tamper = [](NostrEvent& e) { e.sig = e.sig.substr(64) + e.sig.substr(0, 64); }, // s ‖ r
       .code = Errc::bad_signature, .message = sig_fails},
      {.name = "content changed and id recomputed",
       .tamper = [&](NostrEvent& e) {
         e.content = "forged";
         rehash(e);
       },
       .code = Errc::bad_signature, .message = sig_fails},
      {.name = "pubkey swapped and id recomputed",
       .tamper = [&](NostrEvent& e) {
         e.pubkey = other_pubkey;
         rehash(e);
       },
       .code = Errc::bad_signature, .message = sig_fails},
      {.name = "pubkey not on the curve, id recomputed",
       .tamper = [&](NostrEvent& e) {
         e.pubkey = std::string(64, 'f'); // x >= p: no such point
         rehash(e);
       },
       .code = Errc::bad_signature, .message = sig_fails},
  };
  for (const auto& c : cases) {
    NostrEvent event = original;
    c.tamper(event);
    auto verified = verify_event(event);
    ASSERT_FALSE(verified.ok()) << c.name;
    EXPECT_EQ(verified.error().code, c.code) << c.name;
    EXPECT_TRUE(contains(verified.error().message, c.message)) << c.name << ": " << verified.error().message;
  }
}

TEST(NostrSerialize, EscapesExactlyAsNip01Says) {
  const std::string head = std::string(R"([0,")") + kPub + R"(",)";
  struct Case {
    const char* name;
    int64_t created_at;
    int kind;
    NostrTags tags;
    std::string content;
    std::string expected;
  } cases[] = {
      {.name = "plain", .created_at = 1700000000, .kind = 1, .tags = {}, .content = "hello",
       .expected = head + R"(1700000000,1,[],"hello"])"},
      {.name = "empty content, zero time, top kind", .created_at = 0, .kind = 65535, .tags = {}, .content = "",
       .expected = head + R"(0,65535,[],""])"},
      {.name = "quotes and backslash", .created_at = 5, .kind = 1, .tags = {}, .content = "say \"hi\" C:\\dir\\",
       .expected = head + R"(5,1,[],"say \"hi\" C:\\dir\\"])"},
      {.name = "newline, carriage return, tab", .created_at = 5, .kind = 1, .tags = {}, .content = "a\nb\rc\td",
       .expected = head + R"(5,1,[],"a\nb\rc\td"])"},
      {.name = "backspace and form feed", .created_at = 5, .kind = 1, .tags = {}, .content = "x\by\fz",
       .expected = head + R"(5,1,[],"x\by\fz"])"},
      // Other control characters go out raw, not as \u0001.
      {.name = "raw control characters", .created_at = 5, .kind = 1, .tags = {},
       .content = std::string("a\x01") + "b\x1f\x7f",
       .expected = head + R"(5,1,[],"a)" + "\x01" + "b\x1f\x7f" + R"("])"},
      {.name = "UTF-8 and slash as they are", .created_at = 5, .kind = 1, .tags = {}, .content = "café 🎉 a/b",
       .expected = head + "5,1,[],\"caf\xc3\xa9 \xf0\x9f\x8e\x89 a/b\"]"}, // the bytes of é and 🎉
      {.name = "tags", .created_at = 5, .kind = 30311, .tags = {{"d", "abc"}, {"p", "x", "wss://relay.example/"}, {}},
       .content = "c", .expected = head + R"(5,30311,[["d","abc"],["p","x","wss://relay.example/"],[]],"c"])"},
      {.name = "escapes inside tags", .created_at = 5, .kind = 1, .tags = {{"t", "a\"b\\c\nd\t\x01"}}, .content = "",
       .expected = head + R"(5,1,[["t","a\"b\\c\nd\t)" + "\x01" + R"("]],""])"},
  };
  for (const auto& c : cases) {
    NostrEvent event{.id = {}, .pubkey = kPub, .created_at = c.created_at, .kind = c.kind, .tags = c.tags,
                     .content = c.content, .sig = {}};
    EXPECT_EQ(serialize_for_id(event), c.expected) << c.name;
  }
}

// Published events (kind 0 profile of nostr-rs-relay's author, two kind 1 notes)
// as quoted in the Quanta project's tests (quanta.test.UtilsTest). That the ids
// and signatures check out shows the fields are the ones that were signed.
TEST(NostrEvent, VerifiesRealPublishedEvents) {
  const char* events[] = {
      R"json({"id":"b12e1d13848d47e28f912bb0a8b3d6b211d1af97f60e9e10b9cf5df9e5c731ed",
        "pubkey":"35d26e4690cbe1a898af61cc3515661eb5fa763b57bd0b42e45099c8b32fd50f",
        "created_at":1677727939,"kind":0,"tags":[],
        "content":"{\"name\":\"scsibug\",\"picture\":\"https://s.gravatar.com/avatar/)json"
      R"json(1a425d744df94198d68dfffbf7ae51cf\",\"about\":\"author of nostr-rs-relay, operates )json"
      R"json(nostr-pub.wellorder.net\",\"nip05\":\"scsibug@wellorder.net\",\"lud06\":\"\",)json"
      R"json(\"lud16\":\"outsideice77@walletofsatoshi.com\",\"username\":\"scsibug\",)json"
      R"json(\"display_name\":\"\",\"displayName\":\"\",\"banner\":\"\",\"website\":\"\"}",
        "sig":"02f3e61059e99874cfd777f8cff44a2faa801429ab2cfd844adcc52e5c917ed8)json"
      R"json(86891d2cafab30fb4d38acfd20a399a2fd75e7472a4d13669735dc2cea84d6b6"})json",
      R"json({"id":"1b71f57e1c3365f32b2a0abd8ded19f2a5e217a6eeaf3df11fa5c904bfb90dd6",
        "pubkey":"35d26e4690cbe1a898af61cc3515661eb5fa763b57bd0b42e45099c8b32fd50f",
        "created_at":1681157953,"kind":1,"tags":[["r","https://btcplusplus.dev/talks#nostr"]],
        "content":"I will be giving a talk on Nostr at the Bitcoin++ conference in Austin TX, )json"
      R"json(end of this month, hoping to meet some other nostr people!  https://btcplusplus.dev/talks#nostr",
        "sig":"ec6e37c3d492654a4b8b5411b1872fc1dd7bbc3920d2c0818b177b42bd9429e2)json"
      R"json(06b878ad3b8fa0e72993b58182024d32a345ce487072de897bd0061d1c5e2189"})json",
      R"json({"id":"126c4bc4a33b0b03cd947e164002066b70d97ce1c4b4f581c9f965c625069d41",
        "pubkey":"32e1827635450ebb3c5a7d12c1f8e7b2b514439ac10a67eef3d9fd9c5c68e245",
        "created_at":1681657931,"kind":1,
        "tags":[["e","3de94ee418667f1567a79eb4c76ff788e39a4caf1947d5ec75fcda15d8920b0b"],
                ["e","2633adacdd31915719910b84c51b6a9b4bc8cdf165073bd8d5b2db8d36dc2fb3"],
                ["p","d7f0e3917c466f1e2233e9624fbd6d4bd1392dbcfcaf3574f457569d496cb731"],
                ["p","d7f0e3917c466f1e2233e9624fbd6d4bd1392dbcfcaf3574f457569d496cb731"],
                ["p","43c27728028a8b631118e73a46b363b464fee19002da657cc0196e8260188a7e"]],
        "content":"It runs fast on my ryzen 1800x (nixos) on 16 threads:\n\nsystem_info: n_threads = 16 / 16 | )json"
      R"json(AVX = 1 | AVX2 = 1 | AVX512 = 0 | FMA = 1 | NEON = 0 | ARM_FMA = 0 | F16C = 1 | FP16_VA = 0 | )json"
      R"json(WASM_SIMD = 0 | BLAS = 0 | SSE3 = 1 | VSX = 0 \n\nmy m1 shows:\n\nsystem_info: n_threads = 4 / 8 | )json"
      R"json(AVX = 0 | AVX2 = 0 | AVX512 = 0 | FMA = 0 | NEON = 1 | ARM_FMA = 1 | F16C = 0 | FP16_VA = 1 | )json"
      R"json(WASM_SIMD = 0 | BLAS = 1 | SSE3 = 0 | VSX = 0 \n\nusing about 1.5GB of ram?  ",
        "sig":"b9465f00cbc8c36c9140ad9360597b7bd16c9007bfb924576101d062f3cbaf10)json"
      R"json(851950460bd876941e89d42c85cdfb0166908a9ce33cbfa12419a4ab430df30a"})json",
  };
  for (const char* text : events) {
    json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
    ASSERT_FALSE(j.is_discarded()) << text;
    auto event = event_from_json(j);
    ASSERT_TRUE(event.ok()) << event.error().message;
    auto verified = verify_event(*event);
    EXPECT_TRUE(verified.ok()) << event->id << ": " << verified.error().message;
  }
}

TEST(NostrJson, RoundTrips) {
  Signer s = deterministic_signer();
  NostrEvent event = sign_event(s.key, /*created_at=*/1700000000, /*kind=*/1, {{"t", "a\x01"}, {"e"}},
                                std::string("quote \" back \\ ctl \x01 \x1f é 🎉"), s.aux_rand);
  json j = to_json(event);
  EXPECT_EQ(j.size(), 7u);
  EXPECT_TRUE(j["created_at"].is_number_integer());
  EXPECT_TRUE(j["kind"].is_number_integer());
  EXPECT_TRUE(j["tags"].is_array());
  EXPECT_EQ(j["content"], event.content);

  // The wire JSON escapes control characters as \u00XX; the id serialization
  // does not. Parsing the wire form must still give back the signed bytes.
  std::string text = j.dump();
  EXPECT_TRUE(contains(text, "\\u0001"));
  json reparsed = json::parse(text, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(reparsed.is_discarded());
  auto back = event_from_json(reparsed);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, event);
  EXPECT_TRUE(verify_event(*back).ok());
}

TEST(NostrJson, AcceptsValuesAtTheLimits) {
  json j = to_json(signed_note());
  j["created_at"] = 0;
  j["kind"] = 65535;
  j["content"] = std::string(kNostrMaxContentBytes, 'x');
  j["tags"] = json::array();
  for (std::size_t i = 0; i < kNostrMaxTags; ++i) j["tags"].push_back({"t", "x"});
  j["relay"] = "extra fields are ignored";
  auto event = event_from_json(j);
  ASSERT_TRUE(event.ok()) << event.error().message;
  EXPECT_EQ(event->tags.size(), kNostrMaxTags);
  EXPECT_EQ(event->content.size(), kNostrMaxContentBytes);
  EXPECT_EQ(event->kind, 65535);
  EXPECT_EQ(event->created_at, 0);
}

TEST(NostrJson, RejectsMalformedEvents) {
  const json valid = to_json(signed_note());
  ASSERT_TRUE(event_from_json(valid).ok());

  struct Case {
    const char* name;
    std::function<void(json&)> mutate;
    std::string message;
  } cases[] = {
      {.name = "array", .mutate = [](json& j) { j = json::array({1, 2}); },
       .message = "nostr event: must be a JSON object"},
      {.name = "null", .mutate = [](json& j) { j = nullptr; }, .message = "nostr event: must be a JSON object"},
      {.name = "no id", .mutate = [](json& j) { j.erase("id"); }, .message = "nostr event: missing 'id'"},
      {.name = "no pubkey", .mutate = [](json& j) { j.erase("pubkey"); }, .message = "nostr event: missing 'pubkey'"},
      {.name = "no created_at", .mutate = [](json& j) { j.erase("created_at"); },
       .message = "nostr event: missing 'created_at'"},
      {.name = "no kind", .mutate = [](json& j) { j.erase("kind"); }, .message = "nostr event: missing 'kind'"},
      {.name = "no tags", .mutate = [](json& j) { j.erase("tags"); }, .message = "nostr event: missing 'tags'"},
      {.name = "no content", .mutate = [](json& j) { j.erase("content"); },
       .message = "nostr event: missing 'content'"},
      {.name = "no sig", .mutate = [](json& j) { j.erase("sig"); }, .message = "nostr event: missing 'sig'"},
      {.name = "id a number", .mutate = [](json& j) { j["id"] = 7; }, .message = "nostr event: 'id' must be a string"},
      {.name = "id short", .mutate = [](json& j) { j["id"] = std::string(62, 'a'); },
       .message = "nostr event: 'id' must be 64 lowercase hex characters (got 62 characters)"},
      {.name = "id uppercase", .mutate = [](json& j) { j["id"] = std::string(64, 'A'); },
       .message = "nostr event: 'id' must be 64 lowercase hex characters (found 'A' at position 0)"},
      {.name = "pubkey long", .mutate = [](json& j) { j["pubkey"] = std::string(66, 'a'); },
       .message = "nostr event: 'pubkey' must be 64 lowercase hex characters (got 66 characters)"},
      {.name = "pubkey not hex", .mutate = [](json& j) { j["pubkey"] = std::string(63, 'a') + "\x01"; },
       .message = "nostr event: 'pubkey' must be 64 lowercase hex characters (found byte 0x01 at position 63)"},
      {.name = "sig short", .mutate = [](json& j) { j["sig"] = std::string(64, 'a'); },
       .message = "nostr event: 'sig' must be 128 lowercase hex characters (got 64 characters)"},
      {.name = "sig an array", .mutate = [](json& j) { j["sig"] = json::array(); },
       .message = "nostr event: 'sig' must be a string"},
      {.name = "created_at a string", .mutate = [](json& j) { j["created_at"] = "1700000000"; },
       .message = "nostr event: 'created_at' must be a non-negative integer (unix seconds)"},
      {.name = "created_at a float", .mutate = [](json& j) { j["created_at"] = 1700000000.5; },
       .message = "nostr event: 'created_at' must be a non-negative integer (unix seconds)"},
      {.name = "created_at negative", .mutate = [](json& j) { j["created_at"] = -1; },
       .message = "nostr event: 'created_at' must be a non-negative integer (unix seconds)"},
      {.name = "created_at above int64", .mutate = [](json& j) { j["created_at"] = UINT64_MAX; },
       .message = "nostr event: 'created_at' must be a non-negative integer (unix seconds)"},
      {.name = "kind too big", .mutate = [](json& j) { j["kind"] = 65536; },
       .message = "nostr event: 'kind' must be an integer in 0..65535"},
      {.name = "kind negative", .mutate = [](json& j) { j["kind"] = -1; },
       .message = "nostr event: 'kind' must be an integer in 0..65535"},
      {.name = "kind a bool", .mutate = [](json& j) { j["kind"] = true; },
       .message = "nostr event: 'kind' must be an integer in 0..65535"},
      {.name = "tags an object", .mutate = [](json& j) { j["tags"] = json::object(); },
       .message = "nostr event: 'tags' must be an array of arrays of strings"},
      {.name = "tag a string", .mutate = [](json& j) { j["tags"] = json::array({"e"}); },
       .message = "nostr event: 'tags[0]' must be an array of strings"},
      {.name = "tag value a number", .mutate = [](json& j) { j["tags"][1] = json::array({"e", 1}); },
       .message = "nostr event: 'tags[1][1]' must be a string"},
      {.name = "tag value null", .mutate = [](json& j) { j["tags"][2] = json::array({nullptr}); },
       .message = "nostr event: 'tags[2][0]' must be a string"},
      {.name = "too many tags",
       .mutate =
           [](json& j) {
             j["tags"] = json::array();
             for (std::size_t i = 0; i <= kNostrMaxTags; ++i) j["tags"].push_back({"t", "x"});
           },
       .message = "nostr event: 'tags' has 2001 entries, more than the limit of 2000"},
      {.name = "content a number", .mutate = [](json& j) { j["content"] = 1; },
       .message = "nostr event: 'content' must be a string"},
      {.name = "content too long",
       .mutate = [](json& j) { j["content"] = std::string(kNostrMaxContentBytes + 1, 'x'); },
       .message = "nostr event: 'content' is 65537 bytes, more than the limit of 65536"},
  };
  for (const auto& c : cases) {
    json j = valid;
    c.mutate(j);
    auto event = event_from_json(j);
    ASSERT_FALSE(event.ok()) << c.name;
    EXPECT_EQ(event.error().code, Errc::invalid_input) << c.name;
    EXPECT_EQ(event.error().message, c.message) << c.name;
  }
}

TEST(NostrTags, FirstTagReturnsTheValueOfTheFirstTagWithThatName) {
  const NostrEvent event{.id = {}, .pubkey = kPub, .created_at = 0, .kind = 30311,
                         .tags = {{}, {"title", "Live"}, {"status"}, {"status", "live"}, {"t", "a"}, {"t", "b", "c"}},
                         .content = {}, .sig = {}};
  struct Case {
    const char* name;
    std::optional<std::string> expected;
  } cases[] = {
      {.name = "title", .expected = "Live"},
      {.name = "t", .expected = "a"},
      {.name = "status", .expected = std::nullopt}, // the first "status" tag has no value
      {.name = "streaming", .expected = std::nullopt},
      {.name = "", .expected = std::nullopt},
  };
  for (const auto& c : cases) EXPECT_EQ(first_tag(event, c.name), c.expected) << c.name;
}

} // namespace
} // namespace openstreaming::core
