#include "sim/gossip.h"

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

Gossip::Gossip(const Scenario& sc, Scheduler& sched, SimRandom& rng, SimNodes& nodes, Network& network,
               Measurement& meas, Diagnostics& diag, const std::vector<std::vector<uint32_t>>& adj)
    : m_sc(sc), m_sched(sched), m_rng(rng), m_nodes(nodes), m_network(network), m_meas(meas), m_diag(diag), m_adj(adj) {
}

bool Gossip::active(const SimNode& s) const {
  const agent::Misbehaviour& m = s.options.misbehave;
  return s.adversary >= 0 && m_sched.now() - m_sched.t0() >= m.after;
}

void Gossip::send(std::size_t from, std::size_t to, std::size_t bytes, std::size_t payload,
                  std::function<void()> on_arrival) {
  if (m_network.send(from, to, bytes, payload, std::move(on_arrival))) m_nodes[from]->gossip.served_bytes += payload;
}

void Gossip::push(std::size_t from, std::size_t to, uint64_t index) {
  SimNode& s = *m_nodes[from];
  bool intact = true;
  Duration hold{0};
  if (active(s)) {
    const agent::Misbehaviour& m = s.options.misbehave;
    if (m.drop > 0 && unit(m_rng) < m.drop) return;
    if (m.corrupt > 0 && unit(m_rng) < m.corrupt) intact = false;
    hold = m.delay;
  }
  auto size = static_cast<std::size_t>(m_sc.bitrate_kbps * 1000 / 8 * m_sc.part_s);
  auto go = [this, from, to, index, intact, size] {
    if (!m_nodes[from]->alive) return;
    send(from, to, size + kPartOverhead, size, [this, from, to, index, intact] { receive(to, from, index, intact); });
  };
  if (hold > Duration{0})
    m_sched.at(m_sched.now() + hold, go);
  else
    go();
}

void Gossip::receive(std::size_t to, std::size_t from, uint64_t index, bool intact) {
  if (!intact) {
    m_meas.count_invalid(); // validation fails; no score to lower
    return;
  }
  PartMeta pm{index, 0, m_meas.published_at(0, index)};
  if (!m_meas.record_arrival(to, pm)) { // a duplicate
    m_diag.duplicate_from_peer();
    return;
  }
  SimNode& s = *m_nodes[to];
  s.gossip.mcache.emplace_back(index, m_sched.now());
  for (uint32_t p : s.gossip.mesh) {
    if (p != from) push(to, p, index);
  }
}

void Gossip::publish(std::size_t b, uint64_t index) {
  SimNode& s = *m_nodes[b];
  PartMeta pm{index, 0, m_sched.now()};
  m_meas.record_arrival(b, pm);
  s.gossip.mcache.emplace_back(index, m_sched.now());
  for (uint32_t p : m_adj[b]) {
    if (m_nodes[p]->alive && m_nodes[p]->gossip.joined) push(b, p, index);
  }
}

void Gossip::graft(std::size_t i, std::size_t p) {
  m_nodes[i]->gossip.mesh.push_back(static_cast<uint32_t>(p));
  send(i, p, kGraftBytes, 0, [this, i, p] {
    GossipState& g = m_nodes[p]->gossip;
    if (!g.joined) {
      send(p, i, kGraftBytes, 0, [this, i, p] { std::erase(m_nodes[i]->gossip.mesh, static_cast<uint32_t>(p)); });
      return;
    }
    if (!contains(g.mesh, i)) g.mesh.push_back(static_cast<uint32_t>(i));
  });
}

void Gossip::join(std::size_t i) {
  SimNode& s = *m_nodes[i];
  s.gossip = GossipState{};
  s.gossip.joined = true;
  if (s.adversary >= 0) s.judged = true; // its mesh peers take parts from it; nothing ever rates it
  // Subscription announcements to every neighbour; then GRAFT up to D of the subscribed.
  std::vector<uint32_t> subscribed;
  for (uint32_t p : m_adj[i]) {
    if (!m_nodes[p]->alive) continue;
    send(i, p, kGraftBytes, 0, [] {});
    if (m_nodes[p]->gossip.joined) subscribed.push_back(p);
  }
  for (std::size_t k = subscribed.size(); k > 1; --k) std::swap(subscribed[k - 1], subscribed[m_rng.uniform(k)]);
  for (std::size_t k = 0; k < std::min(kD, subscribed.size()); ++k) graft(i, subscribed[k]);
  uint64_t gen = s.generation;
  m_sched.at(m_sched.now() + std::chrono::microseconds(static_cast<int64_t>(unit(m_rng) * 1e6)),
             [this, i, gen] { heartbeat(i, gen); });
}

void Gossip::heartbeat(std::size_t i, uint64_t gen) {
  SimNode& s = *m_nodes[i];
  if (!s.alive || s.generation != gen) return;
  GossipState& g = s.gossip;
  // Peers that left (their connection dropped) or unsubscribed leave the mesh.
  std::erase_if(g.mesh, [this](uint32_t p) { return !m_nodes[p]->alive || !m_nodes[p]->gossip.joined; });
  std::vector<uint32_t> others;
  for (uint32_t p : m_adj[i]) {
    if (m_nodes[p]->alive && m_nodes[p]->gossip.joined && !contains(g.mesh, p)) others.push_back(p);
  }
  for (std::size_t k = others.size(); k > 1; --k) std::swap(others[k - 1], others[m_rng.uniform(k)]);
  if (g.mesh.size() < kDlo) {
    while (g.mesh.size() < kD && !others.empty()) {
      graft(i, others.back());
      others.pop_back();
    }
  } else if (g.mesh.size() > kDhi) {
    for (std::size_t k = g.mesh.size(); k > 1; --k) std::swap(g.mesh[k - 1], g.mesh[m_rng.uniform(k)]);
    while (g.mesh.size() > kD) {
      uint32_t p = g.mesh.back();
      g.mesh.pop_back();
      send(i, p, kGraftBytes, 0, [this, i, p] { std::erase(m_nodes[p]->gossip.mesh, static_cast<uint32_t>(i)); });
    }
  }
  while (!g.mcache.empty() && g.mcache.front().second < m_sched.now() - kCacheWindow) g.mcache.pop_front();
  auto ids = std::make_shared<std::vector<uint64_t>>();
  for (const auto& [index, t] : g.mcache) {
    if (t >= m_sched.now() - kGossipWindow) ids->push_back(index);
  }
  if (!ids->empty()) {
    for (std::size_t k = 0; k < std::min(kDlazy, others.size()); ++k) {
      std::size_t p = others[k];
      send(i, p, kControlHeader + kIdBytes * ids->size(), 0, [this, i, p, ids] { ihave(p, i, *ids); });
    }
  }
  m_sched.at(m_sched.now() + kHeartbeat, [this, i, gen] { heartbeat(i, gen); });
}

void Gossip::ihave(std::size_t at_node, std::size_t from, const std::vector<uint64_t>& ids) {
  SimNode& s = *m_nodes[at_node];
  auto want = std::make_shared<std::vector<uint64_t>>();
  const std::vector<uint8_t>* have = s.have.empty() ? nullptr : &s.have[0];
  for (uint64_t id : ids) {
    if (have && id < have->size() && (*have)[id]) continue;
    if (s.gossip.asked.size() <= id) s.gossip.asked.resize(id + 64, Timestamp{});
    if (s.gossip.asked[id] != Timestamp{} && m_sched.now() - s.gossip.asked[id] < kAskAgain) continue;
    s.gossip.asked[id] = m_sched.now();
    want->push_back(id);
  }
  if (want->empty()) return;
  send(at_node, from, kControlHeader + kIdBytes * want->size(), 0, [this, at_node, from, want] {
    // IWANT at `from`: answer from the message cache.
    const GossipState& g = m_nodes[from]->gossip;
    for (uint64_t id : *want) {
      bool cached = std::any_of(g.mcache.begin(), g.mcache.end(), [&](const auto& e) { return e.first == id; });
      if (cached) push(from, at_node, id);
    }
  });
}

} // namespace openstreaming::sim
