// Functional tests of `openstreaming keys …`: the real binary in a child
// process, real keystore files, checked through its public interface only.
#include "core/amount.h"
#include "core/eip191.h"
#include "core/hex.h"
#include "core/keccak.h"
#include "support/process.h"
#include "support/temp_dir.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace openstreaming {
namespace {

using test::run;
using test::RunResult;
using test::SpawnOptions;

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

class CliKeys : public ::testing::Test {
protected:
  test::TempDir dir;
  std::string pw_file = dir.write("pw", "correct horse\n");

  RunResult os(std::vector<std::string> args, SpawnOptions opts = {}) {
    args.insert(args.begin(), OPENSTREAMING_BIN);
    opts.unset_env.push_back("OPENSTREAMING_PASSWORD");
    return run(args, opts);
  }
  std::string new_key(const std::string& name) {
    auto r = os({"keys", "new", "--out", dir.file(name), "--password-file", pw_file, "--light-kdf"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return trim(r.out);
  }
};

TEST_F(CliKeys, VersionAndHelpExitZeroAndBadUsageExitsTwo) {
  EXPECT_EQ(os({"--version"}).exit_code, 0);
  EXPECT_NE(os({"--version"}).out.find("openstreaming "), std::string::npos);
  for (auto args :
       std::vector<std::vector<std::string>>{{"--help"}, {"keys", "--help"}, {"keys", "verify", "--help"}}) {
    EXPECT_EQ(os(args).exit_code, 0) << args.back();
  }
  auto none = os({});
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_NE(none.err.find("error:"), std::string::npos);
  EXPECT_EQ(os({"keys", "frobnicate"}).exit_code, 2);
  EXPECT_EQ(os({"keys", "new"}).exit_code, 2); // --out is required
  EXPECT_EQ(os({"--log-level", "loud", "keys", "show", "x"}).exit_code, 2);
}

TEST_F(CliKeys, NewShowSignVerifyEndToEnd) {
  std::string address = new_key("k.json");
  ASSERT_EQ(address.size(), 42u);
  ASSERT_TRUE(core::Address::parse(address).ok()); // mixed case, so EIP-55 checked
  EXPECT_EQ(std::filesystem::status(dir.file("k.json")).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);

  auto show = os({"keys", "show", dir.file("k.json"), "--json", "--password-file", pw_file});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  auto j = nlohmann::json::parse(show.out);
  EXPECT_EQ(j["address"], address);
  auto pub = core::PublicKey::parse(*core::from_hex(j["public_key"].get<std::string>()));
  ASSERT_TRUE(pub.ok());
  EXPECT_EQ(pub->address().to_checksum_hex(), address); // the public key really is that address's

  auto sign = os({"keys", "sign", dir.file("k.json"), "--message", "hello mesh", "--password-file", pw_file});
  ASSERT_EQ(sign.exit_code, 0) << sign.err;
  std::string sig = trim(sign.out);
  EXPECT_EQ(sig.size(), 132u);
  // Checked independently of the CLI by the library.
  auto parsed = core::RecoverableSignature::from_hex(sig);
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(core::verify_personal_message(*core::Address::parse(address), as_bytes("hello mesh"), *parsed));

  auto ok = os({"keys", "verify", "--address", address, "--message", "hello mesh", "--signature", sig});
  EXPECT_EQ(ok.exit_code, 0);
  EXPECT_EQ(trim(ok.out), "valid");
  auto tampered = os({"keys", "verify", "--address", address, "--message", "hello mesh!", "--signature", sig});
  EXPECT_EQ(tampered.exit_code, 1);
  EXPECT_EQ(trim(tampered.out), "invalid");
  std::string other = new_key("other.json");
  EXPECT_EQ(os({"keys", "verify", "--address", other, "--message", "hello mesh", "--signature", sig}).exit_code, 1);
}

TEST_F(CliKeys, NewNeverOverwrites) {
  new_key("k.json");
  std::ifstream before_in(dir.file("k.json"));
  std::stringstream before;
  before << before_in.rdbuf();
  auto again = os({"keys", "new", "--out", dir.file("k.json"), "--password-file", pw_file, "--light-kdf"});
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_NE(again.err.find("refusing to overwrite"), std::string::npos);
  std::ifstream after_in(dir.file("k.json"));
  std::stringstream after;
  after << after_in.rdbuf();
  EXPECT_EQ(before.str(), after.str());
}

TEST_F(CliKeys, PasswordSources) {
  SpawnOptions env;
  env.env["OPENSTREAMING_PASSWORD"] = "correct horse";
  auto from_env = run({OPENSTREAMING_BIN, "keys", "new", "--out", dir.file("e.json"), "--light-kdf"}, env);
  ASSERT_EQ(from_env.exit_code, 0) << from_env.err;
  // The file made with the env password opens with the same password from a file.
  EXPECT_EQ(os({"keys", "show", dir.file("e.json"), "--password-file", pw_file}).exit_code, 0);
  // No file, no variable, stdin not a terminal: a clear error, no file created.
  auto none = os({"keys", "new", "--out", dir.file("n.json"), "--light-kdf"});
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_NE(none.err.find("OPENSTREAMING_PASSWORD"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir.file("n.json")));
  auto empty = os({"keys", "new", "--out", dir.file("z.json"), "--password-file", dir.write("empty", "\n")});
  EXPECT_EQ(empty.exit_code, 2);
  EXPECT_FALSE(std::filesystem::exists(dir.file("z.json")));
}

TEST_F(CliKeys, BadKeystoresAndPasswordsAreClearErrors) {
  new_key("k.json");
  std::string wrong_pw = dir.write("wrong", "battery staple\n");
  auto wrong = os({"keys", "show", dir.file("k.json"), "--password-file", wrong_pw});
  EXPECT_EQ(wrong.exit_code, 2);
  EXPECT_NE(wrong.err.find("wrong password"), std::string::npos);

  std::ifstream in(dir.file("k.json"));
  std::stringstream full;
  full << in.rdbuf();
  dir.write("trunc.json", full.str().substr(0, full.str().size() / 2));
  auto trunc = os({"keys", "sign", dir.file("trunc.json"), "--message", "m", "--password-file", pw_file});
  EXPECT_EQ(trunc.exit_code, 2);
  EXPECT_NE(trunc.err.find("not valid JSON"), std::string::npos);

  auto missing = os({"keys", "show", dir.file("nope.json"), "--password-file", pw_file});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("nope.json"), std::string::npos);
  EXPECT_EQ(trim(missing.out), "");
}

TEST_F(CliKeys, VerifyRejectsMalformedInput) {
  auto key = *core::PrivateKey::from_bytes(core::keccak256(as_bytes("cli")));
  std::string address = key.address().to_checksum_hex();
  std::string sig = core::sign_personal_message(key, as_bytes("m")).to_hex();
  // Lowercased address is fine (no checksum claimed); a case typo is not.
  EXPECT_EQ(
      os({"keys", "verify", "--address", key.address().to_lower_hex(), "--message", "m", "--signature", sig}).exit_code,
      0);
  std::string typo = address;
  for (std::size_t i = 2; i < typo.size(); ++i) {
    if (std::isalpha(static_cast<unsigned char>(typo[i]))) {
      typo[i] = std::isupper(static_cast<unsigned char>(typo[i])) ? static_cast<char>(std::tolower(typo[i]))
                                                                  : static_cast<char>(std::toupper(typo[i]));
      break;
    }
  }
  auto bad_checksum = os({"keys", "verify", "--address", typo, "--message", "m", "--signature", sig});
  EXPECT_EQ(bad_checksum.exit_code, 2);
  EXPECT_NE(bad_checksum.err.find("checksum"), std::string::npos);
  EXPECT_EQ(os({"keys", "verify", "--address", address, "--message", "m", "--signature", sig.substr(0, 130)}).exit_code,
            2);
  EXPECT_EQ(os({"keys", "verify", "--address", address, "--message", "m", "--signature", "0xnothex"}).exit_code, 2);
  // High s: a well-formed but non-canonical signature is a failed check, with the reason.
  auto bytes = *core::from_hex(sig);
  auto n =
      core::from_word(*core::from_hex_fixed<32>("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141"));
  std::array<uint8_t, 32> s{};
  std::copy(bytes.begin() + 32, bytes.begin() + 64, s.begin());
  auto high = core::to_word(core::U256(n - core::from_word(s)));
  std::copy(high.begin(), high.end(), bytes.begin() + 32);
  bytes[64] = bytes[64] == 27 ? 28 : 27;
  auto hs = os({"keys", "verify", "--address", address, "--message", "m", "--signature", core::to_hex(bytes)});
  EXPECT_EQ(hs.exit_code, 1);
  EXPECT_EQ(trim(hs.out), "invalid");
  EXPECT_NE(hs.err.find("high s"), std::string::npos);
}

// Keystores written by other wallets (the published v3 vectors) open in our CLI.
TEST_F(CliKeys, ReadsStandardWalletKeystores) {
  std::ifstream in(std::string(OPENSTREAMING_VECTORS_DIR) + "/keystore_v3_vectors.json");
  auto vectors = nlohmann::json::parse(in);
  for (const char* name : {"wikipage_test_vector_scrypt", "wikipage_test_vector_pbkdf2"}) {
    const auto& v = vectors[name];
    std::string file = dir.write(std::string(name) + ".json", v["json"].dump());
    std::string pw = dir.write(std::string(name) + ".pw", v["password"].get<std::string>());
    auto show = os({"keys", "show", file, "--json", "--password-file", pw});
    ASSERT_EQ(show.exit_code, 0) << name << ": " << show.err;
    auto expected = core::PrivateKey::from_bytes(*core::from_hex(v["priv"].get<std::string>()))->address();
    EXPECT_EQ(nlohmann::json::parse(show.out)["address"], expected.to_checksum_hex()) << name;
  }
}

} // namespace
} // namespace openstreaming
