// The per-stream window of parts keyed by (rendition, segment, part), and the
// HLS playlist over one rendition of it.
#include "agent/hls_window.h"

#include <gtest/gtest.h>

namespace openstreaming::agent {
namespace {

StoredPart part_of(const std::string& rendition, uint64_t segment, uint32_t part, std::size_t size) {
  StoredPart p;
  p.info.rendition = rendition;
  p.info.segment = segment;
  p.info.part = part;
  p.info.independent = part == 0;
  p.info.duration_us = 500'000;
  p.payload = core::SharedSlice::copy_of(Bytes(size, static_cast<uint8_t>(part)));
  return p;
}

TEST(SegmentWindow, RenditionsAreKeptApart) {
  SegmentWindow w;
  EXPECT_EQ(w.store(part_of("source", 3, 0, 100)), SegmentWindow::Stored::fresh);
  EXPECT_EQ(w.store(part_of("720p", 3, 0, 40)), SegmentWindow::Stored::fresh);
  ASSERT_NE(w.find(PartKey{"source", 3, 0}), nullptr);
  ASSERT_NE(w.find(PartKey{"720p", 3, 0}), nullptr);
  EXPECT_EQ(w.find(PartKey{"source", 3, 0})->payload.size, 100u);
  EXPECT_EQ(w.find(PartKey{"720p", 3, 0})->payload.size, 40u);
  EXPECT_EQ(w.find(PartKey{"1080p", 3, 0}), nullptr);
  EXPECT_EQ(w.bytes(), 140u);
  EXPECT_EQ(w.renditions(), (std::vector<std::string>{"720p", "source"}));
  // A later independent part completes its own rendition's earlier segments only.
  EXPECT_EQ(w.store(part_of("source", 4, 0, 100)), SegmentWindow::Stored::fresh);
  EXPECT_TRUE(w.segments("source").at(3).complete);
  EXPECT_FALSE(w.segments("720p").at(3).complete);
  // Older than the rendition's window: not stored; the same key again replaces.
  for (uint64_t seg = 5; seg < 5 + SegmentWindow::kSegments; ++seg) w.store(part_of("source", seg, 0, 100));
  EXPECT_EQ(w.segments("source").size(), SegmentWindow::kSegments);
  EXPECT_EQ(w.store(part_of("source", 3, 1, 100)), SegmentWindow::Stored::too_old);
  EXPECT_EQ(w.oldest("720p"), 3u); // the other rendition kept its segment
  EXPECT_EQ(w.store(part_of("720p", 3, 0, 60)), SegmentWindow::Stored::fresh);
  EXPECT_EQ(w.find(PartKey{"720p", 3, 0})->payload.size, 60u);
  EXPECT_EQ(w.bytes(), SegmentWindow::kSegments * 100 + 60);
}

TEST(SegmentWindow, TheByteBudgetSpansRenditionsAndKeepsEachNewestSegment) {
  SegmentWindow w;
  const std::size_t big = SegmentWindow::kMaxBytes / 3;
  w.store(part_of("source", 1, 0, big));
  w.store(part_of("source", 2, 0, big));
  w.store(part_of("720p", 2, 0, big));
  EXPECT_EQ(w.bytes(), 3 * big);
  w.store(part_of("720p", 3, 0, big)); // over budget: the oldest segment of any rendition goes
  EXPECT_EQ(w.bytes(), 3 * big);
  EXPECT_EQ(w.oldest("source"), 2u);
  EXPECT_EQ(w.oldest("720p"), 2u);
  // Each rendition's newest segment stays even over budget.
  SegmentWindow one;
  one.store(part_of("source", 1, 0, SegmentWindow::kMaxBytes + 1));
  EXPECT_EQ(one.segments("source").size(), 1u);
}

TEST(SegmentWindow, PlaylistOfOneRendition) {
  SegmentWindow w;
  for (uint64_t seg = 0; seg < 3; ++seg) {
    for (uint32_t part = 0; part < 4; ++part) w.store(part_of("720p", seg, part, 10));
  }
  EXPECT_FALSE(hls_playlist(w.segments("source"), false)); // nothing of the source
  auto live = hls_playlist(w.segments("720p"), false);
  ASSERT_TRUE(live);
  EXPECT_NE(live->find("seg_1.ts"), std::string::npos);
  EXPECT_EQ(live->find("seg_2.ts\n"), std::string::npos); // still arriving: its parts only
  EXPECT_NE(live->find("seg_2.3.ts"), std::string::npos);
  w.complete_all();
  auto over = hls_playlist(w.segments("720p"), true);
  ASSERT_TRUE(over);
  EXPECT_NE(over->find("seg_2.ts\n"), std::string::npos);
  EXPECT_NE(over->find("#EXT-X-ENDLIST"), std::string::npos);
}

} // namespace
} // namespace openstreaming::agent
