// Propagation engine (docs/agent.md): whom to take each stream
// from. Implements UpstreamPolicy, so the StreamRouter asks it instead of the
// simple NearestUpstream.
//
// Each candidate upstream (a neighbour with a loop-free route) gets a value in
// [0, 1]:
//
//   value = (w_l latency + w_b bandwidth + w_$ economics + w_e empathy) x delivery
//
// The weights start at 0.3/0.3/0.2/0.2 and, with learn_weights (off by default),
// are adapted per node from outcomes (learn()): after each reflect window the
// route taken is scored by what it delivered, on-time ratio x 1/(1 + L/250 ms)
// with L its measured latency, and each weight moves by a least-mean-squares
// step, rate x (outcome - predicted value) x component x delivery; then each is
// clamped to [w_min, w_max] and the four renormalised to sum 1. A component
// that looked good on routes that then delivered badly loses weight. It is
// deterministic (no randomness), bounded, and starts over at a restart.
//
//   latency    1 / (1 + L / 250 ms), L the predicted glass-to-glass latency via
//              it: observed for the current upstream; else its stated latency
//              for the stream + RTT/2 + the per-hop overhead seen on the current
//              route; else the current route's latency scaled by (hops + 1);
//              with no route yet, (hops + 1) x (RTT/2 + 5 ms)
//   bandwidth  min(1, spare / (4 x stream bitrate)); spare = its burst rate seen
//              by us, else its claimed capacity x (1 - load); 0.5 when unknown
//   economics  min(1, expected quote / its quote); 0.5 when it states none
//   empathy    its coherence score
//   delivery   its on-time ratio with us (1 if we never used it): a route that
//              loses 30 % of parts is worth 30 % less, whatever else it offers
//
// Rules around the score: shunned neighbours are never candidates; incoherent
// ones are not taken as new routes (only kept when nothing else exists); a
// current upstream that became incoherent is replaced at once; otherwise the
// engine re-parents only when a candidate beats the current value by the
// hysteresis margin (0.1) and the current route has been held for min_dwell
// (5 s). While nothing flows (we carry the stream for no one yet) the route
// only decides the distance we advertise, so it is simply the nearest
// candidate; scoring decides from the moment we subscribe. The two next best are the backups. Loops are impossible by
// construction: candidates come from the distance vector with poisoned
// reverse, and a neighbour we serve the stream to is never a candidate.
#pragma once

#include "agent/economics/economics.h"
#include "agent/empathy/empathy.h"
#include "agent/upstream_policy.h"

#include <map>
#include <string>
#include <vector>

namespace openstreaming::agent {

struct RouteWeights {
  double latency = 0.3, bandwidth = 0.3, economics = 0.2, empathy = 0.2;
};

struct PropagationOptions {
  double w_latency = 0.3, w_bandwidth = 0.3, w_economics = 0.2, w_empathy = 0.2;
  bool learn_weights = false; // off by default: measured to hurt on scarce uplinks (docs/simulation.md)
  double learning_rate = 0.05;
  double w_min = 0.05, w_max = 0.6;
  double hysteresis = 0.1;
  Duration min_dwell = 5s;
  double latency_ref_ms = 250; // half score at this latency
  double headroom = 4.0;       // spare bandwidth of this many stream bitrates scores 1
  // Dual feed: the backup feeds us too while the upstream is new (held less than
  // this) or has lately sent fewer than `dual_below` of the parts at all. On by
  // default in the daemon and the simulator alike (docs/agent.md).
  bool dual_feed = true;
  Duration dual_after_switch = 5s;
  double dual_below = 0.95;
};

struct CandidateScore {
  ConnId conn = 0;
  core::Address address;
  uint32_t hops = 0;
  double rtt_ms = 0;
  double predicted_latency_ms = 0;
  double latency = 0, bandwidth = 0, economics = 0, empathy = 0, delivery = 1;
  double value = 0;
  NeighbourStatus status = NeighbourStatus::trusted;
};

struct RouteInfo {
  std::vector<CandidateScore> candidates; // by value, best first
  std::optional<core::Address> primary;
  std::vector<core::Address> backups;
  int64_t last_switch_ms = 0;
  std::string last_switch_reason;
  uint64_t switches = 0;
  std::optional<ConnId> primary_conn;
  Timestamp held_since{};
  bool dual = false; // the backup feeds us too
};

class PropagationEngine final : public UpstreamPolicy {
public:
  PropagationEngine(Memory& memory, Empathy& empathy, Economics& economics, PropagationOptions options)
      : m_memory(memory), m_empathy(empathy), m_economics(economics),
        m_o(options), m_w{options.w_latency, options.w_bandwidth, options.w_economics, options.w_empathy} {}

  UpstreamChoice choose(const core::StreamId& stream, std::span<const UpstreamCandidate> candidates,
                        std::optional<ConnId> current, const RouteContext& context) override;
  const char* name() const override { return "agent"; }

  const std::map<core::StreamId, RouteInfo>& routes() const { return m_routes; }
  void forget(const core::StreamId& stream) { m_routes.erase(stream); }
  const PropagationOptions& options() const { return m_o; }
  // The weights in use (the configured ones until learn() moves them).
  const RouteWeights& weights() const { return m_w; }
  // One outcome of a route taken: `taken` is how it was scored when chosen,
  // `outcome` what it delivered, in [0, 1] (see above). No-op unless learn_weights.
  void learn(const CandidateScore& taken, double outcome);
  uint64_t weight_updates() const { return m_weight_updates; }
  CandidateScore score(const core::StreamId& stream, const UpstreamCandidate& c, bool is_current,
                       const RouteContext& ctx) const;

private:
  static std::optional<double> stated_latency(const core::StreamId& stream, const NeighbourProfile* p);
  Memory& m_memory;
  Empathy& m_empathy;
  Economics& m_economics;
  PropagationOptions m_o;
  RouteWeights m_w;
  uint64_t m_weight_updates = 0;
  std::map<core::StreamId, RouteInfo> m_routes;
  // Set by choose() from the current route, used by score().
  std::optional<uint32_t> m_current_hops;
  double m_hop_overhead_ms = 0;
};

} // namespace openstreaming::agent
