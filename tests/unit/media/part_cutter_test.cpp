// The LL-HLS cut rule frame by frame, without FFmpeg (media/part_cutter.h).
#include "media/part_cutter.h"

#include <gtest/gtest.h>

#include <vector>

namespace openstreaming::media {
namespace {

using Cut = PartCutter::Cut;

// 30 fps frames from `from_frame`, a keyframe every `gop` frames (counting from frame 0).
struct Feed {
  PartCutter cutter{2.0, 0.5};
  std::vector<PartSpan> closed;
  std::vector<Cut> cuts;
  void frames(int from, int to, int gop) {
    for (int i = from; i < to; ++i) {
      auto d = cutter.on_frame(static_cast<int64_t>(i) * 1'000'000 / 30, i % gop == 0);
      cuts.push_back(d.cut);
      if (d.closed) closed.push_back(*d.closed);
    }
  }
};

TEST(PartCutter, NothingBeforeTheFirstKeyframeThenHalfSecondPartsInTwoSecondSegments) {
  Feed f;
  f.frames(1, 2 * 30 * 3 + 1, 60); // 6 s at 30 fps, keyframes every 2 s; frame 0 missing
  // Frames 1..59 precede the first keyframe (frame 60): dropped.
  for (int i = 0; i < 59; ++i) EXPECT_EQ(f.cuts[static_cast<std::size_t>(i)], Cut::skip) << i;
  EXPECT_EQ(f.cuts[59], Cut::start);
  ASSERT_TRUE(f.cutter.started());
  // From 2 s to 6 s: segments 0 and 1 closed, each of 4 parts of 0.5 s; segment 2 open.
  ASSERT_EQ(f.closed.size(), 8u);
  for (std::size_t i = 0; i < f.closed.size(); ++i) {
    const PartSpan& p = f.closed[i];
    EXPECT_EQ(p.segment, i / 4) << i;
    EXPECT_EQ(p.part, i % 4) << i;
    EXPECT_EQ(p.independent, p.part == 0) << i; // only a segment's first part starts with a keyframe
    EXPECT_NEAR(static_cast<double>(p.start_us), 2e6 + static_cast<double>(i) * 5e5, 1e3 * 34) << i;
  }
  EXPECT_EQ(f.cutter.current().segment, 2u);
  EXPECT_EQ(f.cutter.current().part, 0u);
}

TEST(PartCutter, AKeyframeTooSoonStaysInItsSegmentAndALateOneWaitsForItsGop) {
  Feed f;
  // Keyframes every 0.5 s: a new segment only once 0.9 x 2 s passed, i.e. at 2 s.
  f.frames(0, 91, 15);
  std::size_t segments = 0;
  for (Cut c : f.cuts) segments += c == Cut::new_segment;
  EXPECT_EQ(segments, 1u); // at frame 60 (2.0 s); frames 15, 30, 45 only start parts
  EXPECT_EQ(f.cuts[60], Cut::new_segment);
  EXPECT_EQ(f.cuts[15], Cut::new_part);
  // Keyframes every 3 s: a segment lasts until the next keyframe, its parts keep being cut.
  Feed g;
  g.frames(0, 181, 90);
  std::size_t g_segments = 0, g_parts = 0;
  for (Cut c : g.cuts) {
    g_segments += c == Cut::new_segment;
    g_parts += c == Cut::new_part;
  }
  EXPECT_EQ(g_segments, 2u);  // at 3 s and 6 s
  EXPECT_EQ(g_parts, 2u * 5); // 6 parts per 3 s segment: 5 cuts inside each
  EXPECT_EQ(g.closed.back().part, 5u);
}

TEST(PartCutter, TimestampJitterOfUnderAMillisecondStillCutsTheHalfSecond) {
  PartCutter c(2.0, 0.5);
  EXPECT_EQ(c.on_frame(0, true).cut, Cut::start);
  EXPECT_EQ(c.on_frame(498'000, false).cut, Cut::same);
  auto d = c.on_frame(499'100, false); // 0.9 ms early: still the next part
  EXPECT_EQ(d.cut, Cut::new_part);
  ASSERT_TRUE(d.closed);
  EXPECT_EQ(d.closed->start_us, 0);
  EXPECT_EQ(c.current().start_us, 499'100);
}

} // namespace
} // namespace openstreaming::media
