// Baseline upstream policies for the simulator's strategy comparison (issue #7),
// behind the same agent::UpstreamPolicy interface the agent's propagation engine
// implements. The agent's other modules still run (empathy rates neighbours,
// hostile ones are still shunned by the node core); only the route choice differs.
//   random   a uniformly random candidate, kept until it goes away
//   latency  the lowest RTT among candidates at most one hop farther than the nearest
//            (loop safety), re-chosen when another is 20 % lower; no scores
// While nothing flows both pick the nearest (fewest hops, then RTT), as every
// policy must: that choice only sets the distance the node advertises.
#pragma once

#include "agent/upstream_policy.h"

#include <memory>
#include <string>

namespace openstreaming::sim {

std::unique_ptr<agent::UpstreamPolicy> make_baseline(const std::string& name, uint64_t seed);

} // namespace openstreaming::sim
