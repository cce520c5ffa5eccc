// The `gossip` baseline: a GossipSub-like push mesh, v1.1 defaults,
// no peer scoring, one topic per stream (viewers join their stream's topic,
// relays every topic, so relays carry every stream as they do for the agent). It is not an upstream policy — every node in the topic holds
// and forwards every part — so the simulator runs it itself (this class) over the same links (Network)
// (uplink serialisation, delay, jitter, loss), instead of the agent's router:
//
//   mesh      each subscribed node keeps D = 6 full-message peers among its graph
//             neighbours (GRAFT to add, PRUNE to drop; heartbeat every second
//             repairs below D_lo = 4 and trims above D_hi = 12)
//   push      a new, valid part goes to every mesh peer but the one it came from;
//             the broadcaster publishes to all its subscribed neighbours
//             (flood publish)
//   gossip    each heartbeat, IHAVE with the ids of the last 3 s of parts to
//             D_lazy = 6 subscribed non-mesh neighbours; IWANT asks for the
//             missing ones (once per second per id); the message cache answers
//             for 5 s
//   validate  a corrupted part is dropped by its receiver (content-addressed
//             ids, so a bad copy does not poison the good one); parts are checked
//             by identity in both crypto modes
//
// Adversaries apply their scenario behaviour to what they push and to IWANT
// answers: drop (and free-ride, covert-flash after start_s) with the drop
// fraction, delay, corrupt. lie-capacity and overprice have nothing to act on.
// Nobody is ever isolated: there is no scoring. Simulated by hand because no
// library simulates GossipSub on our link model.
#pragma once

#include "sim/diagnostics.h"
#include "sim/measurement.h"
#include "sim/network.h"
#include "sim/scenario.h"
#include "sim/scheduler.h"
#include "sim/sim_node.h"
#include "sim/sim_random.h"

#include <functional>
#include <vector>

namespace openstreaming::sim {

class Gossip {
public:
  // `adj` is the graph's adjacency, filled before the first join.
  Gossip(const Scenario& sc, Scheduler& sched, SimRandom& rng, SimNodes& nodes, Network& network, Measurement& meas,
         Diagnostics& diag, const std::vector<std::vector<uint32_t>>& adj);

  // Node i subscribes to `topic` (stream index; a fresh mesh) and starts its
  // heartbeat for it. A node that came back (a new generation) starts with no topics.
  void join(std::size_t i, std::size_t topic);
  // The broadcaster of `topic` publishes part `index` of it.
  void publish(std::size_t broadcaster, std::size_t topic, uint64_t index);

private:
  bool active(const SimNode& s) const; // its misbehaviour is on
  bool joined(std::size_t i, std::size_t topic) const;
  void send(std::size_t from, std::size_t to, std::size_t bytes, std::size_t payload, std::function<void()> on_arrival);
  void push(std::size_t from, std::size_t to, std::size_t topic, uint64_t index);
  void receive(std::size_t to, std::size_t from, std::size_t topic, uint64_t index, bool intact);
  void graft(std::size_t i, std::size_t peer, std::size_t topic);
  void heartbeat(std::size_t i, std::size_t topic, uint64_t generation);
  void ihave(std::size_t at_node, std::size_t from, std::size_t topic, const std::vector<uint64_t>& ids);

  const Scenario& m_sc;
  Scheduler& m_sched;
  SimRandom& m_rng;
  SimNodes& m_nodes;
  Network& m_network;
  Measurement& m_meas;
  Diagnostics& m_diag;
  const std::vector<std::vector<uint32_t>>& m_adj;
};

} // namespace openstreaming::sim
