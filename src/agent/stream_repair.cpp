// StreamRouter, repair: which parts we take (solicited), the gaps an upstream
// leaves and the blame and refunds for them, fetches both ways (pull-through),
// and the backfill a new subscriber gets.
#include "agent/agent.h"
#include "agent/node_options.h"
#include "agent/stream_frames.h"
#include "agent/streams.h"

#include <algorithm>

namespace openstreaming::agent {

using namespace stream_frames;

void StreamRouter::note_upstream_part(Stream& s, const core::Address& from, const core::PartInfo& info,
                                      double latency_ms, Timestamp now) {
  Empathy& empathy = m_host.agent().empathy;
  // Gaps in what the upstream sent: parts skipped inside a segment, or trailing
  // parts of the previous segment (found from the media-time gap).
  std::vector<PartKey> missing;
  auto miss = [&](uint64_t segment, uint32_t part) { missing.push_back({info.rendition, segment, part}); };
  if (s.last_from_upstream) {
    auto [ls, lp] = *s.last_from_upstream;
    if (info.segment == ls && info.part > lp + 1) {
      for (uint32_t k = lp + 1; k < info.part && missing.size() < 16; ++k) miss(ls, k);
    } else if (info.segment == ls + 1) {
      int64_t gap = info.pts_us - s.last_end_pts_us;
      if (info.part == 0 && gap > 250'000 && info.duration_us > 0) {
        auto n = static_cast<uint32_t>(std::min<int64_t>(16, (gap + info.duration_us / 2) / info.duration_us));
        for (uint32_t k = 1; k <= n; ++k) miss(ls, lp + k);
      }
      for (uint32_t k = 0; k < info.part && missing.size() < 16; ++k) miss(info.segment, k);
    }
  }
  if (info.duration_us > 0) s.part_duration_us = info.duration_us;
  if (!s.last_from_upstream || std::make_pair(info.segment, info.part) > *s.last_from_upstream) {
    s.last_from_upstream = std::make_pair(info.segment, info.part);
    s.last_end_pts_us = info.pts_us + info.duration_us;
  }
  for (const auto& key : missing) {
    // Under a dual feed the other copy may have come first; the upstream still skipped it.
    if (s.seen.count(key) && !s.second) continue;
    ++s.window.expected;
    charge_missing(s, from, 1);
    s.delivered *= 0.9;
    if (s.seen.count(key)) continue;
    // Repair before the playback deadline: ask the backup (it pulls it through if need be).
    std::optional<ConnId> helper = s.backup;
    if (helper && s.fetched.size() < 64 && s.fetched.insert(key).second) send_fetch(s, *helper, key);
  }
  s.delivered = 0.9 * s.delivered + 0.1;
  // A part published before we subscribed is the upstream's resume backfill:
  // late by construction, so it says nothing about the upstream's latency.
  if (info.ingest_unix_ms < s.subscribed_at_ms) return;
  // What it stated of its own latency for the stream. A relay states one once
  // it has had a part (and again after it changes upstream), so a fresh route
  // has none yet: such parts are not judged for lateness — holding them to a
  // latency of zero would brand every relay that just re-routed a liar. A
  // neighbour whose states keep leaving it out well after we subscribed is held
  // to zero, so omitting the claim does not dodge the check.
  std::optional<double> claimed;
  if (const NeighbourProfile* p = m_host.agent().memory.find(from); p && p->claims) {
    auto it = p->claims->stream_latency_ms.find(s.id);
    if (it != p->claims->stream_latency_ms.end())
      claimed = it->second;
    else if (p->claims->unix_ms > s.subscribed_at_ms + 2 * to_ms(m_host.agent().empathy.options().state_interval))
      claimed = 0.0;
  }
  double rtt = s.upstream ? m_host.rtt_ms(*s.upstream) : 0;
  bool on_time = empathy.on_upstream_part(from, latency_ms, claimed, rtt < 1e6 ? rtt : 0, info.duration_us / 1000.0);
  s.upstream_latency.add(latency_ms, 0.2);
  ++s.window.expected;
  ++s.window.parts;
  s.window.latency_sum += latency_ms;
  if (on_time) ++s.window.on_time;
  (void)now;
}

void StreamRouter::resume(Stream& s, ConnId conn, const PartKey& after, Timestamp now) {
  // The parts a new subscriber lacks: those stored after its newest, at most 8,
  // none ingested more than 3 s ago (it would miss its playback deadline anyway).
  std::vector<const StoredPart*> parts;
  const int64_t oldest_ms = m_host.wall_ms(now) - 3000;
  const Segments& segments = s.segments(after.rendition);
  for (auto seg = segments.lower_bound(after.segment); seg != segments.end(); ++seg) {
    for (const auto& [k, p] : seg->second.parts) {
      if (std::make_pair(seg->first, k) > std::make_pair(after.segment, after.part) && p.header &&
          p.info.ingest_unix_ms >= oldest_ms)
        parts.push_back(&p);
    }
  }
  if (parts.size() > 8) parts.erase(parts.begin(), parts.end() - 8);
  for (const StoredPart* p : parts) {
    Frame out;
    out.type = static_cast<uint16_t>(MediaFrameType::part);
    out.header = *p->header;
    out.payload = p->payload;
    m_host.meter_served(conn, p->payload.size);
    m_host.send_app_frame(conn, std::move(out));
  }
}

bool StreamRouter::on_fetch(ConnId conn, const Frame& f, Timestamp /*now*/) {
  wire::Fetch req;
  if (!parse(req, f) || req.rendition().size() > 32) return false;
  auto id = stream_id_from(req.stream_id());
  if (!id) return false;
  auto it = m_streams.find(*id);
  if (it == m_streams.end()) return true;
  Stream& s = it->second;
  const PartKey key{rendition_or_source(req.rendition()), req.segment(), req.part()};
  if (const StoredPart* p = s.stored.find(key); p && p->header) {
    Frame out;
    out.type = static_cast<uint16_t>(MediaFrameType::part);
    out.header = *p->header;
    out.payload = p->payload;
    m_host.send_app_frame(conn, std::move(out));
    return true;
  }
  // Not here: pass the request up (pull-through), once per part, a bounded number at a time.
  if (s.ended() || s.fetch_waiters.size() >= 64) return true;
  if (auto oldest = s.stored.oldest(key.rendition); oldest && req.segment() < *oldest) return true; // too old
  auto& waiters = s.fetch_waiters[key];
  bool first = waiters.empty();
  waiters.insert(conn);
  std::optional<ConnId> up = s.upstream;
  if (!up) { // not carrying it: ask the nearest neighbour that has it
    uint32_t best = kNoRoute;
    for (const auto& [c, r] : s.haves) {
      if (c != conn && r.hops < best) {
        best = r.hops;
        up = c;
      }
    }
  }
  if (first && up && *up != conn) send_fetch(s, *up, key);
  return true;
}

// Parts `from` should have sent and did not: held against it (and refundable
// when it shows its own upstream never gave them, see on_upstream_gaps).
void StreamRouter::charge_missing(Stream& s, const core::Address& from, uint64_t n) {
  s.parts_missing += n;
  s.blamed[from] += n;
  for (uint64_t k = 0; k < n; ++k) m_host.agent().empathy.on_upstream_missing(from);
}

void StreamRouter::on_upstream_gaps(ConnId conn, const core::Address& from, const core::StreamId& id,
                                    uint64_t cumulative) {
  auto it = m_streams.find(id);
  if (it == m_streams.end()) return;
  Stream& s = it->second;
  const core::Address& key = from;
  auto seen = s.gaps_seen.find(key);
  uint64_t before = seen == s.gaps_seen.end() ? cumulative : seen->second; // the first report is the baseline
  s.gaps_seen[key] = cumulative;
  if (s.upstream != conn || cumulative <= before) return;
  // Refund at most what we charged it: a liar cannot buy credit in advance.
  uint64_t refund = std::min(cumulative - before, s.blamed[key]);
  s.blamed[key] -= refund;
  if (refund > 0) m_host.agent().empathy.on_upstream_excused(from, refund);
}

bool StreamRouter::solicited(Stream& s, ConnId conn, const PartKey& key, Timestamp now) {
  if (s.producer) return false; // nobody sends us our own stream
  if (auto a = s.asked.find(conn); a != s.asked.end()) {
    if (!a->second.left_at || now - *a->second.left_at <= kLeaveGrace) return true;
  }
  if (auto f = s.fetch_asked.find(key); f != s.fetch_asked.end() && f->second.erase(conn)) {
    if (f->second.empty()) s.fetch_asked.erase(f);
    return true;
  }
  return false;
}

void StreamRouter::send_fetch(Stream& s, ConnId conn, const PartKey& key) {
  if (!s.fetch_asked.count(key) && s.fetch_asked.size() >= kMaxFetchesAsked) return; // enough in flight
  s.fetch_asked[key].insert(conn);
  wire::Fetch req;
  req.set_stream_id(bytes_of(s.id));
  req.set_rendition(key.rendition);
  req.set_segment(key.segment);
  req.set_part(key.part);
  m_host.send_app_frame(conn, media_frame(MediaFrameType::fetch, req));
}

} // namespace openstreaming::agent
