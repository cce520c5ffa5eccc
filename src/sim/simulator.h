// The simulator (docs/simulation.md): the unchanged agent core — one
// agent::Node per simulated node, the same code the daemon runs — driven by a
// single-threaded discrete-event scheduler keyed by (time, sequence) over
// virtual links, with broadcasters, viewers, adversaries and churn from a
// Scenario. Same scenario and seed → the same events in the same order → the
// same summary (apart from `wall_s`, `peak_rss_mb`, `events_per_s` and
// `memory_per_node_kb`).
//
// Simulator is the composition: it builds the graph and the nodes, owns the
// scheduler and the pieces, drains each node's outputs into them, publishes the
// broadcasters' parts and settles payments. The pieces, each in its own file:
//   Scheduler        scheduler.h          the (time, sequence) event queue and the simulated clock
//   Network          network.h            links (link.h), connections, delivery of frames
//   Measurement      measurement.h        everything summary.json and timeseries.csv report
//   Diagnostics      diagnostics.h        why: trees, uplink load, duplicates and misses by cause
//   Churn            churn.h              kills, restarts, sybils' re-keying
//   CryptoCostModel  crypto_cost_model.h  crypto = "cost-model"
//   Gossip           gossip.h             the gossip baseline, run instead of the agent's router
//   SimLedger        sim_ledger.h         the embedded ledger's state machine ([payments])
// They share the per-node records (SimNode, sim_node.h) and reach back only
// through NodeHost (pump, start, watch, re-address), which Simulator implements.
#pragma once

#include "agent/node.h"
#include "sim/churn.h"
#include "sim/crypto_cost_model.h"
#include "sim/diagnostics.h"
#include "sim/gossip.h"
#include "sim/link.h"
#include "sim/measurement.h"
#include "sim/network.h"
#include "sim/scenario.h"
#include "sim/scheduler.h"
#include "sim/sim_ledger.h"
#include "sim/sim_node.h"
#include "sim/sim_random.h"
#include "sim/topology.h"

#include <nlohmann/json.hpp>

#include <array>
#include <functional>
#include <map>
#include <memory>
#include <vector>

namespace openstreaming::sim {

class Simulator final : private NodeHost {
public:
  explicit Simulator(Scenario scenario);
  ~Simulator() override;
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  // Builds the graph and the nodes. Errors for settings the simulator cannot run.
  Result<void> build();
  // Runs to duration_s; `progress` (if set) is called with the fraction done every simulated second.
  void run(const std::function<void(double fraction, uint64_t events)>& progress = {});

  nlohmann::json summary() const;
  std::string timeseries_csv() const { return m_meas.timeseries_csv(); }
  const std::vector<Sample>& samples() const { return m_meas.samples(); }
  // Latency of every part that reached a viewer, sorted (for the CDF).
  std::vector<double> latencies() const { return m_meas.latencies(); }
  std::vector<double> honest_earnings_ether() const { return m_meas.honest_earnings_ether(); }
  const Scenario& scenario() const { return m_sc; }
  std::size_t size() const { return m_nodes.size(); } // nodes in the run

private:
  friend class SimulatorPeer; // tests: the nodes and their roles
  class Sink;
  // NodeHost.
  void pump(std::size_t i) override;
  void start_node(std::size_t i) override;
  void watch(std::size_t i) override;
  void readdressed(std::size_t i, const core::Address& old) override;

  void on_transmit(std::size_t i, agent::Transmit t);
  void on_wake(std::size_t i, Timestamp t);
  void on_persist(std::size_t i, const agent::Payments::StoreOp& op);
  void on_redeem(std::size_t i, std::vector<pay::Winner> batch);
  Result<void> build_ledger();
  void ledger_block(); // seals a block and gives every node the ledger as it now is
  void publish(std::size_t stream);
  void each_second(); // the sample, the sybils it found burnt, the cost model's ageing
  bool gossip() const { return m_sc.strategy == "gossip"; }

  Scenario m_sc;
  SimRandom m_rng;
  Scheduler m_sched;
  Graph m_graph;
  std::vector<std::vector<uint32_t>> m_graph_adj;
  SimNodes m_nodes;
  std::map<core::Address, std::size_t> m_index_of;
  std::vector<std::size_t> m_broadcasters;
  std::vector<core::StreamId> m_stream_ids;
  std::vector<uint64_t> m_next_part;   // per stream
  std::unique_ptr<SimLedger> m_ledger; // [payments] enabled
  CryptoCostModel m_crypto;            // crypto = "cost-model"
  Measurement m_meas;
  Diagnostics m_diag;
  Network m_network;
  Churn m_churn;
  Gossip m_gossip;
  // The agents' learning over the run: per predictor, the summed absolute
  // error and outcome count of every live node at 1/3 and 2/3 of the run.
  struct ErrorSum {
    double abs = 0;
    uint64_t n = 0;
  };
  std::map<std::string, ErrorSum> prediction_errors() const;
  std::array<std::map<std::string, ErrorSum>, 2> m_errors_at;
};

} // namespace openstreaming::sim
