// The simulator's per-node record (internal to src/sim): the agent node and
// what the simulator measures and models around it, shared by the pieces of
// the simulator (network, measurement, churn, gossip), and NodeHost, what those
// pieces ask of the composition that owns the nodes (Simulator).
#pragma once

#include "agent/environment.h"
#include "agent/node.h"

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace openstreaming::sim {

inline double unit(core::RandomSource& rng) {
  return static_cast<double>(rng.next_u64() >> 11) / 9007199254740992.0;
}

// A simulated node's host name: n<index> (its listen endpoint is n<index>:7000).
inline std::string host_of(std::size_t i) {
  std::string h(1, 'n');
  h += std::to_string(i);
  return h;
}

// The gossip baseline's state of one node (src/sim/gossip.h): one topic per
// stream, each with its own mesh and message cache.
struct GossipTopic {
  bool joined = false;                               // subscribed to the topic (in its mesh)
  std::vector<uint32_t> mesh;                        // full-message peers
  std::deque<std::pair<uint64_t, Timestamp>> mcache; // (part index, when received), oldest first
  std::vector<Timestamp> asked;                      // per part index: when we last sent IWANT for it
};
struct GossipState {
  std::vector<GossipTopic> topics; // per stream; reset when the node comes back (a new generation)
  uint64_t generation = 0;         // the node's life these topics belong to
  uint64_t served_bytes = 0;       // part payload bytes it sent, over all its lives
  bool joined(std::size_t topic) const { return topic < topics.size() && topics[topic].joined; }
};

struct SimNode {
  enum class Role { relay, viewer, broadcaster };
  std::optional<core::PrivateKey> key; // set in build()
  core::Address address;               // key's
  agent::NodeOptions options;
  std::unique_ptr<agent::DeterministicEnvironment> env;
  std::unique_ptr<agent::Node> node;
  std::unique_ptr<agent::UpstreamPolicy> policy; // baselines only
  Role role = Role::relay;
  int adversary = -1;
  std::size_t stream = 0; // the stream a viewer watches / a broadcaster produces
  bool alive = false;
  uint64_t generation = 0; // bumped on every kill: events for an earlier life are dropped
  std::optional<Timestamp> wake;
  double bandwidth_bps = 50e6;
  double stake = 1; // bonded stake (the stake-weighted baseline's input)
  Timestamp uplink_busy{};
  // Viewer measurements.
  std::optional<Timestamp> joined, first_part;
  std::vector<int32_t> arrival_ms;     // per part index of its stream: ms after publication, -1: not yet
  uint64_t next_due = 0;               // next part index to judge for continuity
  std::optional<uint64_t> start_index; // playback starts with the first part received
  std::optional<uint64_t> first_due;   // the first part judged (received or not)
  double last_arrival_s = -1;
  // Duplicates: parts of each stream this node has seen.
  std::vector<std::vector<uint8_t>> have;
  std::optional<double> isolated_at; // adversaries: when most honest neighbours with evidence distrust it
  bool judged = false;               // some honest neighbour has had evidence about it
  double identity_since = 0;         // when its current identity appeared (sybils re-key)
  GossipState gossip;
  // Payments: the winners this node holds, as its SQLite store would (kept
  // across a restart, dropped with the key when a sybil re-keys).
  std::map<Hash256, pay::Winner> winners;
};

using SimNodes = std::vector<std::unique_ptr<SimNode>>;

// What the simulator's pieces ask of the composition that owns the agent nodes.
class NodeHost {
public:
  virtual ~NodeHost() = default;
  // Takes node i's outputs (agent::drain) after an input; a dead node's are left.
  virtual void pump(std::size_t i) = 0;
  // Node i is alive: its agent node started (or, under gossip, joined the mesh).
  virtual void start_node(std::size_t i) = 0;
  // Viewer i asks for its stream.
  virtual void watch(std::size_t i) = 0;
  // Node i has a new key; `old` is the address it had.
  virtual void readdressed(std::size_t i, const core::Address& old) = 0;
};

} // namespace openstreaming::sim
