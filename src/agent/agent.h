// Agent: the four modules around one memory (docs/agent.md).
//
//   Memory ── the model: profiles, self metrics, predictions and their errors
//   Empathy ── claims vs observations -> coherence, trust, shunning
//   Economics ── quote, admission, metering
//   PropagationEngine ── upstream choice (the StreamRouter's UpstreamPolicy)
//
// The Node drives it: observations come from the media path and the peer
// layer, the reflect step runs every `reflect_interval` (observe -> predict ->
// choose -> record -> learn), and the state message goes out every
// `empathy.state_interval`. No I/O.
#pragma once

#include "agent/economics/economics.h"
#include "agent/empathy/empathy.h"
#include "agent/memory/memory.h"
#include "agent/propagation/propagation.h"
#include "core/result.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace openstreaming::agent {

// Test and demo fault injection (--misbehave SPEC), active from `after`.
struct Misbehaviour {
  double corrupt = 0;      // corrupt:P   flip a byte in this fraction of forwarded parts
  double drop = 0;         // drop:P      do not forward this fraction of parts
  Duration delay{0};       // delay:MS    hold every forwarded part this long
  double lie_capacity = 1; // lie-capacity:F  claim F x the real upload capacity
  double overprice = 1;    // overprice:F     quote F x the fair price
  Duration after{0};       // after:S     start misbehaving S seconds after start
  bool any() const { return corrupt > 0 || drop > 0 || delay.count() > 0 || lie_capacity != 1 || overprice != 1; }
};
// "drop:0.3,after:10" -> Misbehaviour; errors name the bad item.
Result<Misbehaviour> parse_misbehaviour(std::string_view spec);

// Local topology adaptation (Node::adapt_topology): every `interval` the node
// judges each neighbour by the share of its media bytes (sent plus received)
// that neighbour carried, predicts the next share from that history (the
// memory's `neighbour_share` predictor), and replaces the neighbour predicted
// least useful with a candidate from its address book picked at random (a long
// link, small-world style). The first `diverse_peers` such picks are kept for
// diversity and not judged. Only a node that carries media adapts, only a
// neighbour older than `min_age`, not an upstream, backup or subscriber, and
// predicted below `useless_share`; and only while a wanted stream is served
// below `served_below` on time or diversity slots are free (so a well-served
// node does not churn its peers). At most one replacement per interval.
struct TopologyOptions {
  bool enabled = false; // off by default: measured not to help yet (docs/simulation.md)
  Duration interval = 20s;
  Duration min_age = 60s;
  double useless_share = 0.01;
  std::size_t diverse_peers = 2;
  double served_below = 0.95;
  Duration replaced_backoff = 600s; // a neighbour that replaced us is not redialled for this long
};

struct AgentOptions {
  bool enabled = true; // false: the plain NearestUpstream policy
  EmpathyOptions empathy;
  EconomicsOptions economics;
  PropagationOptions propagation;
  TopologyOptions topology;
  Duration reflect_interval = 2s;
  Duration snapshot_interval = 10s;
  // What we pay at most per MB: sent in Subscribe, and an acceptance quoting
  // more is refused. 1000 gwei/MB by default (about 800x the default quote);
  // nullopt (only if configured so) accepts any quote.
  std::optional<core::Amount> max_price_wei_per_mb = core::Amount::from_wei(1'000'000'000'000);
};

// What the node observed since the last reflect step: the agent's inputs.
struct Observation {
  double seconds = 0;                    // since the last step (at least 1 ms)
  uint64_t part_bytes_out = 0;           // media bytes sent since the last step
  uint64_t queue_bytes = 0;              // waiting in send queues now
  std::size_t subscribers = 0;           // downstream subscriptions now
  double overprice = 1;                  // quote multiplier (fault injection; 1 when honest)
  std::vector<core::Address> neighbours; // established sessions, candidates for shunning
};

// What the agent decided in one step.
struct Reflection {
  struct Shun {
    core::Address address;
    std::string reason;
  };
  std::vector<Shun> shun; // neighbours to disconnect (DisconnectReason::shunned)
};

struct Agent {
  explicit Agent(const AgentOptions& o)
      : options(o), empathy(memory, o.empathy), economics(memory, o.economics),
        propagation(memory, empathy, economics, o.propagation) {
    empathy.set_fair_price([this](uint32_t load_pct) { return economics.fair_quote(load_pct); });
  }
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;
  // One step of the loop for the node as a whole: observe (self metrics from
  // `o`), learn (last step's load prediction against the load now), predict
  // (the load at the next step), choose (the quote; trust and shunning from the
  // claims judged so far). Routes are reflected by the node's router with the
  // same memory. No I/O: `now` and `wall_ms` are the only clocks.
  Reflection reflect(const Observation& o, Timestamp now, int64_t wall_ms);

  AgentOptions options;
  Memory memory;
  Empathy empathy;
  Economics economics;
  PropagationEngine propagation;

private:
  Ewma m_load_ewma;
  std::optional<uint64_t> m_load_prediction;
};

} // namespace openstreaming::agent
