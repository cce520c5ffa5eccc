// UpstreamPolicy: which neighbour a node takes a stream from (NearestUpstream is the simple
// policy; the agent's propagation engine implements the same interface).
//
// The router hands the policy every neighbour with a loop-free route to the
// producer that is nearer than the router's feasibility distance (its
// advertised hop count and our smoothed RTT to it) and the current upstream;
// the policy returns a primary and a backup (the router fills in a farther
// backup when the policy has none). The router
// subscribes to the primary and switches to the backup at once when the
// primary goes away, goes silent or sends bad parts.
//
// No I/O; deterministic for the same input.
#pragma once

#include "agent/peer_types.h"
#include "core/address.h"
#include "core/part.h"
#include "core/time.h"

#include <optional>
#include <span>

namespace openstreaming::agent {

struct UpstreamCandidate {
  ConnId conn = 0;
  uint32_t hops = 0; // the neighbour's distance to the producer
  double rtt_ms = 0; // ours to the neighbour (large if not measured yet)
  core::Address address;
};

// What the router knows about the stream when it asks.
struct RouteContext {
  Timestamp now{};
  int64_t now_ms = 0;
  double stream_kbps = 0;                   // observed bitrate (0: unknown yet)
  double part_ms = 0;                       // duration of a part (0: unknown yet)
  std::optional<double> current_latency_ms; // observed via the current upstream
  std::optional<double> current_on_time;    // fraction on time via the current upstream
  double current_delivery = 1;              // recent fraction of its parts the current upstream sent at all
  bool flowing = false;                     // we are subscribed: switching has a cost (hysteresis applies)
};

struct UpstreamChoice {
  std::optional<ConnId> primary;
  std::optional<ConnId> backup;
  bool feed_backup = false; // take the stream from the backup too (dual feed; duplicates are dropped)
  // The primary is kept only for want of another (it is not trusted): the
  // router then lifts the feasibility limit after a hold-down, so a farther
  // neighbour can replace it.
  bool leave = false;
};

class UpstreamPolicy {
public:
  virtual ~UpstreamPolicy() = default;
  // `candidates` may be empty; `current` is the present upstream (it may no
  // longer be among the candidates).
  virtual UpstreamChoice choose(const core::StreamId& stream, std::span<const UpstreamCandidate> candidates,
                                std::optional<ConnId> current, const RouteContext& context) = 0;
  virtual const char* name() const = 0;
};

// The rule-based policy: fewest hops, then lowest RTT; the current upstream is kept
// while no candidate is fewer hops away (no flapping on RTT noise); the backup
// is the best of the rest.
class NearestUpstream final : public UpstreamPolicy {
public:
  UpstreamChoice choose(const core::StreamId& stream, std::span<const UpstreamCandidate> candidates,
                        std::optional<ConnId> current, const RouteContext& context) override;
  const char* name() const override { return "nearest"; }
};

} // namespace openstreaming::agent
