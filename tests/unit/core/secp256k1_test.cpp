#include "core/address.h"
#include "core/amount.h"
#include "core/hex.h"
#include "core/keccak.h"
#include "core/secp256k1.h"
#include "support/vectors.h"

#include <gtest/gtest.h>

#include <sstream>
#include <vector>

namespace openstreaming::core {
namespace {

PrivateKey key_from_hex(std::string_view hex) { return *PrivateKey::from_bytes(*from_hex(hex)); }

TEST(PrivateKey, KnownKeyToAddressPairs) {
  struct Case {
    std::string secret;
    const char* address;
  } cases[] = {
      {.secret = "0000000000000000000000000000000000000000000000000000000000000001",
       .address = "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf"},
      {.secret = "0000000000000000000000000000000000000000000000000000000000000002",
       .address = "0x2B5AD5c4795c026514f8317c7a215E218DcCD6cF"},
      {.secret = to_hex(keccak256(as_bytes("cow")), false), // the EIP-712 example's signer
       .address = "0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826"},
      {.secret = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318", // web3.js docs
       .address = "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23"},
  };
  for (const auto& c : cases) EXPECT_EQ(key_from_hex(c.secret).address().to_checksum_hex(), c.address) << c.secret;
}

TEST(PrivateKey, RejectsOutOfRangeSecrets) {
  auto zero = PrivateKey::from_bytes(Hash256{});
  ASSERT_FALSE(zero.ok());
  EXPECT_EQ(zero.error().code, Errc::invalid_input);
  auto order = PrivateKey::from_bytes(*from_hex("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141"));
  EXPECT_FALSE(order.ok());
  auto short_key = PrivateKey::from_bytes(Bytes(31, 1));
  ASSERT_FALSE(short_key.ok());
  EXPECT_EQ(short_key.error().code, Errc::bad_length);
}

TEST(PrivateKey, GenerateIsDeterministicForASeed) {
  DeterministicRandom a(42), b(42);
  EXPECT_EQ(PrivateKey::generate(a).address(), PrivateKey::generate(b).address());
}

TEST(PublicKey, ParsesAllEncodingsOfTheSamePoint) {
  auto pub = key_from_hex("0000000000000000000000000000000000000000000000000000000000000001").public_key();
  auto full = pub.uncompressed();
  EXPECT_EQ(*PublicKey::parse(full), pub);
  EXPECT_EQ(*PublicKey::parse(pub.xy()), pub);
  // Generator point compressed: 02 ‖ X (Y is even).
  auto compressed = *from_hex("0279BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F81798");
  EXPECT_EQ(*PublicKey::parse(compressed), pub);
}

TEST(PublicKey, RejectsPointsOffTheCurveAndBadLengths) {
  Bytes off(65, 0);
  off[0] = 0x04;
  off[64] = 7;
  EXPECT_EQ(PublicKey::parse(off).error().code, Errc::invalid_input);
  EXPECT_EQ(PublicKey::parse(Bytes(40, 1)).error().code, Errc::bad_length);
}

TEST(Ecdsa, SignRecoverRoundTripIsLowSAndDeterministic) {
  DeterministicRandom rng(1);
  for (int i = 0; i < 50; ++i) {
    auto key = PrivateKey::generate(rng);
    Hash256 digest = rng.bytes<32>();
    auto sig = sign_hash(key, digest);
    EXPECT_EQ(sig, sign_hash(key, digest)); // RFC 6979
    EXPECT_TRUE(sig.bytes()[64] == 27 || sig.bytes()[64] == 28);
    auto reparsed = RecoverableSignature::parse(sig.bytes()); // parse enforces low-s
    ASSERT_TRUE(reparsed.ok()) << reparsed.error().message;
    auto pub = recover_public_key(digest, sig);
    ASSERT_TRUE(pub.ok());
    EXPECT_EQ(*pub, key.public_key());
  }
}

// s' = n - s with v flipped is the "same" signature in high-s form: it must be refused.
TEST(Ecdsa, RejectsHighS) {
  auto key = key_from_hex("0000000000000000000000000000000000000000000000000000000000000001");
  auto sig = sign_hash(key, keccak256(as_bytes("x")));
  auto n = from_word(*from_hex_fixed<32>("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141"));
  std::array<uint8_t, 32> s_bytes{};
  std::copy(sig.bytes().begin() + 32, sig.bytes().begin() + 64, s_bytes.begin());
  auto high = to_word(U256(n - from_word(s_bytes)));
  FixedBytes<65> bad = sig.bytes();
  std::copy(high.begin(), high.end(), bad.begin() + 32);
  bad[64] = bad[64] == 27 ? 28 : 27;
  auto r = RecoverableSignature::parse(bad);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::bad_signature);
  EXPECT_NE(r.error().message.find("high s"), std::string::npos);
}

TEST(Ecdsa, RejectsMalformedSignatures) {
  auto key = key_from_hex("0000000000000000000000000000000000000000000000000000000000000002");
  auto good = sign_hash(key, keccak256(as_bytes("y"))).bytes();
  struct Case {
    const char* name;
    Bytes bytes;
    Errc code;
  };
  Bytes wrong_v(good.begin(), good.end());
  wrong_v[64] = 1;
  Bytes r_overflow(good.begin(), good.end());
  std::fill(r_overflow.begin(), r_overflow.begin() + 32, 0xff);
  std::vector<Case> cases = {
      {.name = "64 bytes", .bytes = Bytes(good.begin(), good.begin() + 64), .code = Errc::bad_length},
      {.name = "66 bytes", .bytes = Bytes(66, 1), .code = Errc::bad_length},
      {.name = "v=1", .bytes = wrong_v, .code = Errc::bad_signature},
      {.name = "r >= n", .bytes = r_overflow, .code = Errc::bad_signature},
  };
  for (const auto& c : cases) {
    auto r = RecoverableSignature::parse(c.bytes);
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_EQ(r.error().code, c.code) << c.name;
  }
}

TEST(Ecdsa, WrongDigestRecoversSomeoneElse) {
  auto key = key_from_hex("0000000000000000000000000000000000000000000000000000000000000003");
  auto sig = sign_hash(key, keccak256(as_bytes("a")));
  auto pub = recover_public_key(keccak256(as_bytes("b")), sig);
  if (pub.ok()) {
    EXPECT_NE(pub->address(), key.address());
  }
}

// BIP-340 reference vectors: signing with the given aux_rand reproduces the
// signature bit for bit, and verification gives the expected verdict.
TEST(Schnorr, Bip340Vectors) {
  std::istringstream in(test::read_vector_file("bip340_test_vectors.csv"));
  std::string line;
  std::getline(in, line); // header
  int rows = 0;
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, ',')) f.push_back(cell);
    ASSERT_GE(f.size(), 7u) << line;
    auto pub = from_hex_fixed<32>(f[2]);
    auto msg = *from_hex(f[4]);
    auto sig = *from_hex_fixed<64>(f[5]);
    bool expected = f[6] == "TRUE";
    if (!f[1].empty()) {
      auto key = key_from_hex(f[1]);
      EXPECT_EQ(key.xonly_public_key(), *pub) << "vector " << f[0];
      Hash256 msg32{};
      ASSERT_EQ(msg.size(), 32u);
      std::copy(msg.begin(), msg.end(), msg32.begin());
      EXPECT_EQ(schnorr_sign(key, msg32, *from_hex_fixed<32>(f[3])), sig) << "vector " << f[0];
    }
    XOnlyPublicKey xonly = pub ? *pub : XOnlyPublicKey{};
    EXPECT_EQ(schnorr_verify(xonly, msg, sig), expected) << "vector " << f[0] << " " << (f.size() > 7 ? f[7] : "");
    ++rows;
  }
  EXPECT_EQ(rows, 15);
}

} // namespace
} // namespace openstreaming::core
