#include "core/eip191.h"
#include "core/hex.h"

#include <gtest/gtest.h>

namespace openstreaming::core {
namespace {

const char* kSecret = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318";

// web3.js documentation example: web3.eth.accounts.sign('Some data', key).
TEST(Eip191, Web3jsExample) {
  auto key = *PrivateKey::from_bytes(*from_hex(kSecret));
  EXPECT_EQ(to_hex(personal_message_hash(as_bytes("Some data"))),
            "0x1da44b586eb0729ff70a73c326926f6ed5a25f5b056e7f47fbc6e58d86871655");
  EXPECT_EQ(sign_personal_message(key, as_bytes("Some data")).to_hex(),
            "0xb91467e570a6466aa9e9876cbcd013baba02900b8979d43fe208a4a4f339f5fd6007e74cd82e037b800186422fc2da167c747ef045e5d18a5f5d4300f8e1a0291c");
}

TEST(Eip191, VerifyAcceptsSignerAndRejectsOthers) {
  auto key = *PrivateKey::from_bytes(*from_hex(kSecret));
  auto sig = sign_personal_message(key, as_bytes("hello"));
  EXPECT_TRUE(verify_personal_message(key.address(), as_bytes("hello"), sig));
  EXPECT_FALSE(verify_personal_message(key.address(), as_bytes("hellO"), sig));
  auto other = *PrivateKey::from_bytes(*from_hex("0000000000000000000000000000000000000000000000000000000000000001"));
  EXPECT_FALSE(verify_personal_message(other.address(), as_bytes("hello"), sig));
}

TEST(Eip191, LengthIsPartOfTheHash) {
  // "\x19Ethereum Signed Message:\n" ‖ "1" ‖ "1a" must differ from ... "11" ‖ "a".
  EXPECT_NE(personal_message_hash(as_bytes("1a")), personal_message_hash(as_bytes("a")));
  EXPECT_NE(personal_message_hash(as_bytes("")), personal_message_hash(as_bytes("0")));
}

} // namespace
} // namespace openstreaming::core
