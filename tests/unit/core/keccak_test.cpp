#include "core/hex.h"
#include "core/keccak.h"

#include <gtest/gtest.h>
#include <nettle/sha3.h>

#include <string>

namespace openstreaming::core {
namespace {

TEST(Keccak256, KnownVectors) {
  struct Case {
    std::string input;
    const char* digest;
  } cases[] = {
      {.input = "", .digest = "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"},
      {.input = "abc", .digest = "0x4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"},
      {.input = "The quick brown fox jumps over the lazy dog",
       .digest = "0x4d741b6f1eb29cb2a9b9911c82f56fa8d73b04959d3d9d222895df6c0b28aa15"},
  };
  for (const auto& c : cases) EXPECT_EQ(to_hex(keccak256(as_bytes(c.input))), c.digest) << c.input;
}

TEST(Keccak256, FunctionSelector) {
  // The ERC-20 transfer selector, known to every Ethereum developer.
  auto h = keccak256(as_bytes("transfer(address,uint256)"));
  EXPECT_EQ(to_hex(ByteView(h.data(), 4)), "0xa9059cbb");
}

// Our sponge with FIPS-202 padding must equal nettle's SHA3-256 on every length
// around the block boundaries; this checks absorb/pad/squeeze on multi-block input.
TEST(Keccak256, SpongeMatchesNettleSha3OnAllLengths) {
  Bytes data(3 * Keccak256::kRate + 7);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 31 + 7);
  for (std::size_t len = 0; len <= data.size(); ++len) {
    Hash256 ours = Keccak256(0x06).update(ByteView(data.data(), len)).finalize();
    sha3_256_ctx ctx;
    sha3_256_init(&ctx);
    sha3_256_update(&ctx, len, data.data());
    Hash256 theirs{};
    sha3_256_digest(&ctx, theirs.size(), theirs.data());
    ASSERT_EQ(ours, theirs) << "length " << len;
  }
}

TEST(Keccak256, IncrementalEqualsOneShot) {
  Bytes data(1000);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i);
  Hash256 expected = keccak256(data);
  for (std::size_t chunk : {1u, 7u, 135u, 136u, 137u, 500u}) {
    Keccak256 h;
    for (std::size_t pos = 0; pos < data.size(); pos += chunk) {
      h.update(ByteView(data.data() + pos, std::min(chunk, data.size() - pos)));
    }
    EXPECT_EQ(h.finalize(), expected) << "chunk " << chunk;
  }
}

} // namespace
} // namespace openstreaming::core
