// The simulated network: one link per graph edge (src/sim/link.h: uplink
// serialisation, delay, jitter, loss; frames on a direction never overtake each
// other) and the connections the agent nodes open over them. It carries the
// agent's outputs — transmits, connects, closes — to the other end as scheduled
// events, and raw sends for the gossip baseline on the same links.
//
// Guarantees: an event for a node is dropped when the node died (or died and
// came back) after it was scheduled; a node's frames share its access uplink
// (SimNode::bandwidth_bps) across all its links; every byte that leaves a node is
// reported to Measurement (media or control) and every agent part that arrives
// is reported before the node sees it. A connect to a node that is not a graph
// neighbour, or is dead, fails after 50 ms — unless a link factory is set
// (nodes that adapt their topology dial nodes they learned of), which makes the
// link first; one that succeeds takes a round trip.
// All randomness is the simulator's seeded source, in event order.
#pragma once

#include "agent/node.h"
#include "sim/diagnostics.h"
#include "sim/link.h"
#include "sim/measurement.h"
#include "sim/scheduler.h"
#include "sim/sim_node.h"
#include "sim/sim_random.h"

#include <deque>
#include <functional>
#include <map>
#include <unordered_map>
#include <vector>

namespace openstreaming::sim {

class Network {
public:
  Network(Scheduler& sched, SimRandom& rng, SimNodes& nodes, Measurement& meas, Diagnostics& diag, NodeHost& host);

  // Room for n nodes' connections (call once the nodes exist).
  void resize(std::size_t n) { m_conns.resize(n); }
  // The link of graph edge (a, b), a < b.
  void add_link(std::size_t a, std::size_t b, const LinkParams& p);
  // Makes the link (a, b), a < b, when a node dials a node it has no link to;
  // nullopt: no such link can exist (the dial fails).
  using LinkFactory = std::function<std::optional<LinkParams>(std::size_t a, std::size_t b)>;
  void set_link_factory(LinkFactory f) { m_link_factory = std::move(f); }
  std::size_t links_made() const { return m_links_made; }

  // ---- Node i's outputs (its agent::NodeSink calls these).
  void transmit(std::size_t i, agent::ConnId conn, core::Frame frame);
  void connect(std::size_t i, const agent::ConnectRequest& c);
  void close(std::size_t i, const agent::CloseRequest& c);
  // Node i died: every connection it had is gone, and each other end hears
  // handle_closed 20 ms later (in connection order, whatever the hash table's).
  void drop_connections(std::size_t i);

  // A message outside the agent (the gossip baseline): `bytes` on the link
  // from -> to, `payload` of them media; `on_arrival` runs at `to` if it is
  // still the same life then. False (nothing sent) when there is no such link.
  bool send(std::size_t from, std::size_t to, std::size_t bytes, std::size_t payload, std::function<void()> on_arrival);

  // The node at the other end of node i's connection `conn`, if it has one.
  std::optional<std::size_t> peer(std::size_t i, agent::ConnId conn) const;

private:
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
  Scheduler& m_sched;
  SimRandom& m_rng;
  SimNodes& m_nodes;
  Measurement& m_meas;
  Diagnostics& m_diag;
  NodeHost& m_host;
  std::deque<Link> m_links; // a deque: links made mid-run do not move the others
  LinkFactory m_link_factory;
  std::size_t m_links_made = 0;
  std::map<std::pair<std::size_t, std::size_t>, std::size_t> m_link_of; // (min, max) -> link
  std::vector<std::unordered_map<agent::ConnId, Conn>> m_conns;         // per node: its connection -> the other end
};

} // namespace openstreaming::sim
