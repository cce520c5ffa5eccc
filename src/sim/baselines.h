// Baseline upstream policies for the simulator's strategy comparison,
// behind the same agent::UpstreamPolicy interface the agent's propagation engine
// implements. The agent's other modules still run (empathy rates neighbours,
// hostile ones are still shunned by the node core); only the route choice differs.
//   random   a uniformly random candidate (among those at most one hop farther
//            than the nearest: loop safety), kept until it goes away
//   latency  the lowest RTT among candidates at most one hop farther than the nearest
//            (loop safety), re-chosen when another is 20 % lower; no scores
//   stake-weighted  Livepeer's orchestrator selection: among the price-acceptable
//            candidates (within one hop of the nearest), probability 0.7 x stake
//            share + 0.3 x uniform; kept until
//            it goes (the router's failover still applies)
// (`gossip` is not an upstream policy: the simulator runs it as its own push mesh.)
// While nothing flows both pick the nearest (fewest hops, then RTT), as every
// policy must: that choice only sets the distance the node advertises.
#pragma once

#include "agent/upstream_policy.h"

#include <functional>
#include <memory>
#include <string>

namespace openstreaming::sim {

// What a baseline may know beyond the candidates (the stake-weighted one).
struct BaselineContext {
  std::function<double(const core::Address&)> stake;  // bonded stake of a node (any unit)
  std::function<bool(const core::Address&)> price_ok; // its quote is within the node's limit
};

// nullptr for a name that is not an upstream policy.
std::unique_ptr<agent::UpstreamPolicy> make_baseline(const std::string& name, uint64_t seed,
                                                     BaselineContext context = {});

} // namespace openstreaming::sim
