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
// Where each piece lives: the stream record in stream.h, the window of parts
// and the HLS playlist in hls_window.h; announcements, parts, ending and leases
// in streams.cpp, routing and subscriptions in stream_routing.cpp, repair
// (fetches, resume, gaps and blame) in stream_repair.cpp.
//
// No I/O. Driven by Node through StreamHost (stream_host.h), the one way back
// out: frames to send, peers, options, the agent, metering; time comes in as
// `now`, wall-clock time through StreamHost::wall_ms.
#pragma once

#include "agent/stream.h"
#include "agent/stream_host.h"
#include "agent/upstream_policy.h"
#include "core/secp256k1.h"

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace openstreaming::agent {

class StreamRouter {
public:
  static constexpr std::size_t kSegmentWindow = SegmentWindow::kSegments; // segments kept per rendition
  static constexpr uint64_t kMaxWindowBytes = SegmentWindow::kMaxBytes;   // and payload bytes in all
  static constexpr uint32_t kMaxPartsPerSegment = 64;                     // a higher part index is malformed
  static constexpr Duration kAnnounceRefresh = 10s;
  // A relayed stream whose announcement has not been refreshed for this long is over.
  static constexpr Duration kAnnouncementExpiry = 4 * kAnnounceRefresh;
  // The tick re-evaluates a stream's upstream at least this often (events that
  // need an answer at once — a lost upstream, silence, an end — route at once).
  static constexpr Duration kRouteInterval = 500ms;
  // A node whose only routes are farther than its feasibility distance waits
  // this long without a route before it takes one of them (the retraction
  // reaches the nodes below it first).
  static constexpr Duration kHoldDown = 1s;
  // An ended stream nobody here needs is forgotten this long after its last announcement.
  static constexpr Duration kEndedRetention = 60s;
  // How long parts from a neighbour we unsubscribed from are still taken.
  static constexpr Duration kLeaveGrace = 10s;
  // Fetch requests we keep track of per stream (answers to others are unsolicited).
  static constexpr std::size_t kMaxFetchesAsked = 128;

  StreamRouter(StreamHost& host, const core::PrivateKey& key);
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
  // The agent's reflect step, for every stream in id order: hands `learn` the
  // stream's reflect window (Stream::window, then reset), re-routes each
  // relayed live stream that flows from an upstream, and then tells `routed`
  // about it (its upstream as now chosen).
  void reflect_routes(Timestamp now, const std::function<void(const Stream&, const Stream::Window&)>& learn,
                      const std::function<void(const Stream&)>& routed);
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
  // HLS media playlist of `rendition`'s complete segments in the window; nullopt if none yet.
  std::optional<std::string> playlist(const core::StreamId& id, std::string_view rendition = kSourceRendition) const;
  // A complete segment's bytes (its parts concatenated), or nullopt.
  std::optional<Bytes> segment_bytes(const core::StreamId& id, uint64_t sequence,
                                     std::string_view rendition = kSourceRendition) const;
  // One part's bytes (LL-HLS partial segment), or nullopt.
  std::optional<core::SharedSlice> part_bytes(const core::StreamId& id, uint64_t sequence, uint32_t part,
                                              std::string_view rendition = kSourceRendition) const;

private:
  void route(Stream& s, Timestamp now); // recompute hops and upstream; advertise changes
  void advertise(Stream& s);            // our hops to every neighbour
  bool on_have(ConnId conn, const core::Frame& f, Timestamp now);
  bool on_part(ConnId conn, const core::Address& from, const core::Frame& f, Timestamp now);
  bool on_announcement(ConnId conn, const core::Frame& f, Timestamp now);
  void store(Stream& s, const StoredPart& p);
  void forward(Stream& s, const core::Frame& f, std::optional<ConnId> except, Timestamp now);
  bool on_subscribe(ConnId conn, const core::Frame& f, Timestamp now);
  bool on_subscribe_result(ConnId conn, const core::Frame& f, Timestamp now);
  bool on_fetch(ConnId conn, const core::Frame& f, Timestamp now);
  void send_fetch(Stream& s, ConnId conn, const PartKey& key);
  void charge_missing(Stream& s, const core::Address& from, uint64_t n);
  void resume(Stream& s, ConnId conn, const PartKey& after, Timestamp now); // backfill a new subscriber
  void note_upstream_part(Stream& s, const core::Address& from, const core::PartInfo& info, double latency_ms,
                          Timestamp now);
  void announce(Stream& s, Timestamp now);
  // Stream caps (NodeOptions::max_streams, max_streams_per_broadcaster): false
  // when a new stream of `broadcaster` cannot be kept.
  bool make_room(const core::Address& broadcaster, Timestamp now);
  bool evictable(const Stream& s) const; // nobody here needs it
  void erase_stream(std::map<core::StreamId, Stream>::iterator it);
  void send_announcement(const Stream& s, ConnId conn);
  void end_locally(Stream& s, EndReason reason);
  // Subscribers that owe more than the credit limit are refused (payment_overdue).
  void drop_overdue(Stream& s, Timestamp now);
  void leave_upstream(Stream& s, Timestamp now); // the primary failed: avoid it, take the backup
  double upload_kbps() const;                    // what our subscribers take, at the streams' bitrates
  void shed_over_capacity(Timestamp now);        // refuses the newest subscribers beyond the uplink
  // An unasked SubscribeResult{accepted=false, reason} ending `conn`'s subscription to `s`.
  void send_refusal(const Stream& s, ConnId conn, const char* reason);
  void send_have(const Stream& s, ConnId conn);
  void send_subscription(Stream& s, ConnId conn, bool subscribe, Timestamp now);
  // Whether a part of `s` from `conn` answers a subscription or fetch of ours.
  bool solicited(Stream& s, ConnId conn, const PartKey& key, Timestamp now);

  StreamHost& m_host;
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
