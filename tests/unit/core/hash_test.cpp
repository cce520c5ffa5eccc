#include "core/hash.h"
#include "core/hex.h"

#include <gtest/gtest.h>

namespace openstreaming::core {
namespace {

TEST(Sha256, Fips180Vector) {
  EXPECT_EQ(to_hex(sha256(as_bytes("abc"))), "0xba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(HmacSha256, Rfc4231TestCase2) {
  EXPECT_EQ(to_hex(hmac_sha256(as_bytes("Jefe"), as_bytes("what do ya want for nothing?"))),
            "0x5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(ConstantTimeEqual, ComparesContentAndLength) {
  EXPECT_TRUE(constant_time_equal(as_bytes("abc"), as_bytes("abc")));
  EXPECT_FALSE(constant_time_equal(as_bytes("abc"), as_bytes("abd")));
  EXPECT_FALSE(constant_time_equal(as_bytes("abc"), as_bytes("ab")));
}

} // namespace
} // namespace openstreaming::core
