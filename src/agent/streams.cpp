#include "agent/streams.h"

#include "agent/agent.h"
#include "agent/node_options.h"
#include "agent/stream_frames.h"
#include "core/announcement.h"
#include "core/hex.h"
#include "core/keccak.h"

#include <algorithm>

namespace openstreaming::agent {

using namespace stream_frames;

namespace {

constexpr std::size_t kMaxAnnouncementBytes = 64 << 10;

} // namespace

StreamRouter::StreamRouter(StreamHost& host, const core::PrivateKey& key)
    : m_host(host), m_key(key), m_address(key.address()) {}

const Stream* StreamRouter::find(const core::StreamId& id) const {
  auto it = m_streams.find(id);
  return it == m_streams.end() ? nullptr : &it->second;
}

std::optional<core::StreamId> StreamRouter::resolve(const std::string& id_or_name) const {
  if (auto id = core::from_hex_fixed<32>(id_or_name)) return *id;
  for (const auto& [id, s] : m_streams) {
    if (s.name == id_or_name) return id;
  }
  return std::nullopt;
}

// ---- Producer -------------------------------------------------------------------

core::StreamId StreamRouter::start_stream(const std::string& name, const std::string& title, const std::string& hls_url,
                                          Timestamp now) {
  core::StreamId id = core::make_stream_id(m_address, name);
  Stream& s = m_streams[id];
  s.id = id;
  s.name = name;
  s.broadcaster = m_address;
  s.producer = true;
  s.status = StreamStatus::live; // ours again, whatever an old announcement of it said
  s.end_reason = EndReason::none;
  s.announcement.tags = {{"title", title}, {"streaming", hls_url}};
  announce(s, now);
  route(s, now);
  return id;
}

void StreamRouter::announce(Stream& s, Timestamp now) {
  int64_t created = m_host.wall_ms(now) / 1000;
  if (!s.announcement.id.empty() && created <= s.announcement.created_at) created = s.announcement.created_at + 1;
  std::string title = core::first_tag(s.announcement, "title").value_or(s.name);
  std::string streaming = core::first_tag(s.announcement, "streaming").value_or("");
  core::NostrTags tags = {{"d", s.name},
                          {"title", title},
                          {"status", status_name(s.status)},
                          {"streaming", streaming},
                          {"openstreaming:stream", core::to_hex(s.id, false)},
                          {"openstreaming:address", s.broadcaster.to_checksum_hex()},
                          {"openstreaming:renditions", "source"}};
  // Where a node that found this announcement outside the mesh (on a Nostr relay) can dial in.
  if (const std::string& ep = m_host.options().listen_endpoint; !ep.empty())
    tags.push_back({"openstreaming:endpoint", ep});
  s.announcement = core::sign_event(m_key, created, 30311, std::move(tags), "", m_host.random().bytes<32>());
  if (!s.announcement_json.empty()) m_by_announcement.erase(std::hash<std::string_view>{}(s.announcement_json));
  s.announcement_json = core::to_json(s.announcement).dump();
  m_by_announcement[std::hash<std::string_view>{}(s.announcement_json)] = s.id;
  m_next_announce[s.id] = now + kAnnounceRefresh;
  for (ConnId c : m_host.established_conns()) send_announcement(s, c);
}

void StreamRouter::send_announcement(const Stream& s, ConnId conn) {
  if (s.announcement.id.empty()) return;
  wire::Announcement a;
  a.set_event_json(s.announcement_json);
  m_host.send_app_frame(conn, media_frame(MediaFrameType::announcement, a));
}

void StreamRouter::publish_part(core::PartInfo info, core::SharedSlice payload, Timestamp now) {
  auto it = m_streams.find(info.stream_id);
  if (it == m_streams.end() || !it->second.producer || it->second.ended()) return;
  Stream& s = it->second;
  info.payload_hash = core::keccak256(payload.view());
  auto sig = core::sign_part(m_key, info);
  wire::PartHeader h;
  h.set_stream_id(bytes_of(info.stream_id));
  h.set_rendition(info.rendition);
  h.set_segment(info.segment);
  h.set_part(info.part);
  h.set_independent(info.independent);
  h.set_pts_us(info.pts_us);
  h.set_duration_us(info.duration_us);
  h.set_ingest_unix_ms(info.ingest_unix_ms);
  h.set_payload_hash(std::string(info.payload_hash.begin(), info.payload_hash.end()));
  h.set_end_of_stream(info.end_of_stream);
  h.set_producer_signature(std::string(sig.bytes().begin(), sig.bytes().end()));
  Frame f = media_frame(MediaFrameType::part, h);
  f.payload = payload;
  // The producer's admission needs the bitrate as much as a relay's.
  if (!info.end_of_stream && info.duration_us > 0 && info.rendition == kSourceRendition)
    s.bitrate_kbps.add(static_cast<double>(payload.size) * 8 * 1000 / info.duration_us, 0.2);
  store(s, StoredPart{info, payload, std::make_shared<const Bytes>(f.header)});
  forward(s, f, std::nullopt, now);
  if (info.end_of_stream) end_stream(s.id, now);
}

void StreamRouter::end_stream(const core::StreamId& id, Timestamp now) {
  auto it = m_streams.find(id);
  if (it == m_streams.end() || it->second.ended()) return;
  Stream& s = it->second;
  s.status = StreamStatus::ended;
  s.stored.complete_all();
  if (s.producer) announce(s, now);
}

// ---- Viewer ---------------------------------------------------------------------

void StreamRouter::watch(const std::string& id_or_name, Timestamp now) {
  if (auto id = resolve(id_or_name); id && m_streams.count(*id)) {
    want(*id, now);
  } else {
    m_pending_watch.insert(id_or_name);
  }
}

void StreamRouter::want(const core::StreamId& id, Timestamp now) {
  auto it = m_streams.find(id);
  if (it == m_streams.end()) {
    m_pending_watch.insert(core::to_hex(id, false));
    return;
  }
  m_leases.erase(id); // wanted for good now
  if (!it->second.wanted) {
    it->second.wanted = true;
    route(it->second, now);
  }
}

// ---- Peers and frames -----------------------------------------------------------

void StreamRouter::on_peer_up(ConnId conn, Timestamp /*now*/) {
  for (const auto& [id, s] : m_streams) {
    send_announcement(s, conn);
    if (s.hops < kNoRoute) send_have(s, conn);
  }
}

void StreamRouter::on_peer_down(ConnId conn, Timestamp now) {
  for (auto& [id, s] : m_streams) {
    s.haves.erase(conn);
    s.subscribers.erase(conn);
    s.asked.erase(conn);
    for (auto& [key, conns] : s.fetch_asked) conns.erase(conn);
    if (s.upstream == conn) s.upstream.reset();
    if (s.second == conn) s.second.reset();
    route(s, now);
  }
}

bool StreamRouter::on_frame(ConnId conn, const core::Address& from, const Frame& f, Timestamp now) {
  switch (static_cast<MediaFrameType>(f.type)) {
  case MediaFrameType::part:
    return on_part(conn, from, f, now);
  case MediaFrameType::announcement:
    return on_announcement(conn, f, now);
  case MediaFrameType::subscribe:
  case MediaFrameType::unsubscribe:
    return on_subscribe(conn, f, now);
  case MediaFrameType::subscribe_result:
    return on_subscribe_result(conn, f, now);
  case MediaFrameType::fetch:
    return on_fetch(conn, f, now);
  case MediaFrameType::neighbour_state: // the Node's own business
  case MediaFrameType::ticket_params:
  case MediaFrameType::tickets:
    return true;
  case MediaFrameType::have:
    return on_have(conn, f, now);
  }
  return false;
}

bool StreamRouter::evictable(const Stream& s) const {
  return !s.producer && !s.wanted && s.subscribers.empty() && !s.subscribed && !s.second;
}

void StreamRouter::erase_stream(std::map<core::StreamId, Stream>::iterator it) {
  if (!it->second.announcement_json.empty())
    m_by_announcement.erase(std::hash<std::string_view>{}(it->second.announcement_json));
  m_host.on_stream_erased(it->first);
  m_streams.erase(it);
  ++m_streams_evicted;
}

bool StreamRouter::make_room(const core::Address& broadcaster, Timestamp now) {
  (void)now;
  const NodeOptions& o = m_host.options();
  std::size_t by_it = 0;
  for (const auto& [id, s] : m_streams) by_it += s.broadcaster == broadcaster;
  if (by_it >= o.max_streams_per_broadcaster) return false;
  if (m_streams.size() < o.max_streams) return true;
  // Full: drop the stream nobody here needs that has been quiet longest
  // (ended ones first). Streams in use are never dropped for a newcomer.
  auto victim = m_streams.end();
  for (auto it = m_streams.begin(); it != m_streams.end(); ++it) {
    if (!evictable(it->second)) continue;
    if (victim == m_streams.end() || std::make_pair(!it->second.ended(), it->second.last_announcement_at) <
                                         std::make_pair(!victim->second.ended(), victim->second.last_announcement_at))
      victim = it;
  }
  if (victim == m_streams.end()) return false;
  erase_stream(victim);
  return true;
}

bool StreamRouter::on_announcement(ConnId conn, const Frame& f, Timestamp now) {
  wire::Announcement a;
  if (!parse(a, f) || a.event_json().size() > kMaxAnnouncementBytes) return false;
  // The flood brings each announcement from every neighbour, forwarded as it
  // came: the same bytes as the one we hold were checked when they came first
  // (found by a hash of the bytes, then compared: O(1), not O(streams)).
  const std::size_t bytes_key = std::hash<std::string_view>{}(a.event_json());
  if (auto k = m_by_announcement.find(bytes_key); k != m_by_announcement.end()) {
    if (auto it = m_streams.find(k->second); it != m_streams.end() && it->second.announcement_json == a.event_json())
      return true;
  }
  auto j = nlohmann::json::parse(a.event_json(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return false;
  auto ev = core::event_from_json(j);
  if (!ev || ev->kind != 30311) return false;
  // The same event in another form (re-serialised): checked already, not newer.
  if (auto id_text = core::first_tag(*ev, "openstreaming:stream")) {
    if (auto sid = core::from_hex_fixed<32>(*id_text)) {
      auto it = m_streams.find(*sid);
      if (it != m_streams.end() && it->second.announcement == *ev) return true;
    }
  }
  const auto& verifier = m_host.options().event_verifier;
  if (verifier ? !verifier(*ev) : !core::verify_event(*ev)) return false;
  auto read = core::read_stream_announcement(*ev); // signed by the broadcaster it names, for the stream it names
  if (!read) return false;
  const core::StreamId id = read->id;

  if (!m_streams.count(id) && !make_room(read->broadcaster, now)) {
    ++m_announcements_refused; // over the caps: not kept, not forwarded
    return true;
  }
  Stream& s = m_streams[id];
  if (s.producer) return true;
  if (!s.announcement.id.empty() && s.announcement.created_at >= ev->created_at) return true; // not newer
  bool fresh = s.announcement.id.empty();
  s.id = id;
  s.name = read->name;
  s.broadcaster = read->broadcaster;
  s.announcement = *ev;
  if (!s.announcement_json.empty()) m_by_announcement.erase(std::hash<std::string_view>{}(s.announcement_json));
  s.announcement_json = a.event_json(); // forwarded as it came (its id and signature cover the canonical form)
  m_by_announcement[bytes_key] = id;
  s.last_announcement_at = now;
  std::string status = core::first_tag(*ev, "status").value_or("live");
  if (status == "ended") {
    end_locally(s, EndReason::ended);
  } else if (s.ended() && s.end_reason != EndReason::ended) {
    // We had given up on it (stalled or expired) but the broadcaster is still live.
    s.status = StreamStatus::live;
    s.end_reason = EndReason::none;
    s.last_part_at.reset();
    s.avoid.reset();
    route(s, now);
  }
  for (ConnId c : m_host.established_conns()) {
    if (c != conn) send_announcement(s, c); // flood; duplicates stop at "not newer"
  }
  if (fresh && (m_pending_watch.erase(read->name) || m_pending_watch.erase(core::to_hex(id, false)))) want(id, now);
  return true;
}

bool StreamRouter::on_part(ConnId conn, const core::Address& from, const Frame& f, Timestamp now) {
  wire::PartHeader h;
  if (!parse(h, f)) return false;
  auto id = stream_id_from(h.stream_id());
  if (!id || h.payload_hash().size() != 32 || h.rendition().size() > 32) return false;
  if (h.part() >= kMaxPartsPerSegment) return false; // no producer cuts a segment this fine
  auto it = m_streams.find(*id);
  if (it == m_streams.end()) return true; // unknown stream: not ours to judge yet
  Stream& s = it->second;
  // Only what we asked for is taken, stored and paid for; checked before the
  // signature (cheap first): a stranger pushing parts gets nothing for them.
  if (!solicited(s, conn, PartKey{h.rendition(), h.segment(), h.part()}, now)) {
    m_host.note_unsolicited(conn, f.type, now);
    return true;
  }
  core::PartInfo info;
  info.stream_id = *id;
  info.rendition = h.rendition();
  info.segment = h.segment();
  info.part = h.part();
  info.independent = h.independent();
  info.pts_us = h.pts_us();
  info.duration_us = h.duration_us();
  info.ingest_unix_ms = h.ingest_unix_ms();
  std::memcpy(info.payload_hash.data(), h.payload_hash().data(), 32);
  info.end_of_stream = h.end_of_stream();
  const auto& verifier = m_host.options().part_verifier;
  auto check = verifier ? verifier(info, f.payload.view(), as_bytes(h.producer_signature()), s.broadcaster)
                        : core::verify_part(info, f.payload.view(), as_bytes(h.producer_signature()), s.broadcaster);
  if (check != core::PartCheck::ok) {
    ++s.stats.parts_invalid;
    ++s.invalid_by_neighbour[from.to_checksum_hex()];
    m_host.note_invalid_part(conn, core::part_check_name(check));
    if (m_host.agent().empathy.on_invalid_part(from, m_host.wall_ms(now))) {
      m_host.shun_peer(conn, "sent invalid parts (" + std::string(core::part_check_name(check)) + ")", now);
    }
    if (s.upstream == conn) leave_upstream(s, now);
    return true; // dropped and blamed; never stored or forwarded
  }
  // The sender's real upload rate: how long this large frame took to arrive.
  if (f.first_byte_at && f.payload.size >= (32u << 10) && now > *f.first_byte_at) {
    double kbps = static_cast<double>(f.payload.size) * 8 / 1000 / to_seconds(now - *f.first_byte_at);
    m_host.agent().empathy.on_rate_sample(from, kbps);
  }
  const PartKey key = key_of(info);
  // The upstream is judged on the rendition we subscribe to, and only while we
  // are subscribed: a relay that carries nothing still names an upstream (the
  // distance it advertises), and the odd part it pulls through from there for
  // a neighbour's fetch says nothing about the parts in between, which nobody
  // asked it for.
  const bool judged = conn == s.upstream && s.subscribed && !info.end_of_stream && info.rendition == kSourceRendition;
  if (!s.seen.insert(key).second) { // a duplicate
    if (s.second && (conn == s.upstream || conn == s.second)) {
      // Dual feed: we asked both for it, so we owe both; and what the upstream
      // sends still counts for and against it even when the other copy won.
      m_host.meter_received(conn, from, f.payload.size);
      if (judged) {
        double late = static_cast<double>(m_host.wall_ms(now) - info.ingest_unix_ms);
        note_upstream_part(s, from, info, late, now);
      }
    }
    return true;
  }
  ++s.stats.parts_received;
  s.last_part_at = now;
  double latency = static_cast<double>(m_host.wall_ms(now) - info.ingest_unix_ms);
  if (!info.end_of_stream) {
    s.stats.add_latency(latency);
    if (info.ingest_unix_ms >= s.subscribed_at_ms) s.held_latency.add(latency, 0.2); // not a resume backfill
    if (info.duration_us > 0)
      s.bitrate_kbps.add(static_cast<double>(f.payload.size) * 8 * 1000 / info.duration_us, 0.2);
  }
  m_host.meter_received(conn, from, f.payload.size);
  if (s.fetched.erase(key))
    ++s.parts_repaired;
  else if (judged)
    note_upstream_part(s, from, info, latency, now);
  store(s, StoredPart{info, f.payload, std::make_shared<const Bytes>(f.header)});
  forward(s, f, conn, now);
  if (auto w = s.fetch_waiters.find(key); w != s.fetch_waiters.end()) {
    for (ConnId c : w->second) {
      if (c != conn && !s.subscribers.count(c)) m_host.send_app_frame(c, f);
    }
    s.fetch_waiters.erase(w);
  }
  if (info.end_of_stream) end_locally(s, EndReason::ended);
  return true;
}

void StreamRouter::store(Stream& s, const StoredPart& p) {
  SegmentWindow::Stored stored = s.stored.store(p);
  if (stored != SegmentWindow::Stored::fresh) ++s.stats.parts_late;
  if (stored != SegmentWindow::Stored::too_old) s.forget_before_window();
}

void StreamRouter::forward(Stream& s, const Frame& f, std::optional<ConnId> except, Timestamp now) {
  const Misbehaviour& mb = m_host.options().misbehave;
  bool bad = m_host.misbehaving(now) && f.payload.size > 0; // fault injection (tests, demo) only
  auto chance = [&](double p) { return static_cast<double>(m_host.random().uniform(1'000'000)) < p * 1e6; };
  for (ConnId sub : s.subscribers) {
    if (sub == except) continue;
    Frame out = f; // same payload buffer, no copy
    out.first_byte_at.reset();
    if (bad && mb.drop > 0 && chance(mb.drop)) continue;
    if (bad && mb.corrupt > 0 && chance(mb.corrupt)) {
      Bytes copy(f.payload.view().begin(), f.payload.view().end());
      copy[copy.size() / 2] ^= 0xff;
      out.payload = core::SharedSlice::copy_of(copy);
    }
    m_host.meter_served(sub, f.payload.size);
    if (bad && mb.delay.count() > 0) {
      m_delayed.push_back({now + mb.delay, sub, std::move(out)});
      ++s.stats.parts_forwarded;
      continue;
    }
    if (m_host.send_app_frame(sub, std::move(out))) ++s.stats.parts_forwarded;
  }
}

std::optional<Timestamp> StreamRouter::next_release() const {
  if (m_delayed.empty()) return std::nullopt;
  return m_delayed.front().at;
}

void StreamRouter::release_delayed(Timestamp now) {
  while (!m_delayed.empty() && m_delayed.front().at <= now) {
    m_host.send_app_frame(m_delayed.front().conn, std::move(m_delayed.front().frame));
    m_delayed.pop_front();
  }
}

void StreamRouter::end_locally(Stream& s, EndReason reason) {
  if (s.ended()) {
    if (reason == EndReason::ended) s.end_reason = reason; // the broadcaster's word is final
    return;
  }
  s.status = StreamStatus::ended;
  s.end_reason = reason;
  s.stored.complete_all();
}

void StreamRouter::tick(Timestamp now) {
  const NodeOptions& o = m_host.options();
  release_delayed(now);
  expire_leases(now);
  // A stream that ended here long ago and that nobody here needs is forgotten
  // (a new announcement brings it back).
  for (auto it = m_streams.begin(); it != m_streams.end();) {
    auto next = std::next(it);
    const Stream& s = it->second;
    if (s.ended() && evictable(s) && now - s.last_announcement_at > kEndedRetention) erase_stream(it);
    it = next;
  }
  shed_over_capacity(now);
  for (auto& [id, s] : m_streams) {
    if (s.producer) {
      drop_overdue(s, now);
      if (!s.ended() && now >= m_next_announce[id]) announce(s, now);
      continue;
    }
    std::erase_if(s.asked, [&](const auto& a) { return a.second.left_at && now - *a.second.left_at > kLeaveGrace; });
    drop_overdue(s, now);
    bool was_ended = s.ended();
    if (!s.ended()) {
      if (now - s.last_announcement_at > kAnnouncementExpiry) {
        end_locally(s, EndReason::expired);
      } else if (s.last_part_at && ((s.needed ? now : s.unneeded_at) - std::max(*s.last_part_at, s.needed_since) >
                                        o.stream_stall_timeout ||
                                    (s.hops == kNoRoute && now - *s.last_part_at > o.stream_stall_timeout))) {
        // It was flowing and then nothing came while we needed it, or nothing
        // came and no neighbour has it any more: the broadcaster is gone. Silence
        // while nobody here needed it and a route remains does not count: a relay
        // whose subscribers left must be able to serve again at once, not only
        // after the next announcement revives the stream.
        end_locally(s, EndReason::stalled);
      } else if (s.subscribed && s.last_part_at && s.backup &&
                 now - std::max(*s.last_part_at, s.subscribed_at) > o.upstream_silence) {
        // Flowing before, silent now: what it did not deliver counts against it
        // (a relay dropping parts can go silent for seconds), then try the backup.
        if (auto a = s.upstream ? m_host.address_of(*s.upstream) : std::nullopt) {
          auto silent_us = to_us(now) - to_us(std::max(*s.last_part_at, s.subscribed_at));
          auto missed = std::min<int64_t>(16, silent_us / std::max<int64_t>(1, s.part_duration_us));
          charge_missing(s, *a, static_cast<uint64_t>(missed));
        }
        leave_upstream(s, now);
      }
    }
    if (s.ended() != was_ended || now - s.routed_at >= kRouteInterval) route(s, now); // unsubscribes one that ended
    if (s.hops != s.advertised || s.path != s.advertised_path) advertise(s);
  }
}

// ---- HLS ------------------------------------------------------------------------

std::optional<std::string> StreamRouter::playlist(const core::StreamId& id, std::string_view rendition) const {
  const Stream* s = find(id);
  if (!s) return std::nullopt;
  return hls_playlist(s->segments(rendition), s->ended());
}

std::optional<core::SharedSlice> StreamRouter::part_bytes(const core::StreamId& id, uint64_t sequence, uint32_t part,
                                                          std::string_view rendition) const {
  const Stream* s = find(id);
  if (!s) return std::nullopt;
  const StoredPart* p = s->stored.find(PartKey{std::string(rendition), sequence, part});
  if (!p) return std::nullopt;
  return p->payload;
}

std::optional<Bytes> StreamRouter::segment_bytes(const core::StreamId& id, uint64_t sequence,
                                                 std::string_view rendition) const {
  const Stream* s = find(id);
  if (!s) return std::nullopt;
  const Segments& segments = s->segments(rendition);
  auto it = segments.find(sequence);
  if (it == segments.end() || !it->second.complete) return std::nullopt;
  Bytes out;
  for (const auto& [i, p] : it->second.parts) {
    auto v = p.payload.view();
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}

// ---- Leased interest -------------------------------------------------------------

void StreamRouter::lease(const core::StreamId& id, Timestamp now) {
  auto it = m_streams.find(id);
  if (it == m_streams.end() || it->second.producer) return;
  Stream& s = it->second;
  if (s.wanted && !m_leases.count(id)) return; // wanted for good: a lease would only shorten it
  m_leases[id] = now + kLease;
  if (!s.wanted) {
    s.wanted = true;
    route(s, now);
  }
}

void StreamRouter::unwant(const core::StreamId& id, Timestamp now) {
  m_leases.erase(id);
  m_pending_watch.erase(core::to_hex(id, false));
  auto it = m_streams.find(id);
  if (it == m_streams.end() || !it->second.wanted) return;
  it->second.wanted = false;
  route(it->second, now);
}

void StreamRouter::expire_leases(Timestamp now) {
  for (auto it = m_leases.begin(); it != m_leases.end();) {
    if (it->second > now) {
      ++it;
      continue;
    }
    auto s = m_streams.find(it->first);
    it = m_leases.erase(it);
    if (s != m_streams.end() && s->second.wanted) {
      s->second.wanted = false;
      route(s->second, now);
    }
  }
}

} // namespace openstreaming::agent
