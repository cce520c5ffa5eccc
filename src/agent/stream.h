// The stream record: what a node knows and holds of one live stream — its
// announcement and status, its route (upstream, backup, dual feed, the
// neighbours' hop counts), what it asked for and was asked, the evidence on
// its upstream, and the window of recent parts (docs/architecture.md).
// StreamRouter (streams.h) owns the records and is the only writer; APIs and
// the HLS server read them.
//
// No I/O.
#pragma once

#include "agent/hls_window.h"
#include "agent/memory/memory.h"
#include "agent/peer_types.h"
#include "core/nostr.h"
#include "core/part.h"
#include "core/time.h"

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace openstreaming::agent {

inline constexpr uint32_t kMaxHops = 32;
inline constexpr uint32_t kNoRoute = 0xffffffff;

enum class StreamStatus { live, ended };
// "live" | "ended": the announcement's status tag and the API's `status`.
const char* status_name(StreamStatus s);

enum class EndReason {
  none,    // live
  ended,   // the broadcaster said so (its announcement or end-of-stream part)
  stalled, // no parts while needed, or no route left
  expired, // its announcement was not refreshed
};
// "" for none, else the enumerator's name: the API's `end_reason`.
const char* end_reason_name(EndReason r);

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

// A neighbour's route to the producer, as its last Have told it.
struct AdvertisedRoute {
  uint32_t hops = kNoRoute;
  // Its upstream chain, nearest first, ending at the producer; complete when
  // it has `hops` entries (the producer's own, hops 0, is empty). Shorter:
  // unknown (a peer that does not send paths is on it).
  std::vector<core::Address> path;
  Timestamp since{}; // when it last changed
  bool path_known() const { return hops < kNoRoute && path.size() == hops; }
  // Whether the route is known to pass through `a`.
  bool through(const core::Address& a) const;
};

struct Stream {
  core::StreamId id{};
  std::string name;
  core::Address broadcaster;
  StreamStatus status = StreamStatus::live;
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
  EndReason end_reason = EndReason::none; // why it ended, `none` while live
  uint64_t upstream_switches = 0;
  // Observed through the current upstream (reset when it changes).
  Ewma upstream_latency;
  // The latency at which we have the stream's live parts, from any source and
  // across upstream changes: what our neighbour states say of us, so a relay
  // that just re-routed still states one.
  Ewma held_latency;
  // The newest source part it sent: the upstream is judged on the rendition we subscribe to.
  std::optional<std::pair<uint64_t, uint32_t>> last_from_upstream;
  int64_t last_end_pts_us = 0;
  uint32_t part_duration_us = 500'000; // as the parts say
  // Gaps excused: parts missing from our upstream that it says its own upstream
  // never gave it (its StateBody.gaps). Per upstream address.
  std::map<core::Address, uint64_t> blamed;    // missing parts charged to it, not yet excused
  std::map<core::Address, uint64_t> gaps_seen; // its last reported cumulative gap count
  // This reflect window (StreamRouter::reflect_routes hands it on and resets it): for predictions' outcomes.
  struct Window {
    uint64_t expected = 0, on_time = 0, parts = 0;
    double latency_sum = 0;
  } window;
  Ewma bitrate_kbps; // of the stream, from part sizes and durations
  // Repair: parts we asked a backup for, and parts neighbours asked us for.
  std::set<PartKey> fetched;
  std::map<PartKey, std::set<ConnId>> fetch_waiters;
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
  std::map<PartKey, std::set<ConnId>> fetch_asked;
  std::map<ConnId, AdvertisedRoute> haves; // neighbour -> its advertised route
  uint32_t hops = kNoRoute;                // ours
  std::vector<core::Address> path;         // ours: our upstream and its chain (path known when hops entries)
  // The feasibility distance: the fewest hops we have had since the last hold-down.
  uint32_t feasible = kNoRoute;
  std::optional<Timestamp> held_down_since; // no feasible route since then (farther ones wait)
  uint32_t advertised = kNoRoute;           // what our neighbours were last told (see advertise())
  std::vector<core::Address> advertised_path;
  std::set<ConnId> subscribers;
  SegmentWindow stored;   // recent parts of every rendition (the HLS server reads it)
  std::set<PartKey> seen; // recent parts, to drop duplicates (kept as long as the window holds their segment)
  StreamStats stats;
  std::map<std::string, uint64_t> invalid_by_neighbour; // address -> count (blame)

  bool ended() const { return status == StreamStatus::ended; }
  // `rendition`'s segments in the window.
  const Segments& segments(std::string_view rendition = kSourceRendition) const { return stored.segments(rendition); }
  // The newest part of `rendition` seen, nullopt if none.
  std::optional<PartKey> newest_seen(std::string_view rendition) const;
  // Forgets the keys (seen, fetched, asked, waited for) of parts older than
  // their rendition's window.
  void forget_before_window();
};

} // namespace openstreaming::agent
