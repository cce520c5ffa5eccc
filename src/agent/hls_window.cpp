#include "agent/hls_window.h"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace openstreaming::agent {

namespace {

constexpr std::size_t kLivePlaylistSegments = 6;

// Parts 0..n-1 with part 0 independent: a player can start at this segment.
bool whole_prefix(const Segment& seg) {
  return !seg.parts.empty() && seg.parts.begin()->first == 0 && seg.parts.begin()->second.info.independent &&
         seg.parts.rbegin()->first + 1 == seg.parts.size();
}

} // namespace

double Segment::duration_s() const {
  uint64_t us = 0;
  for (const auto& [i, p] : parts) us += p.info.duration_us;
  return static_cast<double>(us) / 1e6;
}

SegmentWindow::Stored SegmentWindow::store(const StoredPart& p) {
  auto r = m_renditions.find(p.info.rendition);
  if (r != m_renditions.end() && p.info.segment < r->second.begin()->first) return Stored::too_old;
  Stored result = Stored::fresh;
  if (r != m_renditions.end()) {
    auto seg_it = r->second.find(p.info.segment);
    if (seg_it != r->second.end() && seg_it->second.complete && !p.info.end_of_stream) result = Stored::late;
    if (p.info.independent || p.info.end_of_stream) {
      for (auto& [seq, seg] : r->second) {
        if (seq < p.info.segment || p.info.end_of_stream) seg.complete = true;
      }
    }
  }
  if (!p.info.end_of_stream || p.payload.size > 0) {
    Segments& segments = r != m_renditions.end() ? r->second : m_renditions[p.info.rendition];
    Segment& seg = segments[p.info.segment];
    seg.sequence = p.info.segment;
    auto [slot, added] = seg.parts.try_emplace(p.info.part, p);
    if (!added) {
      m_bytes -= slot->second.payload.size;
      slot->second = p;
    }
    m_bytes += p.payload.size;
    if (p.info.end_of_stream) seg.complete = true;
    while (segments.size() > kSegments) drop_oldest(segments);
  }
  // Over the byte budget: the oldest segment of any rendition goes first (by
  // sequence, then rendition name), never a rendition's last one.
  while (m_bytes > kMaxBytes) {
    Segments* victim = nullptr;
    for (auto& [name, segments] : m_renditions) {
      if (segments.size() > 1 && (!victim || segments.begin()->first < victim->begin()->first)) victim = &segments;
    }
    if (!victim) break;
    drop_oldest(*victim);
  }
  return result;
}

void SegmentWindow::drop_oldest(Segments& segments) {
  for (const auto& [k, part] : segments.begin()->second.parts) m_bytes -= part.payload.size;
  segments.erase(segments.begin());
}

void SegmentWindow::complete_all() {
  for (auto& [name, segments] : m_renditions) {
    for (auto& [seq, seg] : segments) seg.complete = true;
  }
}

const Segments& SegmentWindow::segments(std::string_view rendition) const {
  static const Segments kNone;
  auto r = m_renditions.find(rendition);
  return r == m_renditions.end() ? kNone : r->second;
}

const StoredPart* SegmentWindow::find(const PartKey& key) const {
  const Segments& segments = this->segments(key.rendition);
  auto seg = segments.find(key.segment);
  if (seg == segments.end()) return nullptr;
  auto p = seg->second.parts.find(key.part);
  return p == seg->second.parts.end() ? nullptr : &p->second;
}

std::optional<uint64_t> SegmentWindow::oldest(std::string_view rendition) const {
  const Segments& segments = this->segments(rendition);
  if (segments.empty()) return std::nullopt;
  return segments.begin()->first;
}

std::vector<std::string> SegmentWindow::renditions() const {
  std::vector<std::string> out;
  for (const auto& [name, segments] : m_renditions) out.push_back(name);
  return out;
}

// HLS (RFC 8216) with Low-Latency HLS partial segments: complete segments as
// usual, plus EXT-X-PART lines for the newest segments so a part is playable as
// soon as it arrives. Players without LL-HLS support ignore the part tags.
std::optional<std::string> hls_playlist(const Segments& segments, bool ended) {
  std::vector<const Segment*> done;
  const Segment* open = nullptr; // the segment still arriving
  for (const auto& [seq, seg] : segments) {
    // Only whole segments: a viewer that joined mid-segment lacks its keyframe part.
    if (!whole_prefix(seg)) continue;
    if (seg.complete)
      done.push_back(&seg);
    else
      open = &seg;
  }
  if (open && !done.empty() && open->sequence != done.back()->sequence + 1) open = nullptr; // a gap: wait
  if (ended) open = nullptr;
  if (done.empty()) return std::nullopt;
  if (!ended && done.size() > kLivePlaylistSegments) done.erase(done.begin(), done.end() - kLivePlaylistSegments);
  double target = 1;
  uint32_t part_target_us = 1;
  for (const auto* seg : done) {
    target = std::max(target, std::ceil(seg->duration_s()));
    for (const auto& [i, p] : seg->parts) part_target_us = std::max(part_target_us, p.info.duration_us);
  }
  if (open) {
    for (const auto& [i, p] : open->parts) part_target_us = std::max(part_target_us, p.info.duration_us);
  }
  double part_target = std::ceil(static_cast<double>(part_target_us) / 1000.0) / 1000.0;
  std::ostringstream out;
  out.setf(std::ios::fixed);
  out.precision(3);
  out << "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:" << static_cast<int>(target) << "\n";
  if (!ended) {
    out << "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=NO,PART-HOLD-BACK=" << 3 * part_target << "\n"
        << "#EXT-X-PART-INF:PART-TARGET=" << part_target << "\n";
  }
  out << "#EXT-X-MEDIA-SEQUENCE:" << done.front()->sequence << "\n";
  auto parts_of = [&](const Segment& seg) {
    for (const auto& [i, p] : seg.parts) {
      out << "#EXT-X-PART:DURATION=" << static_cast<double>(p.info.duration_us) / 1e6 << ",URI=\"seg_" << seg.sequence
          << "." << i << ".ts\"" << (p.info.independent ? ",INDEPENDENT=YES" : "") << "\n";
    }
  };
  for (std::size_t k = 0; k < done.size(); ++k) {
    // LL-HLS: parts of the last few segments only (RFC 8216bis §4.4.4.9).
    if (!ended && k + 2 >= done.size()) parts_of(*done[k]);
    out << "#EXTINF:" << done[k]->duration_s() << ",\nseg_" << done[k]->sequence << ".ts\n";
  }
  if (open) parts_of(*open);
  if (ended) out << "#EXT-X-ENDLIST\n";
  return out.str();
}

} // namespace openstreaming::agent
