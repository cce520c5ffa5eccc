// The `gossip` baseline : a GossipSub-like push mesh, v1.1 defaults,
// no peer scoring. It is not an upstream policy — every node in the topic holds
// and forwards every part — so the simulator runs it itself over the same links
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
#include "sim/sim_node.h"

#include <algorithm>

namespace openstreaming::sim {

namespace {

constexpr std::size_t kD = 6, kDlo = 4, kDhi = 12, kDlazy = 6;
constexpr Duration kHeartbeat = 1s, kGossipWindow = 3s, kCacheWindow = 5s, kAskAgain = 1s;
constexpr std::size_t kPartOverhead = 150; // from, seqno, topic, signature, key, framing
constexpr std::size_t kControlHeader = 24, kIdBytes = 40, kGraftBytes = 40;

bool contains(const std::vector<uint32_t>& v, std::size_t x) {
  return std::find(v.begin(), v.end(), static_cast<uint32_t>(x)) != v.end();
}

} // namespace

bool Simulator::gossip_active(const SimNode& s) const {
  const agent::Misbehaviour& m = s.options.misbehave;
  return s.adversary >= 0 && m_now - m_t0 >= m.after;
}

void Simulator::gossip_send(std::size_t from, std::size_t to, std::size_t bytes, std::size_t payload,
                            std::function<void()> on_arrival) {
  auto it = m_link_of.find({std::min(from, to), std::max(from, to)});
  if (it == m_link_of.end()) return;
  Link& l = m_links[it->second];
  LinkDirection& dir = l.a == from ? l.ab : l.ba;
  if (payload > 0) {
    ++m_part_frames;
    m_media_bytes += payload;
    m_control_bytes += bytes - payload;
    m_nodes[from]->gossip.served_bytes += payload;
  } else {
    m_control_bytes += bytes;
  }
  SimNode& s = *m_nodes[from];
  Timestamp when = dir.arrival_via(m_now, bytes, m_rng, s.uplink_busy, s.bandwidth_bps);
  uint64_t gen = m_nodes[to]->generation;
  at(when, [this, to, gen, fn = std::move(on_arrival)] {
    SimNode& d = *m_nodes[to];
    if (!d.alive || d.generation != gen) return;
    fn();
  });
}

void Simulator::gossip_push(std::size_t from, std::size_t to, uint64_t index) {
  SimNode& s = *m_nodes[from];
  bool intact = true;
  Duration hold{0};
  if (gossip_active(s)) {
    const agent::Misbehaviour& m = s.options.misbehave;
    if (m.drop > 0 && unit(m_rng) < m.drop) return;
    if (m.corrupt > 0 && unit(m_rng) < m.corrupt) intact = false;
    hold = m.delay;
  }
  auto size = static_cast<std::size_t>(m_sc.bitrate_kbps * 1000 / 8 * m_sc.part_s);
  auto send = [this, from, to, index, intact, size] {
    if (!m_nodes[from]->alive) return;
    gossip_send(from, to, size + kPartOverhead, size,
                [this, from, to, index, intact] { gossip_receive(to, from, index, intact); });
  };
  if (hold > Duration{0})
    at(m_now + hold, send);
  else
    send();
}

void Simulator::gossip_receive(std::size_t to, std::size_t from, uint64_t index, bool intact) {
  if (!intact) {
    ++m_invalid_frames; // validation fails; no score to lower
    return;
  }
  PartMeta pm{index, 0, m_published[0][index].second};
  if (!record_arrival(to, pm)) return; // a duplicate
  SimNode& s = *m_nodes[to];
  s.gossip.mcache.emplace_back(index, m_now);
  for (uint32_t p : s.gossip.mesh) {
    if (p != from) gossip_push(to, p, index);
  }
}

void Simulator::gossip_publish(std::size_t b, uint64_t index) {
  SimNode& s = *m_nodes[b];
  PartMeta pm{index, 0, m_now};
  record_arrival(b, pm);
  s.gossip.mcache.emplace_back(index, m_now);
  for (uint32_t p : m_graph_adj[b]) {
    if (m_nodes[p]->alive && m_nodes[p]->gossip.joined) gossip_push(b, p, index);
  }
}

void Simulator::gossip_graft(std::size_t i, std::size_t p) {
  m_nodes[i]->gossip.mesh.push_back(static_cast<uint32_t>(p));
  gossip_send(i, p, kGraftBytes, 0, [this, i, p] {
    GossipState& g = m_nodes[p]->gossip;
    if (!g.joined) {
      gossip_send(p, i, kGraftBytes, 0,
                  [this, i, p] { std::erase(m_nodes[i]->gossip.mesh, static_cast<uint32_t>(p)); });
      return;
    }
    if (!contains(g.mesh, i)) g.mesh.push_back(static_cast<uint32_t>(i));
  });
}

void Simulator::gossip_join(std::size_t i) {
  SimNode& s = *m_nodes[i];
  s.gossip = GossipState{};
  s.gossip.joined = true;
  if (s.adversary >= 0) s.judged = true; // its mesh peers take parts from it; nothing ever rates it
  // Subscription announcements to every neighbour; then GRAFT up to D of the subscribed.
  std::vector<uint32_t> subscribed;
  for (uint32_t p : m_graph_adj[i]) {
    if (!m_nodes[p]->alive) continue;
    gossip_send(i, p, kGraftBytes, 0, [] {});
    if (m_nodes[p]->gossip.joined) subscribed.push_back(p);
  }
  for (std::size_t k = subscribed.size(); k > 1; --k) std::swap(subscribed[k - 1], subscribed[m_rng.uniform(k)]);
  for (std::size_t k = 0; k < std::min(kD, subscribed.size()); ++k) gossip_graft(i, subscribed[k]);
  uint64_t gen = s.generation;
  at(m_now + std::chrono::microseconds(static_cast<int64_t>(unit(m_rng) * 1e6)),
     [this, i, gen] { gossip_heartbeat(i, gen); });
}

void Simulator::gossip_heartbeat(std::size_t i, uint64_t gen) {
  SimNode& s = *m_nodes[i];
  if (!s.alive || s.generation != gen) return;
  GossipState& g = s.gossip;
  // Peers that left (their connection dropped) or unsubscribed leave the mesh.
  std::erase_if(g.mesh, [this](uint32_t p) { return !m_nodes[p]->alive || !m_nodes[p]->gossip.joined; });
  std::vector<uint32_t> others;
  for (uint32_t p : m_graph_adj[i]) {
    if (m_nodes[p]->alive && m_nodes[p]->gossip.joined && !contains(g.mesh, p)) others.push_back(p);
  }
  for (std::size_t k = others.size(); k > 1; --k) std::swap(others[k - 1], others[m_rng.uniform(k)]);
  if (g.mesh.size() < kDlo) {
    while (g.mesh.size() < kD && !others.empty()) {
      gossip_graft(i, others.back());
      others.pop_back();
    }
  } else if (g.mesh.size() > kDhi) {
    for (std::size_t k = g.mesh.size(); k > 1; --k) std::swap(g.mesh[k - 1], g.mesh[m_rng.uniform(k)]);
    while (g.mesh.size() > kD) {
      uint32_t p = g.mesh.back();
      g.mesh.pop_back();
      gossip_send(i, p, kGraftBytes, 0,
                  [this, i, p] { std::erase(m_nodes[p]->gossip.mesh, static_cast<uint32_t>(i)); });
    }
  }
  while (!g.mcache.empty() && g.mcache.front().second < m_now - kCacheWindow) g.mcache.pop_front();
  auto ids = std::make_shared<std::vector<uint64_t>>();
  for (const auto& [index, t] : g.mcache) {
    if (t >= m_now - kGossipWindow) ids->push_back(index);
  }
  if (!ids->empty()) {
    for (std::size_t k = 0; k < std::min(kDlazy, others.size()); ++k) {
      std::size_t p = others[k];
      gossip_send(i, p, kControlHeader + kIdBytes * ids->size(), 0, [this, i, p, ids] { gossip_ihave(p, i, *ids); });
    }
  }
  at(m_now + kHeartbeat, [this, i, gen] { gossip_heartbeat(i, gen); });
}

void Simulator::gossip_ihave(std::size_t at_node, std::size_t from, const std::vector<uint64_t>& ids) {
  SimNode& s = *m_nodes[at_node];
  auto want = std::make_shared<std::vector<uint64_t>>();
  const std::vector<uint8_t>* have = s.have.empty() ? nullptr : &s.have[0];
  for (uint64_t id : ids) {
    if (have && id < have->size() && (*have)[id]) continue;
    if (s.gossip.asked.size() <= id) s.gossip.asked.resize(id + 64, Timestamp{});
    if (s.gossip.asked[id] != Timestamp{} && m_now - s.gossip.asked[id] < kAskAgain) continue;
    s.gossip.asked[id] = m_now;
    want->push_back(id);
  }
  if (want->empty()) return;
  gossip_send(at_node, from, kControlHeader + kIdBytes * want->size(), 0, [this, at_node, from, want] {
    // IWANT at `from`: answer from the message cache.
    const GossipState& g = m_nodes[from]->gossip;
    for (uint64_t id : *want) {
      bool cached = std::any_of(g.mcache.begin(), g.mcache.end(), [&](const auto& e) { return e.first == id; });
      if (cached) gossip_push(from, at_node, id);
    }
  });
}

} // namespace openstreaming::sim
