// What a run measures (summary.json, timeseries.csv; docs/simulation.md
// defines each): continuity, latency, join time, duplicates, control overhead,
// cost per viewer hour, the Gini coefficient of honest earnings, how fast
// adversaries are isolated, the agents' prediction error, events, wall time and
// memory. It also keeps the reference those are measured against: when each
// part was published, and which payload buffers are the originals (a part is
// genuine exactly when its payload is one of them).
//
// It observes and never schedules: the network reports what crossed a link and
// what arrived, the composition calls sample_second() once per simulated second.
// Single-threaded, like the rest of the simulator.
#pragma once

#include "core/frame.h"
#include "sim/scenario.h"
#include "sim/scheduler.h"
#include "sim/sim_node.h"

#include <nlohmann/json.hpp>

#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace openstreaming::sim {

class SimLedger;

struct Sample { // one simulated second
  double t = 0;
  double continuity = 1;          // parts due this second that were played on time / due (viewers)
  double latency_p50_ms = 0;      // of the parts that reached viewers this second
  double adversary_coherence = 1; // mean score honest neighbours give adversaries (1: none)
  double honest_coherence = 1;    // mean score honest nodes give each other
  uint64_t viewers_playing = 0;   // viewers that received a part this second
  uint64_t events = 0;            // cumulative
};

struct PartMeta {
  uint64_t index; // global part number of its stream
  std::size_t stream;
  Timestamp published;
};

class Measurement {
public:
  Measurement(const Scenario& sc, const SimNodes& nodes, const Scheduler& sched);

  // Memory before and after the nodes are built (memory_per_node_kb).
  void mark_before_build();
  void mark_after_build();
  void set_wall_s(double s) { m_wall_s = s; }

  // ---- The reference: what was published.
  void start_streams(std::size_t streams);
  void published(std::size_t stream, uint64_t index, Timestamp at) { m_published[stream].emplace_back(index, at); }
  Timestamp published_at(std::size_t stream, uint64_t index) const { return m_published[stream][index].second; }
  // Keeps `payload` as part `pm`'s original; the oldest beyond 64 per stream are forgotten.
  void keep_original(const core::SharedSlice& payload, const PartMeta& pm, std::size_t streams);
  bool is_original(const void* payload_data) const { return m_meta.count(payload_data) != 0; }

  // ---- What the network reports.
  // A frame of `wire` bytes left a node; a part carries `payload` bytes of media.
  void count_bytes(bool part, std::size_t wire, std::size_t payload) {
    if (part) {
      ++m_part_frames;
      m_media_bytes += payload;
      m_control_bytes += wire - payload;
    } else {
      m_control_bytes += wire;
    }
  }
  void count_frame_type(uint16_t type, std::size_t wire) { m_frames.add(type, wire); }
  void count_timeout() { ++m_timeouts; }
  void count_invalid() { ++m_invalid_frames; }
  // An agent part frame reached node `to` (an unknown payload counts as
  // invalid): which stream it is of and whether `to` had it already; nullopt
  // for an invalid one.
  struct Arrival {
    std::size_t stream;
    bool duplicate;
  };
  std::optional<Arrival> record_part(std::size_t to, const core::Frame& f);
  // Told of every due part a viewer did not play by its deadline: the viewer,
  // and whether the part had arrived (late) or not (Diagnostics classifies it).
  std::function<void(std::size_t viewer, bool late)> on_miss;
  // Part `pm` reached node `to`; false: it had it already (a duplicate).
  bool record_arrival(std::size_t to, const PartMeta& pm);
  // Moves a joined viewer's first due part past those published within the
  // join allowance (until a part was judged); returns the first due index.
  uint64_t skip_join_allowance(SimNode& s) const;

  // ---- Once per simulated second: continuity, latency, coherence, isolation.
  // Returns the adversaries isolated this second, in index order.
  std::vector<std::size_t> sample_second(const std::vector<std::vector<uint32_t>>& adj);
  // Node i's identity is gone (a sybil re-keys): its isolation time is kept.
  void retire_identity(SimNode& s);

  // ---- Outputs.
  nlohmann::json summary(uint64_t parts_published, const SimLedger* ledger) const;
  std::string timeseries_csv() const;
  const std::vector<Sample>& samples() const { return m_samples; }
  std::vector<double> latencies() const; // sorted
  std::vector<double> honest_earnings_ether() const;

private:
  core::U256 earnings_wei(const SimNode& s) const; // metered earnings (gossip: bytes moved at the idle quote)
  nlohmann::json events_by_kind() const;
  nlohmann::json payments_summary(const SimLedger& ledger) const;
  bool gossip() const { return m_sc.strategy == "gossip"; }

  const Scenario& m_sc;
  const SimNodes& m_nodes;
  const Scheduler& m_sched;
  std::vector<std::vector<std::pair<uint64_t, Timestamp>>> m_published; // per stream: (index, time)
  // The last parts published, kept alive so that their payload addresses are
  // theirs alone: a payload is an original exactly when its address is here.
  std::unordered_map<const void*, PartMeta> m_meta; // payload data -> which part
  std::deque<core::SharedSlice> m_live_parts;
  std::vector<double> m_past_isolation; // sybils: how long each identity they dropped lasted
  uint64_t m_part_frames = 0, m_duplicate_frames = 0, m_invalid_frames = 0;
  uint64_t m_media_bytes = 0, m_control_bytes = 0;
  agent::FrameCounters m_frames;        // agent frames sent, by wire type
  uint64_t m_timeouts = 0;              // agent timer events
  std::vector<double> m_viewer_latency; // every first arrival at a viewer, ms
  std::vector<double> m_second_latency; // this second's
  std::vector<Sample> m_samples;
  uint64_t m_due_total = 0, m_played_total = 0;
  double m_wall_s = 0;
  uint64_t m_rss_before_kb = 0, m_rss_after_build_kb = 0;
};

} // namespace openstreaming::sim
