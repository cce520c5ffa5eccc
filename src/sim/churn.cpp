#include "sim/churn.h"

namespace openstreaming::sim {

Churn::Churn(const Scenario& sc, Scheduler& sched, SimRandom& rng, SimNodes& nodes, Network& network, Measurement& meas,
             NodeHost& host)
    : m_sc(sc), m_sched(sched), m_rng(rng), m_nodes(nodes), m_network(network), m_meas(meas), m_host(host) {}

void Churn::tick() {
  double per_second = m_sc.leave_per_min * static_cast<double>(m_nodes.size()) / 60.0;
  m_carry += per_second;
  while (m_carry >= 1) {
    m_carry -= 1;
    std::size_t i = m_rng.uniform(m_nodes.size());
    SimNode& s = *m_nodes[i];
    if (s.role == SimNode::Role::broadcaster || !s.alive) continue;
    kill(i);
    m_sched.at(m_sched.now() + std::chrono::microseconds(static_cast<int64_t>(m_sc.rejoin_s * 1e6)),
               [this, i] { restart(i); });
  }
}

void Churn::kill(std::size_t i) {
  SimNode& s = *m_nodes[i];
  s.alive = false;
  ++s.generation;
  s.wake.reset();
  m_network.drop_connections(i);
}

void Churn::restart(std::size_t i) {
  SimNode& r = *m_nodes[i];
  r.env = std::make_unique<agent::DeterministicEnvironment>(m_rng.next_u64());
  r.node = std::make_unique<agent::Node>(*r.key, r.options, *r.env);
  if (r.policy) r.node->streams().set_policy(*r.policy);
  if (!r.winners.empty()) {
    std::vector<pay::Winner> stored;
    for (const auto& [hash, w] : r.winners) stored.push_back(w);
    r.node->payments().restore(stored);
  }
  m_host.start_node(i);
  if (r.role == SimNode::Role::viewer) m_host.watch(i);
}

void Churn::rekey(std::size_t i) {
  m_meas.retire_identity(*m_nodes[i]);
  kill(i);
  m_sched.at(m_sched.now() + 5s, [this, i] {
    SimNode& r = *m_nodes[i];
    const core::Address old = r.address;
    r.key = core::PrivateKey::generate(m_rng);
    r.address = r.key->address();
    r.winners.clear(); // the old identity's: a new key cannot redeem them
    m_host.readdressed(i, old);
    r.isolated_at.reset();
    r.identity_since = m_sched.seconds(m_sched.now());
    restart(i);
  });
}

} // namespace openstreaming::sim
