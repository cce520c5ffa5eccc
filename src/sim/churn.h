// Churn: nodes that leave and come back. Scheduled churn (leave_per_min of the
// nodes a minute, back after rejoin_s) and the sybils' re-keying both go
// through here, as do a node's death and its restart.
//
// Guarantees: a killed node's pending events are dropped (its generation
// moves on) and its neighbours hear the close 20 ms later; a restarted node is a
// new agent::Node on the same key and options with the winners it had stored
// (as its SQLite store would keep them), started, and watching again if it is
// a viewer; a re-keyed node comes back 5 s after it was burnt under a fresh key,
// without the old key's winners. Broadcasters never churn. The nodes to kill
// are drawn from the simulator's seeded source.
#pragma once

#include "sim/measurement.h"
#include "sim/network.h"
#include "sim/scenario.h"
#include "sim/scheduler.h"
#include "sim/sim_node.h"
#include "sim/sim_random.h"

namespace openstreaming::sim {

class Churn {
public:
  Churn(const Scenario& sc, Scheduler& sched, SimRandom& rng, SimNodes& nodes, Network& network, Measurement& meas,
        NodeHost& host);

  // Once per simulated second: this second's share of leave_per_min leaves,
  // each back rejoin_s later.
  void tick();
  void kill(std::size_t i);
  // A new agent node with its current key, started (and watching).
  void restart(std::size_t i);
  // A sybil whose identity is burnt: killed now, back as a new identity 5 s later.
  void rekey(std::size_t i);

private:
  const Scenario& m_sc;
  Scheduler& m_sched;
  SimRandom& m_rng;
  SimNodes& m_nodes;
  Network& m_network;
  Measurement& m_meas;
  NodeHost& m_host;
  double m_carry = 0; // nodes due to leave, the fraction not yet a whole node
};

} // namespace openstreaming::sim
