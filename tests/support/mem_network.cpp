#include "support/mem_network.h"

#include "agent/drain.h"

#include <set>

namespace openstreaming::test {

struct MemNetwork::Slot {
  core::PrivateKey key;
  agent::NodeOptions options;
  std::unique_ptr<agent::DeterministicEnvironment> env;
  std::unique_ptr<agent::Node> node;
  bool alive = false;
  uint64_t generation = 0; // bumps on kill/restart so stale events are ignored
  std::optional<Timestamp> wake;
};

MemNetwork::MemNetwork(uint64_t seed, Duration latency)
    : m_random(seed), m_latency(latency), m_sched(agent::deterministic_epoch()) {}

MemNetwork::~MemNetwork() = default;

bool MemNetwork::alive(std::size_t i) const {
  return m_slots[i]->alive;
}
agent::Node& MemNetwork::node(std::size_t i) {
  return *m_slots[i]->node;
}
const core::PrivateKey& MemNetwork::key(std::size_t i) const {
  return m_slots[i]->key;
}

std::size_t MemNetwork::add(agent::NodeOptions options) {
  std::size_t i = m_slots.size();
  options.listen_endpoint = endpoint_of(i).to_string();
  auto slot = std::unique_ptr<Slot>(
      new Slot{core::PrivateKey::generate(m_random), std::move(options), nullptr, nullptr, false, 0, std::nullopt});
  slot->env = std::make_unique<agent::DeterministicEnvironment>(m_random.next_u64());
  slot->node = std::make_unique<agent::Node>(slot->key, slot->options, *slot->env);
  m_slots.push_back(std::move(slot));
  return i;
}

void MemNetwork::start(std::size_t i) {
  m_slots[i]->alive = true;
  m_slots[i]->node->handle_start(now());
  pump(i);
}

void MemNetwork::start_all() {
  for (std::size_t i = 0; i < m_slots.size(); ++i) start(i);
}

void MemNetwork::kill(std::size_t i) {
  Slot& s = *m_slots[i];
  s.alive = false;
  ++s.generation;
  s.wake.reset();
  std::vector<std::pair<std::size_t, agent::ConnId>> gone;
  for (auto it = m_links.begin(); it != m_links.end();) {
    if (it->first.first == i) {
      gone.push_back(it->second);
      it = m_links.erase(it);
    } else if (it->second.first == i) {
      it = m_links.erase(it);
    } else {
      ++it;
    }
  }
  for (auto [j, conn] : gone) {
    uint64_t gen = m_slots[j]->generation;
    at(now() + m_latency, [this, j, conn, gen] {
      if (!m_slots[j]->alive || m_slots[j]->generation != gen) return;
      m_slots[j]->node->handle_closed(conn, now());
      pump(j);
    });
  }
}

void MemNetwork::restart(std::size_t i) {
  if (m_slots[i]->alive) kill(i);
  Slot& s = *m_slots[i];
  s.env = std::make_unique<agent::DeterministicEnvironment>(m_random.next_u64());
  s.node = std::make_unique<agent::Node>(s.key, s.options, *s.env);
  start(i);
}

void MemNetwork::shutdown(std::size_t i) {
  m_slots[i]->node->handle_shutdown(now());
  pump(i);
}

void MemNetwork::at(Timestamp t, std::function<void()> fn) {
  m_sched.at(t, std::move(fn));
}

void MemNetwork::deliver(std::size_t from, agent::ConnId conn, core::Frame frame) {
  auto it = m_links.find({from, conn});
  if (it == m_links.end()) return;
  auto [to, to_conn] = it->second;
  uint64_t gen = m_slots[to]->generation;
  auto shared = std::make_shared<core::Frame>(std::move(frame));
  at(now() + m_latency, [this, to, to_conn, gen, shared] {
    if (!m_slots[to]->alive || m_slots[to]->generation != gen) return;
    m_slots[to]->node->handle_frame(to_conn, std::move(*shared), now());
    pump(to);
  });
}

// The node's outputs on the in-memory links (one Sink per pump of node i).
class MemNetwork::Sink final : public agent::NodeSink {
public:
  Sink(MemNetwork& net, std::size_t i) : m_net(net), m_i(i) {}
  void transmit(agent::Transmit t) override { m_net.on_transmit(m_i, std::move(t)); }
  void connect(const agent::ConnectRequest& c) override { m_net.on_connect(m_i, c); }
  void close(const agent::CloseRequest& c) override { m_net.on_close(m_i, c); }
  void event(agent::Event e) override { m_net.m_events.emplace_back(m_i, std::move(e)); }
  void wake_at(Timestamp t) override { m_net.on_wake(m_i, t); }

private:
  MemNetwork& m_net;
  std::size_t m_i;
};

void MemNetwork::pump(std::size_t i) {
  if (!m_slots[i]->alive) return;
  Sink sink(*this, i);
  agent::drain(*m_slots[i]->node, sink);
}

void MemNetwork::on_transmit(std::size_t i, agent::Transmit t) {
  std::size_t size = t.frame.wire_size();
  deliver(i, t.conn, std::move(t.frame));
  m_slots[i]->node->handle_sent(t.conn, size, now()); // written to the "socket" at once
}

void MemNetwork::on_connect(std::size_t i, const agent::ConnectRequest& c) {
  Slot& s = *m_slots[i];
  agent::ConnId conn = c.conn;
  std::size_t target = SIZE_MAX;
  for (std::size_t j = 0; j < m_slots.size(); ++j) {
    if (endpoint_of(j) == c.endpoint) target = j;
  }
  uint64_t gen = s.generation;
  if (target == SIZE_MAX || !m_slots[target]->alive) {
    at(now() + m_latency, [this, i, conn, gen] {
      if (!m_slots[i]->alive || m_slots[i]->generation != gen) return;
      m_slots[i]->node->handle_connect_failed(conn, now());
      pump(i);
    });
    return;
  }
  Hash256 exporter = m_random.bytes<32>();
  uint64_t tgen = m_slots[target]->generation;
  at(now() + m_latency, [this, i, conn, gen, target, tgen, exporter] {
    bool a_ok = m_slots[i]->alive && m_slots[i]->generation == gen;
    bool b_ok = m_slots[target]->alive && m_slots[target]->generation == tgen;
    if (!a_ok) return;
    if (!b_ok) {
      m_slots[i]->node->handle_connect_failed(conn, now());
      pump(i);
      return;
    }
    agent::ConnId back = m_slots[target]->node->handle_accepted(endpoint_of(i), exporter, now());
    m_links[{i, conn}] = {target, back};
    m_links[{target, back}] = {i, conn};
    m_slots[i]->node->handle_connected(conn, exporter, now());
    pump(target);
    pump(i);
  });
}

void MemNetwork::on_close(std::size_t i, const agent::CloseRequest& close) {
  Slot& s = *m_slots[i];
  agent::ConnId conn = close.conn;
  auto it = m_links.find({i, conn});
  if (it != m_links.end()) {
    auto [j, jconn] = it->second;
    m_links.erase(it);
    m_links.erase({j, jconn});
    uint64_t jgen = m_slots[j]->generation;
    at(now() + m_latency, [this, j, jconn, jgen] {
      if (!m_slots[j]->alive || m_slots[j]->generation != jgen) return;
      m_slots[j]->node->handle_closed(jconn, now());
      pump(j);
    });
  }
  uint64_t gen = s.generation;
  at(now(), [this, i, conn, gen] {
    if (!m_slots[i]->alive || m_slots[i]->generation != gen) return;
    m_slots[i]->node->handle_closed(conn, now());
    pump(i);
  });
}

void MemNetwork::on_wake(std::size_t i, Timestamp t) {
  Slot& s = *m_slots[i];
  if (s.wake && t >= *s.wake && *s.wake > now()) return; // an earlier wake-up is already queued
  s.wake = t;
  uint64_t gen = s.generation;
  Timestamp when = std::max(t, now());
  at(when, [this, i, gen, when] {
    Slot& sl = *m_slots[i];
    if (!sl.alive || sl.generation != gen || sl.wake != when) return;
    sl.wake.reset();
    sl.node->handle_timeout(now());
    pump(i);
  });
}

void MemNetwork::with(std::size_t i, const std::function<void(agent::Node&)>& fn) {
  fn(*m_slots[i]->node);
  pump(i);
}

void MemNetwork::run_for(Duration d) {
  run_until([] { return false; }, d);
}

bool MemNetwork::run_until(const std::function<bool()>& done, Duration limit) {
  Timestamp end = now() + limit;
  while (!done()) {
    if (!m_sched.run_next(end)) {
      m_sched.advance_to(end);
      return done();
    }
  }
  return true;
}

bool MemNetwork::connected() const {
  std::vector<std::size_t> live;
  for (std::size_t i = 0; i < m_slots.size(); ++i) {
    if (m_slots[i]->alive) live.push_back(i);
  }
  if (live.empty()) return true;
  std::map<core::Address, std::size_t> index;
  for (std::size_t i : live) index[m_slots[i]->key.address()] = i;
  std::set<std::size_t> seen{live[0]};
  std::vector<std::size_t> stack{live[0]};
  while (!stack.empty()) {
    std::size_t i = stack.back();
    stack.pop_back();
    for (const auto& p : m_slots[i]->node->peers(now())) {
      auto it = index.find(p.address);
      if (it != index.end() && seen.insert(it->second).second) stack.push_back(it->second);
    }
  }
  return seen.size() == live.size();
}

} // namespace openstreaming::test
