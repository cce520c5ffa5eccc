// Why a strategy delivers what it does (docs/simulation.md, "Diagnostics"):
// the shape of the trees the upstream choices build — hops from the broadcaster
// per viewer, subscribers per upstream, how often nodes re-parent — how loaded
// the uplinks are, the duplicates a node receives by where they came from, and
// each due part a viewer missed at its deadline by cause. summary.json's
// "diagnostics".
//
// It observes and never schedules, like Measurement: the network reports sends
// and arrivals, Measurement reports misses, the composition calls sample()
// every few simulated seconds. Memory is bounded whatever the run's length:
// distributions are fixed histograms, per-node state is a few counters.
// Single-threaded.
#pragma once

#include "agent/node.h"
#include "sim/scenario.h"
#include "sim/scheduler.h"
#include "sim/sim_node.h"

#include <nlohmann/json.hpp>

#include <array>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace openstreaming::sim {

// Counts in fixed buckets; quantiles read back as a bucket's upper bound.
class Histogram {
public:
  explicit Histogram(std::vector<double> upper_bounds); // ascending; a last bucket above them all is added
  void add(double v, uint64_t n = 1);
  uint64_t count() const { return m_total; }
  double mean() const { return m_total ? m_sum / static_cast<double>(m_total) : 0; }
  double max() const { return m_max; }
  // The smallest bucket bound with at least q of the values at or below it
  // (the largest value seen for the top bucket); 0 when empty.
  double quantile(double q) const;

private:
  std::vector<double> m_bounds;
  std::vector<uint64_t> m_counts;
  uint64_t m_total = 0;
  double m_sum = 0, m_max = 0;
};

class Diagnostics {
public:
  // Why a due part was not played at its deadline.
  enum class Miss { late, no_route, loop, upstream_dead, saturated_path, in_flight };
  // How a viewer's chain of upstream pointers ends.
  enum class Chain { complete, no_upstream, dead, loop };

  Diagnostics(const Scenario& sc, const SimNodes& nodes, const Scheduler& sched);
  // What the composition provides: each stream's id, and the node at the other
  // end of a node's connection (nullopt when it has none such).
  void set_streams(const std::vector<core::StreamId>* ids) { m_ids = ids; }
  void set_peer_lookup(std::function<std::optional<std::size_t>(std::size_t, agent::ConnId)> f) {
    m_peer = std::move(f);
  }

  // A frame of `bytes` left `from`, after waiting `queued` behind earlier
  // frames on its uplink.
  void sent(std::size_t from, std::size_t bytes, bool part, Duration queued);
  // A part of `stream` reached `to` over its connection `conn`; `duplicate`: it had it.
  void part_arrived(std::size_t to, agent::ConnId conn, std::size_t stream, bool duplicate);
  // The gossip baseline: a part a node had already came from a mesh peer.
  void duplicate_from_peer() { ++m_dup_other; }
  // A part due at viewer `viewer` was not played by its deadline; `late`: it
  // had arrived, after the deadline. Otherwise the cause is read from the
  // viewer's route as it stands now.
  void missed(std::size_t viewer, bool late);
  // The trees as they stand: depth per viewer, subscribers per upstream, re-parenting.
  void sample();
  // Every second: the agent's upstream switches since the last call, by the
  // reason its propagation engine gave (a switch is attributed to the last
  // reason of its node's route when several fall in one second).
  void sample_switches();

  nlohmann::json summary(double duration_s) const;

private:
  const agent::Stream* stream_of(std::size_t i) const;
  struct Walk {
    Chain end = Chain::complete;
    uint32_t hops = 0;      // to the broadcaster, or to where the chain broke
    bool saturated = false; // an uplink on the way is a part or more behind
  };
  // Follows node i's upstream pointers to its stream's broadcaster.
  Walk walk(std::size_t i) const;
  Miss cause(std::size_t viewer) const;
  bool agent_routes() const { return m_sc.strategy != "gossip"; }

  const Scenario& m_sc;
  const SimNodes& m_nodes;
  const Scheduler& m_sched;
  const std::vector<core::StreamId>* m_ids = nullptr;
  std::function<std::optional<std::size_t>(std::size_t, agent::ConnId)> m_peer;
  std::vector<uint64_t> m_bytes_sent;            // per node
  std::vector<uint64_t> m_switches_seen;         // per node: Stream::upstream_switches at the last sample
  uint64_t m_switches = 0, m_routed_samples = 0; // re-parentings seen; node-samples with a route
  Histogram m_queue_ms, m_depth, m_subscribers;
  uint64_t m_samples = 0, m_viewer_samples = 0;
  std::array<uint64_t, 4> m_chains{}; // viewer samples by how their chain ended (Chain)
  uint64_t m_dup_upstream = 0, m_dup_second = 0, m_dup_other = 0;
  std::array<uint64_t, 6> m_missed{};
  std::vector<uint64_t> m_engine_seen;       // per node: the engine's switch count at the last call
  std::map<std::string, uint64_t> m_reasons; // switch reason -> switches
};

} // namespace openstreaming::sim
