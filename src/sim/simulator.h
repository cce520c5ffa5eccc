// The simulator (docs/simulation.md): the unchanged agent core — one
// agent::Node per simulated node, the same code the daemon runs — driven by a
// single-threaded discrete-event scheduler keyed by (time, sequence) over
// virtual links (src/sim/link.h), with broadcasters, viewers, adversaries and
// churn from a Scenario. Same scenario and seed → the same events in the same
// order → the same summary (apart from `wall_s` and `peak_rss_mb`).
//
// What it measures (summary.json, timeseries.csv; docs/simulation.md defines each):
// continuity, latency, join time, duplicates, control overhead, cost per viewer
// hour, the Gini coefficient of honest earnings, how fast adversaries are
// isolated, the agents' prediction error, events, wall time and memory.
#pragma once

#include "agent/node.h"
#include "sim/link.h"
#include "sim/scenario.h"
#include "sim/sim_ledger.h"
#include "sim/topology.h"

#include <nlohmann/json.hpp>

#include <array>
#include <deque>
#include <functional>
#include <memory>
#include <queue>
#include <random>
#include <unordered_map>
#include <vector>

namespace openstreaming::sim {

// The simulator's own randomness (topology, keys, seeds, every frame's jitter
// and loss): std::mt19937_64, whose output the standard fixes, so a seed gives
// the same run everywhere; a draw costs nanoseconds where
// core::DeterministicRandom hashes (SHA-256) — it ran for every frame.
class SimRandom final : public core::RandomSource {
public:
  explicit SimRandom(uint64_t seed) : m_engine(seed) {}
  void fill(std::span<uint8_t> out) override {
    for (std::size_t i = 0; i < out.size(); i += 8) {
      uint64_t v = m_engine();
      for (std::size_t k = 0; k < 8 && i + k < out.size(); ++k) out[i + k] = static_cast<uint8_t>(v >> (8 * k));
    }
  }

private:
  std::mt19937_64 m_engine;
};

// The crypto cost model (crypto = "cost-model"). Signed neighbour states are
// signed with a token instead of a curve signature: the token names an entry
// in this table (digest, signer), so "recovering" it is a lookup and a token
// that is not in the table, or names another digest, fails like a forged
// signature. Announcements are checked for real once per distinct signed
// bytes, a repeat answered from a table. Two generations of each, the older
// dropped on age(): a signed message is not delivered ~10 s after it was made.
class CryptoCostModel {
public:
  core::RecoverableSignature sign_state(const Hash256& digest, const core::Address& signer);
  Result<core::Address> recover_state(const Hash256& digest, const core::RecoverableSignature& token) const;
  template <class F>
  bool event(const std::string& key, F&& check) {
    for (auto& g : m_events) {
      if (auto it = g.find(key); it != g.end()) return it->second;
    }
    bool ok = check();
    m_events[0].emplace(key, ok);
    return ok;
  }
  void age() {
    m_states[1] = std::move(m_states[0]);
    m_states[0].clear();
    m_events[1] = std::move(m_events[0]);
    m_events[0].clear();
  }

private:
  struct Signed {
    Hash256 digest;
    core::Address signer;
  };
  uint64_t m_next_token = 1;
  std::array<std::unordered_map<uint64_t, Signed>, 2> m_states;
  std::array<std::unordered_map<std::string, bool>, 2> m_events;
};

struct Sample { // one simulated second
  double t = 0;
  double continuity = 1;          // parts due this second that were played on time / due (viewers)
  double latency_p50_ms = 0;      // of the parts that reached viewers this second
  double adversary_coherence = 1; // mean score honest neighbours give adversaries (1: none)
  double honest_coherence = 1;    // mean score honest nodes give each other
  uint64_t viewers_playing = 0;   // viewers that received a part this second
  uint64_t events = 0;            // cumulative
};

class Simulator {
public:
  explicit Simulator(Scenario scenario);
  ~Simulator();
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  // Builds the graph and the nodes. Errors for settings the simulator cannot run.
  Result<void> build();
  // Runs to duration_s; `progress` (if set) is called with the fraction done every simulated second.
  void run(const std::function<void(double fraction, uint64_t events)>& progress = {});

  nlohmann::json summary() const;
  std::string timeseries_csv() const;
  const std::vector<Sample>& samples() const { return m_samples; }
  // Latency of every part that reached a viewer, sorted (for the CDF).
  std::vector<double> latencies() const;
  std::vector<double> honest_earnings_ether() const;
  // For tests: the nodes and their roles.
  std::size_t size() const { return m_nodes.size(); }
  agent::Node& node(std::size_t i);
  bool is_adversary(std::size_t i) const;
  bool is_viewer(std::size_t i) const;
  const Scenario& scenario() const { return m_sc; }
  // Changes a link's parameters mid-run (both directions).
  void set_link(std::size_t a, std::size_t b, const LinkParams& p);

  struct SimNode;

private:
  struct Ev {
    Timestamp t;
    uint64_t seq;
    std::function<void()> fn;
    bool operator>(const Ev& o) const { return t != o.t ? t > o.t : seq > o.seq; }
  };
  struct Conn {
    std::size_t peer;
    agent::ConnId peer_conn;
    std::size_t link; // index into m_links
    bool forward;     // direction: a -> b
  };
  struct Link {
    std::size_t a, b;
    LinkParams params;
    LinkDirection ab, ba;
  };
  struct PartMeta {
    uint64_t index; // global part number of its stream
    std::size_t stream;
    Timestamp published;
  };

  void at(Timestamp t, std::function<void()> fn);
  class Sink;
  void pump(std::size_t i);
  void on_transmit(std::size_t i, agent::Transmit t);
  void on_connect(std::size_t i, const agent::ConnectRequest& c);
  void on_close(std::size_t i, const agent::CloseRequest& c);
  void on_wake(std::size_t i, Timestamp t);
  void on_persist(std::size_t i, const agent::Payments::StoreOp& op);
  void on_redeem(std::size_t i, std::vector<pay::Winner> batch);
  Result<void> build_ledger();
  void ledger_block(); // seals a block and gives every node the ledger as it now is
  nlohmann::json payments_summary() const;
  void deliver(std::size_t from, agent::ConnId conn, core::Frame frame);
  void start_node(std::size_t i);
  void kill_node(std::size_t i);
  void publish(std::size_t stream);
  void sample_second();
  void churn();
  void record_part(std::size_t to, const core::Frame& f);
  nlohmann::json events_by_kind() const;
  bool record_arrival(std::size_t to, const PartMeta& pm); // false: a duplicate
  void restart_node(std::size_t i);                // a new agent node with its current key, started (and watching)
  core::U256 earnings_wei(const SimNode& s) const; // metered earnings (gossip: bytes moved at the idle quote)
  void watch(std::size_t i);                       // a viewer asks for its stream
  void rekey(std::size_t i);                       // a sybil comes back as a new identity
  // The gossip baseline (gossip.cpp).
  bool gossip_active(const SimNode& s) const; // its misbehaviour is on
  void gossip_send(std::size_t from, std::size_t to, std::size_t bytes, std::size_t payload,
                   std::function<void()> on_arrival);
  void gossip_push(std::size_t from, std::size_t to, uint64_t index);
  void gossip_receive(std::size_t to, std::size_t from, uint64_t index, bool intact);
  void gossip_publish(std::size_t broadcaster, uint64_t index);
  void gossip_graft(std::size_t i, std::size_t peer);
  void gossip_join(std::size_t i);
  void gossip_heartbeat(std::size_t i, uint64_t generation);
  void gossip_ihave(std::size_t at_node, std::size_t from, const std::vector<uint64_t>& ids);
  bool gossip() const { return m_sc.strategy == "gossip"; }
  double seconds(Timestamp t) const { return to_seconds(t - m_t0); }

  Scenario m_sc;
  SimRandom m_rng;
  Graph m_graph;
  std::vector<std::unique_ptr<SimNode>> m_nodes;
  std::vector<Link> m_links;
  std::map<std::pair<std::size_t, std::size_t>, std::size_t> m_link_of; // (min, max) -> link
  std::vector<std::unordered_map<agent::ConnId, Conn>> m_conns;         // per node: its connection -> the other end
  std::priority_queue<Ev, std::vector<Ev>, std::greater<>> m_queue;
  uint64_t m_seq = 0;
  uint64_t m_events = 0;
  Timestamp m_t0, m_now;
  std::vector<std::size_t> m_broadcasters;
  std::vector<core::StreamId> m_stream_ids;
  std::vector<uint64_t> m_next_part; // per stream
  // The last parts published, kept alive so that their payload addresses are
  // theirs alone: a payload is an original exactly when its address is here.
  std::unordered_map<const void*, PartMeta> m_meta; // payload data -> which part
  std::deque<core::SharedSlice> m_live_parts;
  std::vector<std::vector<std::pair<uint64_t, Timestamp>>> m_published; // per stream: (index, time)
  std::map<core::Address, std::size_t> m_index_of;
  std::unique_ptr<SimLedger> m_ledger;  // [payments] enabled
  CryptoCostModel m_crypto;             // crypto = "cost-model"
  std::vector<double> m_past_isolation; // sybils: how long each identity they dropped lasted
  // Measurements.
  uint64_t m_part_frames = 0, m_duplicate_frames = 0, m_invalid_frames = 0;
  uint64_t m_media_bytes = 0, m_control_bytes = 0;
  agent::FrameCounters m_frames;        // agent frames sent, by wire type
  uint64_t m_timeouts = 0;              // agent timer events
  std::vector<double> m_viewer_latency; // every first arrival at a viewer, ms
  std::vector<double> m_second_latency; // this second's
  std::vector<Sample> m_samples;
  uint64_t m_due_total = 0, m_played_total = 0;
  std::vector<std::vector<uint32_t>> m_graph_adj;
  double m_churn_carry = 0;
  double m_wall_s = 0;
  uint64_t m_rss_before_kb = 0, m_rss_after_build_kb = 0;
};

} // namespace openstreaming::sim
