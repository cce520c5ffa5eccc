// Where a live stream's parts and segments begin (docs/media.md): the LL-HLS
// cut rule, apart from the muxer so it can be tested frame by frame. No I/O.
//
//  - nothing before the first keyframe; the first keyframe starts segment 0;
//  - a keyframe at least 0.9 x segment_s after its segment began starts the
//    next segment (a segment always begins independent, with a keyframe);
//  - otherwise a frame at least part_s (less 1 ms of timestamp jitter) after its
//    part began starts the next part of the same segment.
#pragma once

#include <cstdint>
#include <optional>

namespace openstreaming::media {

// One part's place in the stream.
struct PartSpan {
  uint64_t segment = 0;
  uint32_t part = 0;
  bool independent = true; // begins with a keyframe (the segment's first part)
  int64_t start_us = 0;    // media time of its first frame
};

class PartCutter {
public:
  PartCutter(double segment_s, double part_s);

  enum class Cut {
    skip,        // before the first keyframe: drop the frame
    start,       // the first keyframe: segment 0, part 0 begins with it
    same,        // the frame belongs to the current part
    new_part,    // the current part ended before this frame; the next part begins
    new_segment, // the current part and segment ended; a segment begins with this keyframe
  };
  struct Decision {
    Cut cut = Cut::skip;
    std::optional<PartSpan> closed; // the part that ended before this frame
  };
  // A video frame at media time `pts_us`; `key` when it is a keyframe.
  Decision on_frame(int64_t pts_us, bool key);

  bool started() const { return m_started; }
  const PartSpan& current() const { return m_current; } // the part being filled (after start)

private:
  int64_t m_segment_us, m_part_us;
  bool m_started = false;
  int64_t m_segment_start = 0;
  PartSpan m_current;
};

} // namespace openstreaming::media
