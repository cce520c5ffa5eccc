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

bool Gossip::joined(std::size_t i, std::size_t topic) const {
  const SimNode& s = *m_nodes[i];
  return s.alive && s.gossip.generation == s.generation && s.gossip.joined(topic);
}

void Gossip::send(std::size_t from, std::size_t to, std::size_t bytes, std::size_t payload,
                  std::function<void()> on_arrival) {
  if (m_network.send(from, to, bytes, payload, std::move(on_arrival))) m_nodes[from]->gossip.served_bytes += payload;
}

void Gossip::push(std::size_t from, std::size_t to, std::size_t topic, uint64_t index) {
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
  auto go = [this, from, to, topic, index, intact, size] {
    if (!m_nodes[from]->alive) return;
    send(from, to, size + kPartOverhead, size,
         [this, from, to, topic, index, intact] { receive(to, from, topic, index, intact); });
  };
  if (hold > Duration{0})
    m_sched.at(m_sched.now() + hold, go);
  else
    go();
}

void Gossip::receive(std::size_t to, std::size_t from, std::size_t topic, uint64_t index, bool intact) {
  if (!intact) {
    m_meas.count_invalid(); // validation fails; no score to lower
    return;
  }
  PartMeta pm{index, topic, m_meas.published_at(topic, index)};
  if (!m_meas.record_arrival(to, pm)) { // a duplicate
    m_diag.duplicate_from_peer();
    return;
  }
  if (!joined(to, topic)) return; // left the topic (or died) while the part was in flight
  GossipTopic& g = m_nodes[to]->gossip.topics[topic];
  g.mcache.emplace_back(index, m_sched.now());
  for (uint32_t p : g.mesh) {
    if (p != from) push(to, p, topic, index);
  }
}

void Gossip::publish(std::size_t b, std::size_t topic, uint64_t index) {
  PartMeta pm{index, topic, m_sched.now()};
  m_meas.record_arrival(b, pm);
  if (!joined(b, topic)) return;
  m_nodes[b]->gossip.topics[topic].mcache.emplace_back(index, m_sched.now());
  for (uint32_t p : m_adj[b]) {
    if (joined(p, topic)) push(b, p, topic, index);
  }
}

void Gossip::graft(std::size_t i, std::size_t p, std::size_t topic) {
  m_nodes[i]->gossip.topics[topic].mesh.push_back(static_cast<uint32_t>(p));
  send(i, p, kGraftBytes, 0, [this, i, p, topic] {
    if (!joined(p, topic)) { // PRUNE back
      send(p, i, kGraftBytes, 0, [this, i, p, topic] {
        if (joined(i, topic)) std::erase(m_nodes[i]->gossip.topics[topic].mesh, static_cast<uint32_t>(p));
      });
      return;
    }
    std::vector<uint32_t>& mesh = m_nodes[p]->gossip.topics[topic].mesh;
    if (!contains(mesh, i)) mesh.push_back(static_cast<uint32_t>(i));
  });
}

void Gossip::join(std::size_t i, std::size_t topic) {
  SimNode& s = *m_nodes[i];
  if (s.gossip.generation != s.generation || s.gossip.topics.size() != m_sc.broadcasters) {
    s.gossip.topics.assign(m_sc.broadcasters, GossipTopic{});
    s.gossip.generation = s.generation;
  }
  GossipTopic& t = s.gossip.topics[topic];
  t = GossipTopic{};
  t.joined = true;
  if (s.adversary >= 0) s.judged = true; // its mesh peers take parts from it; nothing ever rates it
  // Subscription announcements to every neighbour; then GRAFT up to D of the subscribed.
  std::vector<uint32_t> subscribed;
  for (uint32_t p : m_adj[i]) {
    if (!m_nodes[p]->alive) continue;
    send(i, p, kGraftBytes, 0, [] {});
    if (joined(p, topic)) subscribed.push_back(p);
  }
  for (std::size_t k = subscribed.size(); k > 1; --k) std::swap(subscribed[k - 1], subscribed[m_rng.uniform(k)]);
  for (std::size_t k = 0; k < std::min(kD, subscribed.size()); ++k) graft(i, subscribed[k], topic);
  uint64_t gen = s.generation;
  m_sched.at(m_sched.now() + std::chrono::microseconds(static_cast<int64_t>(unit(m_rng) * 1e6)),
             [this, i, topic, gen] { heartbeat(i, topic, gen); });
}

void Gossip::heartbeat(std::size_t i, std::size_t topic, uint64_t gen) {
  SimNode& s = *m_nodes[i];
  if (s.generation != gen || !joined(i, topic)) return;
  GossipTopic& g = s.gossip.topics[topic];
  // Peers that left (their connection dropped) or unsubscribed leave the mesh.
  std::erase_if(g.mesh, [this, topic](uint32_t p) { return !joined(p, topic); });
  std::vector<uint32_t> others;
  for (uint32_t p : m_adj[i]) {
    if (joined(p, topic) && !contains(g.mesh, p)) others.push_back(p);
  }
  for (std::size_t k = others.size(); k > 1; --k) std::swap(others[k - 1], others[m_rng.uniform(k)]);
  if (g.mesh.size() < kDlo) {
    while (g.mesh.size() < kD && !others.empty()) {
      graft(i, others.back(), topic);
      others.pop_back();
    }
  } else if (g.mesh.size() > kDhi) {
    for (std::size_t k = g.mesh.size(); k > 1; --k) std::swap(g.mesh[k - 1], g.mesh[m_rng.uniform(k)]);
    while (g.mesh.size() > kD) {
      uint32_t p = g.mesh.back();
      g.mesh.pop_back();
      send(i, p, kGraftBytes, 0, [this, i, p, topic] {
        if (joined(p, topic)) std::erase(m_nodes[p]->gossip.topics[topic].mesh, static_cast<uint32_t>(i));
      });
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
      send(i, p, kControlHeader + kIdBytes * ids->size(), 0, [this, i, p, topic, ids] { ihave(p, i, topic, *ids); });
    }
  }
  m_sched.at(m_sched.now() + kHeartbeat, [this, i, topic, gen] { heartbeat(i, topic, gen); });
}

void Gossip::ihave(std::size_t at_node, std::size_t from, std::size_t topic, const std::vector<uint64_t>& ids) {
  if (!joined(at_node, topic)) return;
  SimNode& s = *m_nodes[at_node];
  GossipTopic& g = s.gossip.topics[topic];
  auto want = std::make_shared<std::vector<uint64_t>>();
  const std::vector<uint8_t>* have = topic < s.have.size() ? &s.have[topic] : nullptr;
  for (uint64_t id : ids) {
    if (have && id < have->size() && (*have)[id]) continue;
    if (g.asked.size() <= id) g.asked.resize(id + 64, Timestamp{});
    if (g.asked[id] != Timestamp{} && m_sched.now() - g.asked[id] < kAskAgain) continue;
    g.asked[id] = m_sched.now();
    want->push_back(id);
  }
  if (want->empty()) return;
  send(at_node, from, kControlHeader + kIdBytes * want->size(), 0, [this, at_node, from, topic, want] {
    // IWANT at `from`: answer from the topic's message cache.
    if (!joined(from, topic)) return;
    const GossipTopic& at_from = m_nodes[from]->gossip.topics[topic];
    for (uint64_t id : *want) {
      bool cached = std::any_of(at_from.mcache.begin(), at_from.mcache.end(),
                                [&](const auto& e) { return e.first == id; });
      if (cached) push(from, at_node, topic, id);
    }
  });
}

} // namespace openstreaming::sim
