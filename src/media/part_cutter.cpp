#include "media/part_cutter.h"

namespace openstreaming::media {

PartCutter::PartCutter(double segment_s, double part_s)
    : m_segment_us(static_cast<int64_t>(segment_s * 1e6 * 0.9)), m_part_us(static_cast<int64_t>(part_s * 1e6) - 1000) {}

PartCutter::Decision PartCutter::on_frame(int64_t pts_us, bool key) {
  Decision d;
  if (!m_started) {
    if (!key) return d; // a segment must start with a keyframe
    m_started = true;
    m_segment_start = pts_us;
    m_current = PartSpan{0, 0, true, pts_us};
    d.cut = Cut::start;
    return d;
  }
  if (key && pts_us - m_segment_start >= m_segment_us) {
    d.closed = m_current;
    d.cut = Cut::new_segment;
    m_segment_start = pts_us;
    m_current = PartSpan{m_current.segment + 1, 0, true, pts_us};
    return d;
  }
  if (pts_us - m_current.start_us >= m_part_us) {
    d.closed = m_current;
    d.cut = Cut::new_part;
    m_current = PartSpan{m_current.segment, m_current.part + 1, false, pts_us};
    return d;
  }
  d.cut = Cut::same;
  return d;
}

} // namespace openstreaming::media
