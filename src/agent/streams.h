// StreamRouter: live streams inside the sans-I/O node (docs/architecture.md).
//
// - Announcements: NIP-53 kind-30311 events signed (BIP-340) by the broadcaster,
//   flooded to every peer, refreshed while live, "ended" when the broadcast stops.
//   An announcement is accepted only if its Schnorr key is the broadcaster's own
//   key (the x-only key must lift to the announced Ethereum address) and its
//   stream id is keccak256(address ‖ d-tag).
// - Routing (NearestUpstream by default; the agent's propagation
//   engine plugs in the same way): a distance vector over `Have` frames. A node advertises
//   its hop distance to the producer to every peer (infinity to its own upstream:
//   poisoned reverse), distances above kMaxHops are unreachable, and a node that
//   wants a stream — or has subscribers for it — subscribes to the primary that
//   its UpstreamPolicy picks among the neighbours with a route (default: fewest
//   hops, then lowest RTT, with a backup). Subscriptions pull the stream through
//   relays that do not watch it themselves. An upstream that goes silent or
//   sends a bad part is left for the backup.
// - Ending: the producer's "ended" announcement (or end-of-stream part) ends a
//   stream everywhere; a relayed stream that stops delivering parts for
//   NodeOptions::stream_stall_timeout (a killed broadcaster) or whose
//   announcement is not refreshed ends locally, so players see #EXT-X-ENDLIST.
// - Parts: every received part is checked (payload hash, producer signature)
//   before it is stored or forwarded; a bad part is dropped, counted and blamed
//   on the neighbour that sent it. Good parts go to every subscriber with the
//   same payload buffer (no copy) and into a window of recent segments that the
//   HLS server reads.
//
// No I/O. Driven by Node; time comes in as `now`, wall-clock time through
// Environment::wall_clock_ms.
#pragma once

#include "agent/memory/memory.h"
#include "agent/peer_types.h"
#include "agent/upstream_policy.h"
#include "core/nostr.h"
#include "core/part.h"
#include "core/time.h"

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace openstreaming::agent {

class Node;

inline constexpr uint32_t kMaxHops = 32;
inline constexpr uint32_t kNoRoute = 0xffffffff;

struct StoredPart {
  core::PartInfo info;
  core::SharedSlice payload;
  std::shared_ptr<const Bytes> header; // the signed PartHeader as received, to answer a Fetch
};

struct Segment {
  uint64_t sequence = 0;
  std::map<uint32_t, StoredPart> parts;
  bool complete = false; // a later segment started, or the stream ended
  double duration_s() const;
};

struct StreamStats {
  uint64_t parts_received = 0;
  uint64_t parts_late = 0;    // arrived after a later segment was already complete
  uint64_t parts_invalid = 0; // failed verification (dropped)
  uint64_t parts_forwarded = 0;
  double latency_sum_ms = 0; // over every sample, for the mean
  uint64_t latency_count = 0;
  std::vector<double> latency_ms; // ring of recent ingest -> arrival samples
  std::size_t latency_next = 0;
  void add_latency(double ms);
  double latency_quantile(double q) const;
};

struct Stream {
  core::StreamId id{};
  std::string name;
  core::Address broadcaster;
  std::string status = "live"; // live | ended
  core::NostrEvent announcement;
  std::string announcement_json;  // its JSON, as sent to neighbours
  bool producer = false;          // we ingest it
  bool wanted = false;            // a viewer here (--watch or an HLS request)
  std::optional<ConnId> upstream; // primary route to the producer (chosen by the UpstreamPolicy)
  std::optional<ConnId> backup;   // where to go at once if the primary fails
  std::optional<ConnId> avoid;    // an upstream we left (silent or sent bad parts); last resort only
  bool subscribed = false;        // we sent Subscribe to `upstream`
  Timestamp subscribed_at{};
  Timestamp routed_at{};                   // last route()
  bool needed = false;                     // a viewer here or a subscriber wants it (as of the last route())
  Timestamp needed_since{}, unneeded_at{}; // when the last period of need began, ended
  // Dual feed: when the upstream policy asks for it (the agent does while its
  // upstream is unproven or losing parts) the backup is subscribed too, and
  // whichever copy comes first plays.
  std::optional<ConnId> second;
  bool dual = false;                     // the policy's last answer
  double delivered = 1;                  // moving share of the parts the upstream sent at all (reset on a switch)
  int64_t subscribed_at_ms = 0;          // the same on the wall clock (parts' ingest times are on it)
  std::optional<Timestamp> last_part_at; // last valid new part
  Timestamp last_announcement_at{};
  std::string end_reason; // "" while live; ended | stalled | expired
  uint64_t upstream_switches = 0;
  // Observed through the current upstream (reset when it changes).
  Ewma upstream_latency;
  std::optional<std::pair<uint64_t, uint32_t>> last_from_upstream;
  int64_t last_end_pts_us = 0;
  uint32_t part_duration_us = 500'000; // as the parts say
  // Gaps excused: parts missing from our upstream that it says its own upstream
  // never gave it (its StateBody.gaps). Per upstream address.
  std::map<core::Address, uint64_t> blamed;    // missing parts charged to it, not yet excused
  std::map<core::Address, uint64_t> gaps_seen; // its last reported cumulative gap count
  // This reflect window (Node::reflect resets it): for predictions' outcomes.
  struct Window {
    uint64_t expected = 0, on_time = 0, parts = 0;
    double latency_sum = 0;
  } window;
  Ewma bitrate_kbps; // of the stream, from part sizes and durations
  // Repair: parts we asked a backup for, and parts neighbours asked us for.
  std::set<std::pair<uint64_t, uint32_t>> fetched;
  std::map<std::pair<uint64_t, uint32_t>, std::set<ConnId>> fetch_waiters;
  uint64_t parts_repaired = 0;
  uint64_t parts_missing = 0;
  // Subscriptions we asked for, per neighbour: only these neighbours' replies
  // and parts are taken (and paid for). One we cancelled stays `left_at` for
  // kLeaveGrace, so parts already on the wire when it read our Unsubscribe are
  // still taken (it metered them) rather than blamed as unsolicited.
  struct Asked {
    bool accepted = false;
    std::optional<Timestamp> left_at;
  };
  std::map<ConnId, Asked> asked;
  // Fetches we sent, by part: the answer is taken only from a neighbour asked.
  std::map<std::pair<uint64_t, uint32_t>, std::set<ConnId>> fetch_asked;
  std::map<ConnId, uint32_t> haves; // neighbour -> its advertised hops
  uint32_t hops = kNoRoute;         // ours
  uint32_t advertised = kNoRoute;   // what our neighbours were last told (see advertise())
  std::set<ConnId> subscribers;
  std::map<uint64_t, Segment> segments;
  uint64_t window_bytes = 0; // payload bytes held in `segments`
  std::set<std::pair<uint64_t, uint32_t>> seen; // recent (segment, part) to drop duplicates
  bool ended = false;
  StreamStats stats;
  std::map<std::string, uint64_t> invalid_by_neighbour; // address -> count (blame)
};

class StreamRouter {
public:
  static constexpr std::size_t kSegmentWindow = 12; // segments kept in memory
  static constexpr uint64_t kMaxWindowBytes = 48ull << 20; // and payload bytes (12 x 2 s at 16 Mbit/s)
  static constexpr uint32_t kMaxPartsPerSegment = 64;       // a higher part index is malformed
  static constexpr Duration kAnnounceRefresh = 10s;
  // A relayed stream whose announcement has not been refreshed for this long is over.
  static constexpr Duration kAnnouncementExpiry = 4 * kAnnounceRefresh;
  // The tick re-evaluates a stream's upstream at least this often (events that
  // need an answer at once — a lost upstream, silence, an end — route at once).
  static constexpr Duration kRouteInterval = 500ms;
  // An ended stream nobody here needs is forgotten this long after its last announcement.
  static constexpr Duration kEndedRetention = 60s;
  // How long parts from a neighbour we unsubscribed from are still taken.
  static constexpr Duration kLeaveGrace = 10s;
  // Fetch requests we keep track of per stream (answers to others are unsolicited).
  static constexpr std::size_t kMaxFetchesAsked = 128;

  StreamRouter(Node& node, const core::PrivateKey& key);
  // Replaces the upstream policy (default: NearestUpstream); `policy` must outlive the router.
  void set_policy(UpstreamPolicy& policy) { m_policy = &policy; }
  const UpstreamPolicy& policy() const { return *m_policy; }

  // Producer side: start a stream named `name` and return its id.
  core::StreamId start_stream(const std::string& name, const std::string& title, const std::string& hls_url,
                              Timestamp now);
  // Producer side: publish a part of our own stream (signs it and sends it to subscribers).
  void publish_part(core::PartInfo info, core::SharedSlice payload, Timestamp now);
  void end_stream(const core::StreamId& id, Timestamp now);
  // Viewer side: want a stream by id or (once announced) by name.
  void watch(const std::string& id_or_name, Timestamp now);
  void want(const core::StreamId& id, Timestamp now);

  // From Node.
  void on_peer_up(ConnId conn, Timestamp now);
  void on_peer_down(ConnId conn, Timestamp now);
  // Returns false if the frame is malformed (the node disconnects the peer).
  bool on_frame(ConnId conn, const core::Address& from, const core::Frame& f, Timestamp now);
  void tick(Timestamp now);

  // Announcements not kept because of the stream caps, and streams forgotten.
  uint64_t announcements_refused() const { return m_announcements_refused; }
  uint64_t streams_evicted() const { return m_streams_evicted; }
  // State (for APIs and the HLS server).
  const std::map<core::StreamId, Stream>& streams() const { return m_streams; }
  std::map<core::StreamId, Stream>& mutable_streams() { return m_streams; }
  void route(Stream& s, Timestamp now); // recompute hops and upstream; advertise changes
  void advertise(Stream& s);            // our hops to every neighbour
  // Test-only misbehaviour (delay): frames held back, and when the next is due.
  std::optional<Timestamp> next_release() const;
  void release_delayed(Timestamp now);
  const Stream* find(const core::StreamId& id) const;
  // Our upstream `from` reports how many parts of `id` its own upstream failed
  // to give it (cumulative); those it newly reports are refunded from what we
  // charged it (a relay is not blamed for a dropper above it).
  void on_upstream_gaps(ConnId conn, const core::Address& from, const core::StreamId& id, uint64_t cumulative);
  // Every neighbour we send some stream to (our payers).
  std::set<ConnId> subscriber_conns() const;
  std::optional<core::StreamId> resolve(const std::string& id_or_name) const;
  // HLS media playlist of the complete segments in the window; nullopt if none yet.
  std::optional<std::string> playlist(const core::StreamId& id) const;
  // A complete segment's bytes (its parts concatenated), or nullopt.
  std::optional<Bytes> segment_bytes(const core::StreamId& id, uint64_t sequence) const;
  // One part's bytes (LL-HLS partial segment), or nullopt.
  std::optional<core::SharedSlice> part_bytes(const core::StreamId& id, uint64_t sequence, uint32_t part) const;

private:
  bool on_part(ConnId conn, const core::Address& from, const core::Frame& f, Timestamp now);
  bool on_announcement(ConnId conn, const core::Frame& f, Timestamp now);
  void store(Stream& s, const StoredPart& p);
  void forward(Stream& s, const core::Frame& f, std::optional<ConnId> except, Timestamp now);
  bool on_subscribe(ConnId conn, const core::Frame& f, Timestamp now);
  bool on_subscribe_result(ConnId conn, const core::Frame& f, Timestamp now);
  bool on_fetch(ConnId conn, const core::Frame& f, Timestamp now);
  void send_fetch(Stream& s, ConnId conn, uint64_t segment, uint32_t part);
  void charge_missing(Stream& s, const core::Address& from, uint64_t n);
  void resume(Stream& s, ConnId conn, std::pair<uint64_t, uint32_t> after, Timestamp now); // backfill a new subscriber
  void note_upstream_part(Stream& s, const core::Address& from, const core::PartInfo& info, double latency_ms,
                          Timestamp now);
  void announce(Stream& s, Timestamp now);
  // Stream caps (NodeOptions::max_streams, max_streams_per_broadcaster): false
  // when a new stream of `broadcaster` cannot be kept.
  bool make_room(const core::Address& broadcaster, Timestamp now);
  bool evictable(const Stream& s) const; // nobody here needs it
  void erase_stream(std::map<core::StreamId, Stream>::iterator it);
  void send_announcement(const Stream& s, ConnId conn);
  void end_locally(Stream& s, const std::string& reason);
  // Subscribers that owe more than the credit limit are refused (payment_overdue).
  void drop_overdue(Stream& s, Timestamp now);
  void leave_upstream(Stream& s, Timestamp now); // the primary failed: avoid it, take the backup
  void send_have(const Stream& s, ConnId conn);
  void send_subscription(Stream& s, ConnId conn, bool subscribe, Timestamp now);
  // Whether a part of `s` from `conn` answers a subscription or fetch of ours.
  bool solicited(Stream& s, ConnId conn, std::pair<uint64_t, uint32_t> key, Timestamp now);

  Node& m_node;
  NearestUpstream m_nearest;
  UpstreamPolicy* m_policy = &m_nearest;
  struct Delayed {
    Timestamp at;
    ConnId conn;
    core::Frame frame;
  };
  std::deque<Delayed> m_delayed;
  core::PrivateKey m_key;
  core::Address m_address;
  std::map<core::StreamId, Stream> m_streams;
  std::unordered_map<std::size_t, core::StreamId> m_by_announcement; // hash of the held announcement's bytes
  uint64_t m_announcements_refused = 0, m_streams_evicted = 0;
  std::set<std::string> m_pending_watch; // names not yet announced
  std::map<core::StreamId, Timestamp> m_next_announce;

public:
  // ---- Leased interest (HLS viewers) ----
  // An HLS playlist request wants a stream only while requests keep coming: each
  // one renews a lease of kLease, and a lease not renewed for that long ends the
  // interest (the node unsubscribes unless subscribers still need the stream), so
  // a single request never makes a node carry and pay for a stream forever.
  // watch()/want() want a stream for good: no lease ends that. Time is `now`.
  static constexpr Duration kLease = 30s;
  void lease(const core::StreamId& id, Timestamp now);
  // Ends wanting `id` here, leased or not (it stays relayed while subscribers need it).
  void unwant(const core::StreamId& id, Timestamp now);

private:
  void expire_leases(Timestamp now);            // from tick()
  std::map<core::StreamId, Timestamp> m_leases; // leased streams -> when the lease ends
};

} // namespace openstreaming::agent
