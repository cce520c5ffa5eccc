#include "sim/network.h"

#include <algorithm>
#include <tuple>

namespace openstreaming::sim {

Network::Network(Scheduler& sched, SimRandom& rng, SimNodes& nodes, Measurement& meas, Diagnostics& diag,
                 NodeHost& host)
    : m_sched(sched), m_rng(rng), m_nodes(nodes), m_meas(meas), m_diag(diag), m_host(host) {}

std::optional<std::size_t> Network::peer(std::size_t i, agent::ConnId conn) const {
  if (i >= m_conns.size()) return std::nullopt;
  auto it = m_conns[i].find(conn);
  if (it == m_conns[i].end()) return std::nullopt;
  return it->second.peer;
}

void Network::add_link(std::size_t a, std::size_t b, const LinkParams& p) {
  m_link_of[{a, b}] = m_links.size();
  m_links.push_back(Link{a, b, p, LinkDirection(p), LinkDirection(p)});
}

void Network::transmit(std::size_t from, agent::ConnId conn, core::Frame frame) {
  auto it = m_conns[from].find(conn);
  if (it == m_conns[from].end()) return;
  Conn c = it->second;
  Link& l = m_links[c.link];
  LinkDirection& dir = c.forward ? l.ab : l.ba;
  std::size_t size = frame.wire_size();
  bool part = frame.type == static_cast<uint16_t>(core::MediaFrameType::part);
  m_meas.count_bytes(part, size, part ? frame.payload.size : 0);
  SimNode& s = *m_nodes[from];
  m_diag.sent(from, size, part, s.uplink_busy > m_sched.now() ? s.uplink_busy - m_sched.now() : Duration{0});
  Timestamp when = dir.arrival_via(m_sched.now(), size, m_rng, s.uplink_busy, s.bandwidth_bps);
  std::size_t to = c.peer;
  agent::ConnId to_conn = c.peer_conn;
  uint64_t gen = m_nodes[to]->generation;
  m_meas.count_frame_type(frame.type, size);
  auto shared = std::make_shared<core::Frame>(std::move(frame));
  m_sched.at(when, [this, to, to_conn, gen, shared, part] {
    SimNode& d = *m_nodes[to];
    if (!d.alive || d.generation != gen) return;
    if (part) {
      if (auto a = m_meas.record_part(to, *shared)) m_diag.part_arrived(to, to_conn, a->stream, a->duplicate);
    }
    d.node->handle_frame(to_conn, std::move(*shared), m_sched.now());
    m_host.pump(to);
  });
}

void Network::connect(std::size_t i, const agent::ConnectRequest& c) {
  SimNode& s = *m_nodes[i];
  agent::ConnId conn = c.conn;
  std::size_t target = SIZE_MAX;
  if (c.endpoint.host.size() > 1 && c.endpoint.host[0] == 'n') target = std::stoul(c.endpoint.host.substr(1));
  uint64_t gen = s.generation;
  auto link = target < m_nodes.size() ? m_link_of.find({std::min(i, target), std::max(i, target)}) : m_link_of.end();
  if (link == m_link_of.end() && target < m_nodes.size() && target != i && m_nodes[target]->alive && m_link_factory) {
    if (auto p = m_link_factory(std::min(i, target), std::max(i, target))) {
      add_link(std::min(i, target), std::max(i, target), *p);
      ++m_links_made;
      link = m_link_of.find({std::min(i, target), std::max(i, target)});
    }
  }
  if (link == m_link_of.end() || !m_nodes[target]->alive) {
    m_sched.at(m_sched.now() + 50ms, [this, i, conn, gen] {
      if (!m_nodes[i]->alive || m_nodes[i]->generation != gen) return;
      m_nodes[i]->node->handle_connect_failed(conn, m_sched.now());
      m_host.pump(i);
    });
    return;
  }
  std::size_t li = link->second;
  Duration rtt = 2 * m_links[li].params.delay;
  Hash256 exporter = m_rng.bytes<32>();
  uint64_t tgen = m_nodes[target]->generation;
  m_sched.at(m_sched.now() + rtt, [this, i, conn, gen, target, tgen, exporter, li] {
    bool a_ok = m_nodes[i]->alive && m_nodes[i]->generation == gen;
    bool b_ok = m_nodes[target]->alive && m_nodes[target]->generation == tgen;
    if (!a_ok) return;
    const Timestamp now = m_sched.now();
    if (!b_ok) {
      m_nodes[i]->node->handle_connect_failed(conn, now);
      m_host.pump(i);
      return;
    }
    agent::ConnId back = m_nodes[target]->node->handle_accepted(core::Endpoint{host_of(i), 7000}, exporter, now);
    bool forward = m_links[li].a == i;
    m_conns[i][conn] = Conn{target, back, li, forward};
    m_conns[target][back] = Conn{i, conn, li, !forward};
    m_nodes[i]->node->handle_connected(conn, exporter, now);
    m_host.pump(target);
    m_host.pump(i);
  });
}

void Network::close(std::size_t i, const agent::CloseRequest& c) {
  SimNode& s = *m_nodes[i];
  agent::ConnId conn = c.conn;
  auto it = m_conns[i].find(conn);
  if (it != m_conns[i].end()) {
    std::size_t j = it->second.peer;
    agent::ConnId jconn = it->second.peer_conn;
    Duration delay = m_links[it->second.link].params.delay;
    m_conns[i].erase(it);
    m_conns[j].erase(jconn);
    uint64_t jgen = m_nodes[j]->generation;
    m_sched.at(m_sched.now() + delay, [this, j, jconn, jgen] {
      if (!m_nodes[j]->alive || m_nodes[j]->generation != jgen) return;
      m_nodes[j]->node->handle_closed(jconn, m_sched.now());
      m_host.pump(j);
    });
  }
  uint64_t gen = s.generation;
  m_sched.at(m_sched.now(), [this, i, conn, gen] {
    if (!m_nodes[i]->alive || m_nodes[i]->generation != gen) return;
    m_nodes[i]->node->handle_closed(conn, m_sched.now());
    m_host.pump(i);
  });
}

void Network::drop_connections(std::size_t i) {
  std::vector<std::tuple<agent::ConnId, std::size_t, agent::ConnId>> gone; // ours, the other end
  for (const auto& [conn, c] : m_conns[i]) {
    gone.emplace_back(conn, c.peer, c.peer_conn);
    m_conns[c.peer].erase(c.peer_conn);
  }
  m_conns[i].clear();
  std::sort(gone.begin(), gone.end()); // a fixed order of events, whatever the hash table's
  for (auto [own, j, conn] : gone) {
    uint64_t gen = m_nodes[j]->generation;
    m_sched.at(m_sched.now() + 20ms, [this, j, conn, gen] {
      if (!m_nodes[j]->alive || m_nodes[j]->generation != gen) return;
      m_nodes[j]->node->handle_closed(conn, m_sched.now());
      m_host.pump(j);
    });
  }
}

bool Network::send(std::size_t from, std::size_t to, std::size_t bytes, std::size_t payload,
                   std::function<void()> on_arrival) {
  auto it = m_link_of.find({std::min(from, to), std::max(from, to)});
  if (it == m_link_of.end()) return false;
  Link& l = m_links[it->second];
  LinkDirection& dir = l.a == from ? l.ab : l.ba;
  m_meas.count_bytes(payload > 0, bytes, payload);
  SimNode& s = *m_nodes[from];
  m_diag.sent(from, bytes, payload > 0, s.uplink_busy > m_sched.now() ? s.uplink_busy - m_sched.now() : Duration{0});
  Timestamp when = dir.arrival_via(m_sched.now(), bytes, m_rng, s.uplink_busy, s.bandwidth_bps);
  uint64_t gen = m_nodes[to]->generation;
  m_sched.at(when, [this, to, gen, fn = std::move(on_arrival)] {
    SimNode& d = *m_nodes[to];
    if (!d.alive || d.generation != gen) return;
    fn();
  });
  return true;
}

} // namespace openstreaming::sim
