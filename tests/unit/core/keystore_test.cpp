#include "core/hex.h"
#include "core/keystore.h"
#include "support/vectors.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace openstreaming::core::keystore {
namespace {

using nlohmann::json;

const ScryptParams kFast{1024, 8, 1};

TEST(Keystore, DecryptsPublishedVectors) {
  json vectors = json::parse(test::read_vector_file("keystore_v3_vectors.json"));
  for (auto& [name, v] : vectors.items()) {
    auto key = decrypt(v["json"].dump(), v["password"].get<std::string>());
    ASSERT_TRUE(key.ok()) << name << ": " << key.error().message;
    // Short legacy keys are left-padded to 32 bytes.
    std::string priv = v["priv"].get<std::string>();
    priv.insert(0, 64 - priv.size(), '0');
    EXPECT_EQ(to_hex(key->secret(), false), priv) << name;
  }
}

TEST(Keystore, RoundTripsAndStatesItsAddress) {
  DeterministicRandom rng(5);
  auto key = PrivateKey::generate(rng);
  std::string text = encrypt(key, "pässword", rng, kFast);
  auto back = decrypt(text, "pässword");
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->secret(), key.secret());
  EXPECT_EQ(*stated_address(text), key.address());
  json j = json::parse(text);
  EXPECT_EQ(j["version"], 3);
  EXPECT_EQ(j["crypto"]["kdf"], "scrypt");
  EXPECT_EQ(j["crypto"]["cipher"], "aes-128-ctr");
  EXPECT_EQ(j["id"].get<std::string>()[14], '4'); // UUID v4
}

TEST(Keystore, WrongPasswordIsReportedAsSuch) {
  DeterministicRandom rng(6);
  std::string text = encrypt(PrivateKey::generate(rng), "right", rng, kFast);
  auto r = decrypt(text, "wrong");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::wrong_password);
}

// Every way a file can be damaged or hostile gives a clear error, fast.
TEST(Keystore, RejectsCorruptAndHostileFiles) {
  DeterministicRandom rng(7);
  json good = json::parse(encrypt(PrivateKey::generate(rng), "pw", rng, kFast));
  auto with = [&](auto mutate) {
    json j = good;
    mutate(j);
    return j.dump();
  };
  struct Case {
    const char* name;
    std::string text;
    Errc code;
  } cases[] = {
      {.name = "truncated", .text = good.dump().substr(0, 60), .code = Errc::corrupt_keystore},
      {.name = "empty", .text = "", .code = Errc::corrupt_keystore},
      {.name = "not an object", .text = "[1,2]", .code = Errc::corrupt_keystore},
      {.name = "version 1", .text = with([](json& j) { j["version"] = 1; }), .code = Errc::unsupported},
      {.name = "no crypto", .text = with([](json& j) { j.erase("crypto"); }), .code = Errc::corrupt_keystore},
      {.name = "cbc cipher", .text = with([](json& j) { j["crypto"]["cipher"] = "aes-128-cbc"; }), .code = Errc::unsupported},
      {.name = "unknown kdf", .text = with([](json& j) { j["crypto"]["kdf"] = "argon2"; }), .code = Errc::unsupported},
      {.name = "iv not hex", .text = with([](json& j) { j["crypto"]["cipherparams"]["iv"] = "xyz"; }), .code = Errc::corrupt_keystore},
      {.name = "short mac", .text = with([](json& j) { j["crypto"]["mac"] = "00"; }), .code = Errc::corrupt_keystore},
      {.name = "scrypt n huge", .text = with([](json& j) { j["crypto"]["kdfparams"]["n"] = uint64_t{1} << 40; }), .code = Errc::corrupt_keystore},
      {.name = "scrypt n not pow2", .text = with([](json& j) { j["crypto"]["kdfparams"]["n"] = 1000; }), .code = Errc::corrupt_keystore},
      {.name = "scrypt p huge", .text = with([](json& j) { j["crypto"]["kdfparams"]["p"] = 1000; j["crypto"]["kdfparams"]["n"] = 1 << 16; }), .code = Errc::corrupt_keystore},
      {.name = "scrypt r zero", .text = with([](json& j) { j["crypto"]["kdfparams"]["r"] = 0; }), .code = Errc::corrupt_keystore},
      {.name = "dklen 16", .text = with([](json& j) { j["crypto"]["kdfparams"]["dklen"] = 16; }), .code = Errc::corrupt_keystore},
      {.name = "n negative", .text = with([](json& j) { j["crypto"]["kdfparams"]["n"] = -2; }), .code = Errc::corrupt_keystore},
      {.name = "flipped ciphertext", .text = with([](json& j) {
         std::string c = j["crypto"]["ciphertext"];
         c[0] = c[0] == '0' ? '1' : '0';
         j["crypto"]["ciphertext"] = c;
       }), .code = Errc::wrong_password},
      {.name = "address mismatch", .text = with([](json& j) { j["address"] = "0000000000000000000000000000000000000001"; }), .code = Errc::corrupt_keystore},
  };
  for (const auto& c : cases) {
    auto r = decrypt(c.text, "pw");
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_EQ(r.error().code, c.code) << c.name << ": " << r.error().message;
    EXPECT_FALSE(r.error().message.empty()) << c.name;
  }
}

} // namespace
} // namespace openstreaming::core::keystore
