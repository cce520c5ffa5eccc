#include "core/frame.h"

#include <gtest/gtest.h>

#include <cstring>

namespace openstreaming::core {
namespace {

Frame make(uint16_t type, std::size_t header, std::size_t payload) {
  Frame f;
  f.type = type;
  f.header.assign(header, 0x11);
  if (payload) {
    Bytes p(payload);
    for (std::size_t i = 0; i < payload; ++i) p[i] = static_cast<uint8_t>(i * 7);
    f.payload = SharedSlice::copy_of(p);
  }
  return f;
}

bool same(const Frame& a, const Frame& b) {
  return a.type == b.type && a.header == b.header && a.payload.size == b.payload.size &&
         (a.payload.size == 0 || std::memcmp(a.payload.view().data(), b.payload.view().data(), a.payload.size) == 0);
}

TEST(FrameDecoder, RoundTripsUnderEveryChunking) {
  std::vector<Frame> sent = {make(2, 8, 0), make(16, 20, 100), make(16, 4, 200'000), make(3, 0, 0), make(16, 2, 17'000)};
  Bytes wire;
  for (const auto& f : sent) {
    Bytes e = encode_frame(f);
    wire.insert(wire.end(), e.begin(), e.end());
  }
  for (std::size_t chunk : {1u, 3u, 10u, 4096u, 65536u, 1u << 20}) {
    FrameDecoder d;
    std::vector<Frame> got;
    for (std::size_t pos = 0; pos < wire.size(); pos += chunk) {
      ASSERT_FALSE(d.feed(ByteView(wire.data() + pos, std::min(chunk, wire.size() - pos)), got)) << chunk;
    }
    ASSERT_EQ(got.size(), sent.size()) << chunk;
    for (std::size_t i = 0; i < sent.size(); ++i) EXPECT_TRUE(same(got[i], sent[i])) << "chunk " << chunk << " frame " << i;
    EXPECT_FALSE(d.has_partial_frame());
  }
}

// Through prepare()/commit(), a large payload is read straight into the buffer
// the frame keeps: its bytes are the very bytes written into the read target.
TEST(FrameDecoder, LargePayloadsAreReadInPlace) {
  Frame big = make(16, 6, 300'000);
  Bytes wire = encode_frame(big);
  FrameDecoder d;
  std::vector<Frame> got;
  std::size_t pos = 0;
  const uint8_t* last_target = nullptr;
  while (pos < wire.size()) {
    auto target = d.prepare();
    std::size_t n = std::min<std::size_t>({target.size(), wire.size() - pos, 16384});
    std::memcpy(target.data(), wire.data() + pos, n);
    last_target = target.data();
    ASSERT_FALSE(d.commit(n, got));
    pos += n;
  }
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(same(got[0], big));
  const uint8_t* payload_end = got[0].payload.view().data() + got[0].payload.size;
  EXPECT_TRUE(last_target > got[0].payload.view().data() && last_target < payload_end)
      << "the last read should have landed inside the frame's own payload buffer";
}

TEST(FrameDecoder, RejectsBrokenFraming) {
  struct Case {
    const char* name;
    Bytes bytes;
    FrameError error;
  } cases[] = {
      {"oversized", {0x01, 0x00, 0x00, 0x00, 0, 1, 0, 0, 0, 0}, FrameError::oversized},
      {"undersized", {0x00, 0x00, 0x00, 0x02, 0, 1}, FrameError::undersized},
      {"header longer than body", {0x00, 0x00, 0x00, 0x08, 0, 1, 0, 0, 0, 9, 1, 2}, FrameError::bad_header_length},
  };
  for (const auto& c : cases) {
    FrameDecoder d(1 << 20);
    std::vector<Frame> got;
    auto f = d.feed(c.bytes, got);
    ASSERT_TRUE(f.has_value()) << c.name;
    EXPECT_EQ(f->error, c.error) << c.name;
    EXPECT_FALSE(f->detail.empty());
    EXPECT_TRUE(got.empty());
    EXPECT_TRUE(d.feed(Bytes{0}, got).has_value()) << "a failed decoder stays failed";
  }
}

TEST(FrameDecoder, ReportsAPartialFrame) {
  Bytes wire = encode_frame(make(16, 4, 50'000));
  FrameDecoder d;
  std::vector<Frame> got;
  ASSERT_FALSE(d.feed(ByteView(wire.data(), wire.size() - 1), got));
  EXPECT_TRUE(got.empty());
  EXPECT_TRUE(d.has_partial_frame());
  ASSERT_FALSE(d.feed(ByteView(wire.data() + wire.size() - 1, 1), got));
  EXPECT_EQ(got.size(), 1u);
  EXPECT_FALSE(d.has_partial_frame());
}

TEST(Frame, PrefixIsBigEndianLengthTypeHeaderLength) {
  Frame f = make(0x0102, 3, 5);
  auto p = encode_prefix(f);
  EXPECT_EQ(p, (std::array<uint8_t, 10>{0, 0, 0, 14, 0x01, 0x02, 0, 0, 0, 3}));
  EXPECT_EQ(f.wire_size(), 18u);
  EXPECT_STREQ(frame_type_name(1), "hello");
  EXPECT_STREQ(frame_type_name(9), "unknown");
  EXPECT_STREQ(frame_type_name(16), "part");
  EXPECT_STREQ(frame_type_name(99), "app");
}

} // namespace
} // namespace openstreaming::core
