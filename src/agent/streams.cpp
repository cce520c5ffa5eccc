#include "agent/streams.h"

#include "agent/node.h"
#include "core/hex.h"
#include "core/keccak.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <sstream>
#include <wire.pb.h>

namespace openstreaming::agent {

namespace wire = openstreaming::wire::v1;
using core::Frame;
using core::MediaFrameType;

namespace {

constexpr std::size_t kLatencySamples = 512;
constexpr std::size_t kLivePlaylistSegments = 6;
constexpr std::size_t kMaxAnnouncementBytes = 64 << 10;

template <class Msg>
Frame media_frame(MediaFrameType type, const Msg& msg) {
  Frame f;
  f.type = static_cast<uint16_t>(type);
  f.header.resize(msg.ByteSizeLong());
  msg.SerializeToArray(f.header.data(), static_cast<int>(f.header.size()));
  return f;
}

template <class Msg>
bool parse(Msg& msg, const Frame& f) {
  return msg.ParseFromArray(f.header.data(), static_cast<int>(f.header.size()));
}

std::optional<core::StreamId> stream_id_from(const std::string& bytes) {
  if (bytes.size() != 32) return std::nullopt;
  core::StreamId id{};
  std::memcpy(id.data(), bytes.data(), 32);
  return id;
}

std::string bytes_of(const core::StreamId& id) {
  return std::string(id.begin(), id.end());
}

// The Ethereum address of the key whose x-only form is `xonly`: BIP-340 drops
// the y parity, so try both and accept the one that matches `claimed`.
bool xonly_matches_address(const std::string& xonly_hex, const core::Address& claimed) {
  auto x = core::from_hex_fixed<32>(xonly_hex);
  if (!x) return false;
  for (uint8_t prefix : {0x02, 0x03}) {
    Bytes compressed(33);
    compressed[0] = prefix;
    std::memcpy(compressed.data() + 1, x->data(), 32);
    auto pub = core::PublicKey::parse(compressed);
    if (pub && pub->address() == claimed) return true;
  }
  return false;
}

} // namespace

double Segment::duration_s() const {
  uint64_t us = 0;
  for (const auto& [i, p] : parts) us += p.info.duration_us;
  return static_cast<double>(us) / 1e6;
}

void StreamStats::add_latency(double ms) {
  latency_sum_ms += ms;
  ++latency_count;
  if (latency_ms.size() < kLatencySamples) {
    latency_ms.push_back(ms);
  } else {
    latency_ms[latency_next] = ms;
    latency_next = (latency_next + 1) % kLatencySamples;
  }
}

double StreamStats::latency_quantile(double q) const {
  if (latency_ms.empty()) return 0;
  std::vector<double> v = latency_ms;
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(q * static_cast<double>(v.size() - 1) + 0.5)];
}

StreamRouter::StreamRouter(Node& node, const core::PrivateKey& key)
    : m_node(node), m_key(key), m_address(key.address()) {}

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
  s.status = "live";
  s.announcement.tags = {{"title", title}, {"streaming", hls_url}};
  announce(s, now);
  route(s, now);
  return id;
}

void StreamRouter::announce(Stream& s, Timestamp now) {
  int64_t created = m_node.environment().wall_clock_ms(now) / 1000;
  if (!s.announcement.id.empty() && created <= s.announcement.created_at) created = s.announcement.created_at + 1;
  std::string title = core::first_tag(s.announcement, "title").value_or(s.name);
  std::string streaming = core::first_tag(s.announcement, "streaming").value_or("");
  core::NostrTags tags = {{"d", s.name},
                          {"title", title},
                          {"status", s.status},
                          {"streaming", streaming},
                          {"openstreaming:stream", core::to_hex(s.id, false)},
                          {"openstreaming:address", s.broadcaster.to_checksum_hex()},
                          {"openstreaming:renditions", "source"}};
  s.announcement =
      core::sign_event(m_key, created, 30311, std::move(tags), "", m_node.environment().random().bytes<32>());
  if (!s.announcement_json.empty()) m_by_announcement.erase(std::hash<std::string_view>{}(s.announcement_json));
  s.announcement_json = core::to_json(s.announcement).dump();
  m_by_announcement[std::hash<std::string_view>{}(s.announcement_json)] = s.id;
  m_next_announce[s.id] = now + kAnnounceRefresh;
  for (ConnId c : m_node.established_conns()) send_announcement(s, c);
}

void StreamRouter::send_announcement(const Stream& s, ConnId conn) {
  if (s.announcement.id.empty()) return;
  wire::Announcement a;
  a.set_event_json(s.announcement_json);
  m_node.send_app_frame(conn, media_frame(MediaFrameType::announcement, a));
}

void StreamRouter::publish_part(core::PartInfo info, core::SharedSlice payload, Timestamp now) {
  auto it = m_streams.find(info.stream_id);
  if (it == m_streams.end() || !it->second.producer || it->second.ended) return;
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
  store(s, StoredPart{info, payload, std::make_shared<const Bytes>(f.header)});
  forward(s, f, std::nullopt, now);
  if (info.end_of_stream) end_stream(s.id, now);
}

void StreamRouter::end_stream(const core::StreamId& id, Timestamp now) {
  auto it = m_streams.find(id);
  if (it == m_streams.end() || it->second.status == "ended") return;
  Stream& s = it->second;
  s.ended = true;
  s.status = "ended";
  for (auto& [seq, seg] : s.segments) seg.complete = true;
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
  case MediaFrameType::have: {
    wire::Have have;
    if (!parse(have, f)) return false;
    auto id = stream_id_from(have.stream_id());
    if (!id) return false;
    auto it = m_streams.find(*id);
    if (it == m_streams.end()) return true;
    Stream& s = it->second;
    uint32_t hops = have.hops() >= kMaxHops ? kNoRoute : have.hops();
    s.haves[conn] = hops;
    // Re-route now when we have no route, or one we rely on lost the stream;
    // any other change waits for the next tick (routes are re-evaluated there
    // anyway; while a tree re-forms, HAVEs come in bursts).
    bool relied_on = conn == s.upstream || conn == s.second || conn == s.backup;
    if (s.hops == kNoRoute || (relied_on && hops == kNoRoute)) route(s, now);
    return true;
  }
  }
  return false;
}

bool StreamRouter::evictable(const Stream& s) const {
  return !s.producer && !s.wanted && s.subscribers.empty() && !s.subscribed && !s.second;
}

void StreamRouter::erase_stream(std::map<core::StreamId, Stream>::iterator it) {
  if (!it->second.announcement_json.empty())
    m_by_announcement.erase(std::hash<std::string_view>{}(it->second.announcement_json));
  m_node.on_stream_erased(it->first);
  m_streams.erase(it);
  ++m_streams_evicted;
}

bool StreamRouter::make_room(const core::Address& broadcaster, Timestamp now) {
  (void)now;
  const NodeOptions& o = m_node.options();
  std::size_t by_it = 0;
  for (const auto& [id, s] : m_streams) by_it += s.broadcaster == broadcaster;
  if (by_it >= o.max_streams_per_broadcaster) return false;
  if (m_streams.size() < o.max_streams) return true;
  // Full: drop the stream nobody here needs that has been quiet longest
  // (ended ones first). Streams in use are never dropped for a newcomer.
  auto victim = m_streams.end();
  for (auto it = m_streams.begin(); it != m_streams.end(); ++it) {
    if (!evictable(it->second)) continue;
    if (victim == m_streams.end() || std::make_pair(!it->second.ended, it->second.last_announcement_at) <
                                         std::make_pair(!victim->second.ended, victim->second.last_announcement_at))
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
  const auto& verifier = m_node.options().event_verifier;
  if (verifier ? !verifier(*ev) : !core::verify_event(*ev)) return false;
  auto name = core::first_tag(*ev, "d");
  auto addr_text = core::first_tag(*ev, "openstreaming:address");
  auto id_text = core::first_tag(*ev, "openstreaming:stream");
  if (!name || !addr_text || !id_text) return false;
  auto addr = core::Address::parse(*addr_text);
  if (!addr || !xonly_matches_address(ev->pubkey, *addr)) return false; // signed by someone else
  core::StreamId id = core::make_stream_id(*addr, *name);
  if (core::to_hex(id, false) != *id_text) return false;

  if (!m_streams.count(id) && !make_room(*addr, now)) {
    ++m_announcements_refused; // over the caps: not kept, not forwarded
    return true;
  }
  Stream& s = m_streams[id];
  if (s.producer) return true;
  if (!s.announcement.id.empty() && s.announcement.created_at >= ev->created_at) return true; // not newer
  bool fresh = s.announcement.id.empty();
  s.id = id;
  s.name = *name;
  s.broadcaster = *addr;
  s.announcement = *ev;
  if (!s.announcement_json.empty()) m_by_announcement.erase(std::hash<std::string_view>{}(s.announcement_json));
  s.announcement_json = a.event_json(); // forwarded as it came (its id and signature cover the canonical form)
  m_by_announcement[bytes_key] = id;
  s.last_announcement_at = now;
  std::string status = core::first_tag(*ev, "status").value_or("live");
  if (status == "ended") {
    end_locally(s, "ended");
  } else if (s.ended && s.end_reason != "ended") {
    // We had given up on it (stalled or expired) but the broadcaster is still live.
    s.ended = false;
    s.status = "live";
    s.end_reason.clear();
    s.last_part_at.reset();
    s.avoid.reset();
    route(s, now);
  }
  for (ConnId c : m_node.established_conns()) {
    if (c != conn) send_announcement(s, c); // flood; duplicates stop at "not newer"
  }
  if (fresh && (m_pending_watch.erase(*name) || m_pending_watch.erase(*id_text))) want(id, now);
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
  if (!solicited(s, conn, {h.segment(), h.part()}, now)) {
    m_node.note_unsolicited(conn, f.type, now);
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
  const auto& verifier = m_node.options().part_verifier;
  auto check = verifier ? verifier(info, f.payload.view(), as_bytes(h.producer_signature()), s.broadcaster)
                        : core::verify_part(info, f.payload.view(), as_bytes(h.producer_signature()), s.broadcaster);
  if (check != core::PartCheck::ok) {
    ++s.stats.parts_invalid;
    ++s.invalid_by_neighbour[from.to_checksum_hex()];
    m_node.note_invalid_part(conn, core::part_check_name(check));
    if (m_node.agent().empathy.on_invalid_part(from, m_node.wall_ms(now))) {
      m_node.shun_peer(conn, "sent invalid parts (" + std::string(core::part_check_name(check)) + ")", now);
    }
    if (s.upstream == conn) leave_upstream(s, now);
    return true; // dropped and blamed; never stored or forwarded
  }
  // The sender's real upload rate: how long this large frame took to arrive.
  if (f.first_byte_at && f.payload.size >= (32u << 10) && now > *f.first_byte_at) {
    double kbps = static_cast<double>(f.payload.size) * 8 / 1000 / to_seconds(now - *f.first_byte_at);
    m_node.agent().empathy.on_rate_sample(from, kbps);
  }
  if (!s.seen.insert({info.segment, info.part}).second) { // a duplicate
    if (s.second && (conn == s.upstream || conn == s.second)) {
      // Dual feed: we asked both for it, so we owe both; and what the upstream
      // sends still counts for and against it even when the other copy won.
      m_node.meter_received(conn, from, f.payload.size);
      if (conn == s.upstream && !info.end_of_stream) {
        double late = static_cast<double>(m_node.environment().wall_clock_ms(now) - info.ingest_unix_ms);
        note_upstream_part(s, from, info, late, now);
      }
    }
    return true;
  }
  ++s.stats.parts_received;
  s.last_part_at = now;
  double latency = static_cast<double>(m_node.environment().wall_clock_ms(now) - info.ingest_unix_ms);
  if (!info.end_of_stream) {
    s.stats.add_latency(latency);
    if (info.duration_us > 0)
      s.bitrate_kbps.add(static_cast<double>(f.payload.size) * 8 * 1000 / info.duration_us, 0.2);
  }
  m_node.meter_received(conn, from, f.payload.size);
  if (s.fetched.erase({info.segment, info.part}))
    ++s.parts_repaired;
  else if (conn == s.upstream && !info.end_of_stream)
    note_upstream_part(s, from, info, latency, now);
  store(s, StoredPart{info, f.payload, std::make_shared<const Bytes>(f.header)});
  forward(s, f, conn, now);
  if (auto w = s.fetch_waiters.find({info.segment, info.part}); w != s.fetch_waiters.end()) {
    for (ConnId c : w->second) {
      if (c != conn && !s.subscribers.count(c)) m_node.send_app_frame(c, f);
    }
    s.fetch_waiters.erase(w);
  }
  if (info.end_of_stream) end_locally(s, "ended");
  return true;
}

void StreamRouter::store(Stream& s, const StoredPart& p) {
  if (!s.segments.empty() && p.info.segment < s.segments.begin()->first) {
    ++s.stats.parts_late;
    return;
  }
  auto seg_it = s.segments.find(p.info.segment);
  if (seg_it != s.segments.end() && seg_it->second.complete && !p.info.end_of_stream) ++s.stats.parts_late;
  if (p.info.independent || p.info.end_of_stream) {
    for (auto& [seq, seg] : s.segments) {
      if (seq < p.info.segment || p.info.end_of_stream) seg.complete = true;
    }
  }
  if (!p.info.end_of_stream || p.payload.size > 0) {
    Segment& seg = s.segments[p.info.segment];
    seg.sequence = p.info.segment;
    auto [slot, added] = seg.parts.try_emplace(p.info.part, p);
    if (!added) {
      s.window_bytes -= slot->second.payload.size;
      slot->second = p;
    }
    s.window_bytes += p.payload.size;
    if (p.info.end_of_stream) seg.complete = true;
  }
  // The window holds kSegmentWindow segments and at most kMaxWindowBytes (the
  // newest segment always stays, so a player has something to start from).
  auto drop_oldest = [&] {
    for (const auto& [k, part] : s.segments.begin()->second.parts) s.window_bytes -= part.payload.size;
    s.segments.erase(s.segments.begin());
  };
  while (s.segments.size() > kSegmentWindow) drop_oldest();
  while (s.segments.size() > 1 && s.window_bytes > kMaxWindowBytes) drop_oldest();
  uint64_t oldest = s.segments.empty() ? 0 : s.segments.begin()->first;
  while (!s.seen.empty() && s.seen.begin()->first < oldest) s.seen.erase(s.seen.begin());
  while (!s.fetched.empty() && s.fetched.begin()->first < oldest) s.fetched.erase(s.fetched.begin());
  while (!s.fetch_asked.empty() && s.fetch_asked.begin()->first.first < oldest)
    s.fetch_asked.erase(s.fetch_asked.begin());
  while (!s.fetch_waiters.empty() && s.fetch_waiters.begin()->first.first < oldest)
    s.fetch_waiters.erase(s.fetch_waiters.begin());
}

void StreamRouter::forward(Stream& s, const Frame& f, std::optional<ConnId> except, Timestamp now) {
  const Misbehaviour& mb = m_node.options().misbehave;
  bool bad = m_node.misbehaving(now) && f.payload.size > 0; // fault injection (tests, demo) only
  auto chance = [&](double p) {
    return static_cast<double>(m_node.environment().random().uniform(1'000'000)) < p * 1e6;
  };
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
    m_node.meter_served(sub, f.payload.size);
    if (bad && mb.delay.count() > 0) {
      m_delayed.push_back({now + mb.delay, sub, std::move(out)});
      ++s.stats.parts_forwarded;
      continue;
    }
    if (m_node.send_app_frame(sub, std::move(out))) ++s.stats.parts_forwarded;
  }
}

std::optional<Timestamp> StreamRouter::next_release() const {
  if (m_delayed.empty()) return std::nullopt;
  return m_delayed.front().at;
}

void StreamRouter::release_delayed(Timestamp now) {
  while (!m_delayed.empty() && m_delayed.front().at <= now) {
    m_node.send_app_frame(m_delayed.front().conn, std::move(m_delayed.front().frame));
    m_delayed.pop_front();
  }
}

void StreamRouter::note_upstream_part(Stream& s, const core::Address& from, const core::PartInfo& info,
                                      double latency_ms, Timestamp now) {
  Empathy& empathy = m_node.agent().empathy;
  // Gaps in what the upstream sent: parts skipped inside a segment, or trailing
  // parts of the previous segment (found from the media-time gap).
  std::vector<std::pair<uint64_t, uint32_t>> missing;
  if (s.last_from_upstream) {
    auto [ls, lp] = *s.last_from_upstream;
    if (info.segment == ls && info.part > lp + 1) {
      for (uint32_t k = lp + 1; k < info.part && missing.size() < 16; ++k) missing.emplace_back(ls, k);
    } else if (info.segment == ls + 1) {
      int64_t gap = info.pts_us - s.last_end_pts_us;
      if (info.part == 0 && gap > 250'000 && info.duration_us > 0) {
        auto n = static_cast<uint32_t>(std::min<int64_t>(16, (gap + info.duration_us / 2) / info.duration_us));
        for (uint32_t k = 1; k <= n; ++k) missing.emplace_back(ls, lp + k);
      }
      for (uint32_t k = 0; k < info.part && missing.size() < 16; ++k) missing.emplace_back(info.segment, k);
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
    if (helper && s.fetched.size() < 64 && s.fetched.insert(key).second) send_fetch(s, *helper, key.first, key.second);
  }
  s.delivered = 0.9 * s.delivered + 0.1;
  // A part published before we subscribed is the upstream's resume backfill:
  // late by construction, so it says nothing about the upstream's latency.
  if (info.ingest_unix_ms < s.subscribed_at_ms) return;
  std::optional<double> claimed;
  if (const NeighbourProfile* p = m_node.agent().memory.find(from); p && p->claims) {
    auto it = p->claims->stream_latency_ms.find(s.id);
    if (it != p->claims->stream_latency_ms.end()) claimed = it->second;
  }
  double rtt = s.upstream ? m_node.rtt_ms(*s.upstream) : 0;
  bool on_time = empathy.on_upstream_part(from, latency_ms, claimed, rtt < 1e6 ? rtt : 0);
  s.upstream_latency.add(latency_ms, 0.2);
  ++s.window.expected;
  ++s.window.parts;
  s.window.latency_sum += latency_ms;
  if (on_time) ++s.window.on_time;
  (void)now;
}

bool StreamRouter::on_subscribe(ConnId conn, const Frame& f, Timestamp now) {
  wire::Subscribe sub;
  if (!parse(sub, f) || sub.rendition().size() > 32) return false;
  auto id = stream_id_from(sub.stream_id());
  if (!id) return false;
  std::optional<core::Amount> max_price;
  if (!sub.max_price_wei_per_mb().empty()) {
    auto m = core::Amount::from_decimal_wei(sub.max_price_wei_per_mb());
    if (!m) return false;
    max_price = *m;
  }
  auto it = m_streams.find(*id);
  auto reply = [&](bool accepted, const std::string& reason) {
    wire::SubscribeResult r;
    r.set_stream_id(sub.stream_id());
    r.set_rendition(sub.rendition());
    r.set_accepted(accepted);
    r.set_reason(reason);
    r.set_quote_wei_per_mb(m_node.agent().economics.current_quote().to_wei_string());
    m_node.send_app_frame(conn, media_frame(MediaFrameType::subscribe_result, r));
  };
  if (f.type == static_cast<uint16_t>(MediaFrameType::unsubscribe)) {
    if (it != m_streams.end()) {
      it->second.subscribers.erase(conn);
      route(it->second, now);
    }
    return true;
  }
  if (it == m_streams.end()) {
    reply(false, "unknown_stream"); // not announced to us (yet)
    return true;
  }
  Stream& s = it->second;
  const bool fresh = !s.subscribers.count(conn);
  if (fresh && m_node.payment_overdue(conn)) { // pays nothing for what it has had: no more until it does
    reply(false, "payment_overdue");
    return true;
  }
  if (fresh) {
    auto addr = m_node.address_of(conn);
    bool needy = false;
    if (const NeighbourProfile* p = addr ? m_node.agent().memory.find(*addr) : nullptr; p && p->claims) {
      needy = std::find(p->claims->needs.begin(), p->claims->needs.end(), core::to_hex(*id, false)) !=
              p->claims->needs.end();
    }
    double stream_kbps = s.bitrate_kbps.n ? s.bitrate_kbps.mean : 0;
    double used = 0;
    for (const auto& [sid, other] : m_streams) {
      used += static_cast<double>(other.subscribers.size()) * (other.bitrate_kbps.n ? other.bitrate_kbps.mean : 0);
    }
    Admission a = m_node.agent().economics.admit(max_price, needy, used, stream_kbps);
    if (!a.accepted) {
      reply(false, a.reason);
      return true;
    }
    s.subscribers.insert(conn);
  }
  m_node.agree_charge(conn, m_node.agent().economics.current_quote()); // the quote the reply names
  reply(true, "");
  // Backfill only a new subscription: a re-sent Subscribe must not buy
  // megabytes of stored parts for a few bytes, again and again.
  if (fresh && sub.resume()) resume(s, conn, {sub.resume_segment(), sub.resume_part()}, now);
  route(s, now);
  return true;
}

void StreamRouter::resume(Stream& s, ConnId conn, std::pair<uint64_t, uint32_t> after, Timestamp now) {
  // The parts a new subscriber lacks: those stored after its newest, at most 8,
  // none ingested more than 3 s ago (it would miss its playback deadline anyway).
  std::vector<const StoredPart*> parts;
  const int64_t oldest_ms = m_node.wall_ms(now) - 3000;
  for (auto seg = s.segments.lower_bound(after.first); seg != s.segments.end(); ++seg) {
    for (const auto& [k, p] : seg->second.parts) {
      if (std::make_pair(seg->first, k) > after && p.header && p.info.ingest_unix_ms >= oldest_ms) parts.push_back(&p);
    }
  }
  if (parts.size() > 8) parts.erase(parts.begin(), parts.end() - 8);
  for (const StoredPart* p : parts) {
    Frame out;
    out.type = static_cast<uint16_t>(MediaFrameType::part);
    out.header = *p->header;
    out.payload = p->payload;
    m_node.meter_served(conn, p->payload.size);
    m_node.send_app_frame(conn, std::move(out));
  }
}

bool StreamRouter::on_subscribe_result(ConnId conn, const Frame& f, Timestamp now) {
  wire::SubscribeResult r;
  if (!parse(r, f) || r.reason().size() > 64 || r.quote_wei_per_mb().size() > 80) return false;
  auto id = stream_id_from(r.stream_id());
  if (!id) return false;
  std::optional<core::Amount> quote;
  if (r.accepted()) {
    auto q = core::Amount::from_decimal_wei(r.quote_wei_per_mb());
    if (!q) return false; // an acceptance must name its price
    quote = *q;
  }
  auto it = m_streams.find(*id);
  auto asked = it == m_streams.end() ? nullptr : [&]() -> Stream::Asked* {
    auto a = it->second.asked.find(conn);
    return a == it->second.asked.end() || a->second.left_at ? nullptr : &a->second;
  }();
  if (!asked) { // we sent it no Subscribe (or cancelled it): its answer sets nothing
    m_node.note_unsolicited(conn, f.type, now);
    return true;
  }
  Stream& s = it->second;
  auto addr = m_node.address_of(conn);
  if (r.accepted()) {
    const auto& limit = m_node.options().agent_config.max_price_wei_per_mb;
    if (!limit || *quote <= *limit) {
      // The price for what this neighbour sends us from now on.
      asked->accepted = true;
      m_node.agree_price(conn, *quote);
      return true;
    }
    // Above what we pay: we never agreed to it (an honest neighbour would have
    // refused us). Cancel, and treat it as a refusal.
    send_subscription(s, conn, false, now);
  }
  s.asked.erase(conn);
  if (addr) m_node.agent().empathy.on_refused(*addr);
  if (s.second == conn) {
    s.second.reset();
  } else if (s.upstream == conn) {
    s.subscribed = false; // it will not send: find another
    leave_upstream(s, now);
  }
  return true;
}

bool StreamRouter::on_fetch(ConnId conn, const Frame& f, Timestamp /*now*/) {
  wire::Fetch req;
  if (!parse(req, f) || req.rendition().size() > 32) return false;
  auto id = stream_id_from(req.stream_id());
  if (!id) return false;
  auto it = m_streams.find(*id);
  if (it == m_streams.end()) return true;
  Stream& s = it->second;
  auto key = std::make_pair(req.segment(), req.part());
  if (auto seg = s.segments.find(req.segment()); seg != s.segments.end()) {
    if (auto p = seg->second.parts.find(req.part()); p != seg->second.parts.end() && p->second.header) {
      Frame out;
      out.type = static_cast<uint16_t>(MediaFrameType::part);
      out.header = *p->second.header;
      out.payload = p->second.payload;
      m_node.send_app_frame(conn, std::move(out));
      return true;
    }
  }
  // Not here: pass the request up (pull-through), once per part, a bounded number at a time.
  if (s.ended || s.fetch_waiters.size() >= 64) return true;
  if (!s.segments.empty() && req.segment() < s.segments.begin()->first) return true; // too old
  auto& waiters = s.fetch_waiters[key];
  bool first = waiters.empty();
  waiters.insert(conn);
  std::optional<ConnId> up = s.upstream;
  if (!up) { // not carrying it: ask the nearest neighbour that has it
    uint32_t best = kNoRoute;
    for (const auto& [c, h] : s.haves) {
      if (c != conn && h < best) {
        best = h;
        up = c;
      }
    }
  }
  if (first && up && *up != conn) send_fetch(s, *up, req.segment(), req.part());
  return true;
}

// Parts `from` should have sent and did not: held against it (and refundable
// when it shows its own upstream never gave them, see on_upstream_gaps).
void StreamRouter::charge_missing(Stream& s, const core::Address& from, uint64_t n) {
  s.parts_missing += n;
  s.blamed[from] += n;
  for (uint64_t k = 0; k < n; ++k) m_node.agent().empathy.on_upstream_missing(from);
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
  if (refund > 0) m_node.agent().empathy.on_upstream_excused(from, refund);
}

std::set<ConnId> StreamRouter::subscriber_conns() const {
  std::set<ConnId> out;
  for (const auto& [id, s] : m_streams) out.insert(s.subscribers.begin(), s.subscribers.end());
  return out;
}

bool StreamRouter::solicited(Stream& s, ConnId conn, std::pair<uint64_t, uint32_t> key, Timestamp now) {
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

void StreamRouter::send_fetch(Stream& s, ConnId conn, uint64_t segment, uint32_t part) {
  auto key = std::make_pair(segment, part);
  if (!s.fetch_asked.count(key) && s.fetch_asked.size() >= kMaxFetchesAsked) return; // enough in flight
  s.fetch_asked[key].insert(conn);
  wire::Fetch req;
  req.set_stream_id(bytes_of(s.id));
  req.set_rendition("source");
  req.set_segment(segment);
  req.set_part(part);
  m_node.send_app_frame(conn, media_frame(MediaFrameType::fetch, req));
}

void StreamRouter::route(Stream& s, Timestamp now) {
  s.routed_at = now;
  std::optional<ConnId> best;
  uint32_t new_hops = kNoRoute;
  if (s.producer) {
    new_hops = 0;
  } else {
    std::vector<UpstreamCandidate> candidates;
    auto candidate = [&](ConnId c, uint32_t h) {
      auto addr = m_node.address_of(c);
      // Never a neighbour we serve this stream to (a loop), never one without a proven address.
      if (!addr || s.subscribers.count(c) || h >= kMaxHops - 1) return;
      candidates.push_back({c, h, m_node.rtt_ms(c), *addr});
    };
    for (const auto& [c, h] : s.haves) {
      if (c != s.avoid) candidate(c, h);
    }
    if (candidates.empty() && s.avoid) { // the one we left is all there is
      if (auto h = s.haves.find(*s.avoid); h != s.haves.end()) candidate(h->first, h->second);
    }
    RouteContext ctx;
    ctx.now = now;
    ctx.now_ms = m_node.wall_ms(now);
    ctx.stream_kbps = s.bitrate_kbps.n ? s.bitrate_kbps.mean : 0;
    ctx.part_ms = s.stats.parts_received ? s.part_duration_us / 1000.0 : 0;
    ctx.current_delivery = s.delivered;
    ctx.flowing = s.subscribed;
    if (s.upstream_latency.n > 0) ctx.current_latency_ms = s.upstream_latency.mean;
    if (s.upstream) {
      if (auto a = m_node.address_of(*s.upstream)) {
        if (const NeighbourProfile* p = m_node.agent().memory.find(*a)) ctx.current_on_time = p->on_time.value;
      }
    }
    UpstreamChoice choice = m_policy->choose(s.id, candidates, s.upstream, ctx);
    best = choice.primary;
    s.backup = choice.backup;
    s.dual = choice.feed_backup;
    if (best) new_hops = s.haves[*best] + 1;
  }
  bool need = !s.producer && !s.ended && (s.wanted || !s.subscribers.empty());
  if (need != s.needed) (need ? s.needed_since : s.unneeded_at) = now;
  s.needed = need;
  std::optional<ConnId> old = s.upstream;
  bool subscribed_before = s.subscribed;
  if (best != old || need != subscribed_before) {
    if (old && subscribed_before) send_subscription(s, *old, false, now);
    if (best != old && old && best) ++s.upstream_switches;
    if (best != old) {
      s.upstream_latency = {};
      s.last_from_upstream.reset();
      s.delivered = 1;
    }
    if (best && best == s.second) s.second.reset(); // the second feed becomes the primary: already subscribed
    s.upstream = best;
    s.subscribed = need && best.has_value();
    if (s.subscribed) {
      send_subscription(s, *best, true, now);
      s.subscribed_at = now;
      s.subscribed_at_ms = m_node.wall_ms(now);
    }
  }
  // The second feed: the backup, while the policy wants it.
  // Kept while it is still a fit candidate, so the second feed does not follow
  // every reordering of the backups (each change would cost a subscription).
  std::optional<ConnId> second;
  if (s.subscribed && s.dual) {
    auto fit = [&](std::optional<ConnId> c) {
      return c && c != s.upstream && c != s.avoid && s.haves.count(*c) && !s.subscribers.count(*c);
    };
    if (fit(s.second))
      second = s.second;
    else if (fit(s.backup))
      second = s.backup;
  }
  if (second != s.second) {
    if (s.second && s.second != s.upstream) send_subscription(s, *s.second, false, now);
    s.second = second;
    if (s.second) send_subscription(s, *s.second, true, now);
  }
  // A route that appears or disappears is told at once; a changed distance
  // waits for the next tick (damped, as RIP damps triggered updates): while a
  // tree re-forms, a subtree's distances change several times within a tick,
  // and each change told at once would go to every neighbour of every node below.
  s.hops = new_hops;
  if (s.hops != s.advertised && (s.advertised == kNoRoute || s.hops == kNoRoute)) {
    advertise(s);
  } else if (best != old) {
    // Another upstream: the old and the new one see a different HAVE (poisoned reverse).
    for (auto c : {old, best}) {
      if (c && m_node.established(*c)) send_have(s, *c);
    }
  }
}

void StreamRouter::advertise(Stream& s) {
  s.advertised = s.hops;
  for (ConnId c : m_node.established_conns()) send_have(s, c);
}

void StreamRouter::send_have(const Stream& s, ConnId conn) {
  wire::Have h;
  h.set_stream_id(bytes_of(s.id));
  h.set_rendition("source");
  h.set_hops(s.upstream == conn ? kNoRoute : s.hops); // poisoned reverse
  m_node.send_app_frame(conn, media_frame(MediaFrameType::have, h));
}

void StreamRouter::send_subscription(Stream& s, ConnId conn, bool subscribe, Timestamp now) {
  if (subscribe)
    s.asked[conn] = Stream::Asked{};
  else if (auto a = s.asked.find(conn); a != s.asked.end() && !a->second.left_at)
    a->second.left_at = now;
  wire::Subscribe sub;
  sub.set_stream_id(bytes_of(s.id));
  sub.set_rendition("source");
  if (subscribe && m_node.options().agent_config.max_price_wei_per_mb) {
    sub.set_max_price_wei_per_mb(m_node.options().agent_config.max_price_wei_per_mb->to_wei_string());
  }
  if (subscribe && !s.seen.empty()) { // resume after the newest part we have
    sub.set_resume(true);
    sub.set_resume_segment(s.seen.rbegin()->first);
    sub.set_resume_part(s.seen.rbegin()->second);
  }
  m_node.send_app_frame(conn, media_frame(subscribe ? MediaFrameType::subscribe : MediaFrameType::unsubscribe, sub));
}

void StreamRouter::drop_overdue(Stream& s, Timestamp now) {
  std::vector<ConnId> overdue;
  for (ConnId c : s.subscribers) {
    if (m_node.payment_overdue(c)) overdue.push_back(c);
  }
  for (ConnId c : overdue) {
    s.subscribers.erase(c);
    m_node.note_overdue_refusal(c);
    wire::SubscribeResult r;
    r.set_stream_id(bytes_of(s.id));
    r.set_rendition("source");
    r.set_accepted(false);
    r.set_reason("payment_overdue");
    m_node.send_app_frame(c, media_frame(MediaFrameType::subscribe_result, r));
  }
  if (!overdue.empty()) route(s, now);
}

void StreamRouter::end_locally(Stream& s, const std::string& reason) {
  if (s.ended) {
    if (reason == "ended") s.end_reason = reason; // the broadcaster's word is final
    return;
  }
  s.ended = true;
  s.status = "ended";
  s.end_reason = reason;
  for (auto& [seq, seg] : s.segments) seg.complete = true;
}

void StreamRouter::leave_upstream(Stream& s, Timestamp now) {
  if (!s.upstream) return;
  s.avoid = s.upstream;
  route(s, now);
}

void StreamRouter::tick(Timestamp now) {
  const NodeOptions& o = m_node.options();
  release_delayed(now);
  expire_leases(now);
  // A stream that ended here long ago and that nobody here needs is forgotten
  // (a new announcement brings it back).
  for (auto it = m_streams.begin(); it != m_streams.end();) {
    auto next = std::next(it);
    const Stream& s = it->second;
    if (s.ended && evictable(s) && now - s.last_announcement_at > kEndedRetention) erase_stream(it);
    it = next;
  }
  for (auto& [id, s] : m_streams) {
    if (s.producer) {
      drop_overdue(s, now);
      if (!s.ended && now >= m_next_announce[id]) announce(s, now);
      continue;
    }
    std::erase_if(s.asked, [&](const auto& a) { return a.second.left_at && now - *a.second.left_at > kLeaveGrace; });
    drop_overdue(s, now);
    bool was_ended = s.ended;
    if (!s.ended) {
      if (now - s.last_announcement_at > kAnnouncementExpiry) {
        end_locally(s, "expired");
      } else if (s.last_part_at && ((s.needed ? now : s.unneeded_at) - std::max(*s.last_part_at, s.needed_since) >
                                        o.stream_stall_timeout ||
                                    (s.hops == kNoRoute && now - *s.last_part_at > o.stream_stall_timeout))) {
        // It was flowing and then nothing came while we needed it, or nothing
        // came and no neighbour has it any more: the broadcaster is gone. Silence
        // while nobody here needed it and a route remains does not count: a relay
        // whose subscribers left must be able to serve again at once, not only
        // after the next announcement revives the stream.
        end_locally(s, "stalled");
      } else if (s.subscribed && s.last_part_at && s.backup &&
                 now - std::max(*s.last_part_at, s.subscribed_at) > o.upstream_silence) {
        // Flowing before, silent now: what it did not deliver counts against it
        // (a relay dropping parts can go silent for seconds), then try the backup.
        if (auto a = s.upstream ? m_node.address_of(*s.upstream) : std::nullopt) {
          auto silent_us = to_us(now) - to_us(std::max(*s.last_part_at, s.subscribed_at));
          auto missed = std::min<int64_t>(16, silent_us / std::max<int64_t>(1, s.part_duration_us));
          charge_missing(s, *a, static_cast<uint64_t>(missed));
        }
        leave_upstream(s, now);
      }
    }
    if (s.ended != was_ended || now - s.routed_at >= kRouteInterval) route(s, now); // unsubscribes one that ended
    if (s.hops != s.advertised) advertise(s);
  }
}

// ---- HLS ------------------------------------------------------------------------

namespace {
// Parts 0..n-1 with part 0 independent: a player can start at this segment.
bool whole_prefix(const Segment& seg) {
  return !seg.parts.empty() && seg.parts.begin()->first == 0 && seg.parts.begin()->second.info.independent &&
         seg.parts.rbegin()->first + 1 == seg.parts.size();
}
} // namespace

// HLS (RFC 8216) with Low-Latency HLS partial segments: complete segments as
// usual, plus EXT-X-PART lines for the newest segments so a part is playable as
// soon as it arrives. Players without LL-HLS support ignore the part tags.
std::optional<std::string> StreamRouter::playlist(const core::StreamId& id) const {
  const Stream* s = find(id);
  if (!s) return std::nullopt;
  std::vector<const Segment*> done;
  const Segment* open = nullptr; // the segment still arriving
  for (const auto& [seq, seg] : s->segments) {
    // Only whole segments: a viewer that joined mid-segment lacks its keyframe part.
    if (!whole_prefix(seg)) continue;
    if (seg.complete)
      done.push_back(&seg);
    else
      open = &seg;
  }
  if (open && !done.empty() && open->sequence != done.back()->sequence + 1) open = nullptr; // a gap: wait
  if (s->ended) open = nullptr;
  if (done.empty()) return std::nullopt;
  if (!s->ended && done.size() > kLivePlaylistSegments) done.erase(done.begin(), done.end() - kLivePlaylistSegments);
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
  if (!s->ended) {
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
    if (!s->ended && k + 2 >= done.size()) parts_of(*done[k]);
    out << "#EXTINF:" << done[k]->duration_s() << ",\nseg_" << done[k]->sequence << ".ts\n";
  }
  if (open) parts_of(*open);
  if (s->ended) out << "#EXT-X-ENDLIST\n";
  return out.str();
}

std::optional<core::SharedSlice> StreamRouter::part_bytes(const core::StreamId& id, uint64_t sequence,
                                                          uint32_t part) const {
  const Stream* s = find(id);
  if (!s) return std::nullopt;
  auto it = s->segments.find(sequence);
  if (it == s->segments.end()) return std::nullopt;
  auto p = it->second.parts.find(part);
  if (p == it->second.parts.end()) return std::nullopt;
  return p->second.payload;
}

std::optional<Bytes> StreamRouter::segment_bytes(const core::StreamId& id, uint64_t sequence) const {
  const Stream* s = find(id);
  if (!s) return std::nullopt;
  auto it = s->segments.find(sequence);
  if (it == s->segments.end() || !it->second.complete) return std::nullopt;
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
