#include "sim/simulator.h"

#include "agent/drain.h"
#include "core/hex.h"
#include "sim/baselines.h"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace openstreaming::sim {

Simulator::Simulator(Scenario scenario)
    : m_sc(std::move(scenario)), m_rng(m_sc.seed), m_sched(agent::deterministic_epoch()),
      m_meas(m_sc, m_nodes, m_sched), m_diag(m_sc, m_nodes, m_sched),
      m_network(m_sched, m_rng, m_nodes, m_meas, m_diag, static_cast<NodeHost&>(*this)),
      m_churn(m_sc, m_sched, m_rng, m_nodes, m_network, m_meas, static_cast<NodeHost&>(*this)),
      m_gossip(m_sc, m_sched, m_rng, m_nodes, m_network, m_meas, m_diag, m_graph_adj) {
  m_diag.set_streams(&m_stream_ids);
  m_diag.set_peer_lookup([this](std::size_t i, agent::ConnId c) { return m_network.peer(i, c); });
  m_meas.on_miss = [this](std::size_t viewer, bool late) { m_diag.missed(viewer, late); };
}

Simulator::~Simulator() = default;

Result<void> Simulator::build() {
  m_meas.mark_before_build();
  auto g = make_graph(m_sc.topology, m_sc.nodes, m_sc.degree, m_rng);
  if (!g) return g.error();
  m_graph = std::move(*g);
  const std::size_t n = m_sc.nodes;
  auto adj = m_graph.adjacency();

  // Roles: broadcasters first among a shuffled order, then adversaries, then viewers.
  std::vector<std::size_t> order(n);
  for (std::size_t i = 0; i < n; ++i) order[i] = i;
  for (std::size_t i = n; i > 1; --i) std::swap(order[i - 1], order[m_rng.uniform(i)]);
  m_nodes.resize(n);
  m_network.resize(n);
  for (std::size_t i = 0; i < n; ++i) m_nodes[i] = std::make_unique<SimNode>();
  std::size_t pos = 0;
  for (std::size_t b = 0; b < m_sc.broadcasters; ++b) {
    SimNode& s = *m_nodes[order[pos++]];
    s.role = SimNode::Role::broadcaster;
    s.stream = b;
    m_broadcasters.push_back(order[pos - 1]);
  }
  for (std::size_t k = 0; k < m_sc.adversaries.size(); ++k) {
    auto count = static_cast<std::size_t>(std::llround(m_sc.adversaries[k].fraction * static_cast<double>(n)));
    for (std::size_t c = 0; c < count && pos < n; ++c) m_nodes[order[pos++]]->adversary = static_cast<int>(k);
  }
  // Viewers among the honest rest (an adversary may also watch: free riders do).
  std::vector<std::size_t> rest(order.begin() + static_cast<std::ptrdiff_t>(m_sc.broadcasters), order.end());
  auto viewers =
      static_cast<std::size_t>(std::llround(m_sc.viewer_fraction * static_cast<double>(n - m_sc.broadcasters)));
  for (std::size_t i = rest.size(); i > 1; --i) std::swap(rest[i - 1], rest[m_rng.uniform(i)]);
  for (std::size_t v = 0; v < std::min(viewers, rest.size()); ++v) {
    SimNode& s = *m_nodes[rest[v]];
    if (s.adversary >= 0 && m_sc.adversaries[static_cast<std::size_t>(s.adversary)].behavior != "free-ride") continue;
    s.role = SimNode::Role::viewer;
    s.stream = v % m_sc.broadcasters;
  }

  // Links: delay from the latency range (geometric: by distance), each node's access bandwidth from its range.
  for (std::size_t i = 0; i < n; ++i) {
    double mbps = m_sc.bandwidth_mbps[0] + unit(m_rng) * (m_sc.bandwidth_mbps[1] - m_sc.bandwidth_mbps[0]);
    m_nodes[i]->bandwidth_bps = mbps * 1e6;
    // Stake: Pareto with shape 1.16 (the 80/20 rule), as concentrated as
    // delegated stake is in practice; independent of honesty.
    m_nodes[i]->stake = std::pow(1.0 - unit(m_rng), -1.0 / 1.16);
  }
  auto link_params = [this](std::size_t a, std::size_t b) {
    double frac = unit(m_rng);
    if (!m_graph.position.empty()) {
      double dx = m_graph.position[a].first - m_graph.position[b].first,
             dy = m_graph.position[a].second - m_graph.position[b].second;
      frac = std::min(1.0, std::sqrt(dx * dx + dy * dy) / 0.25);
    }
    LinkParams p;
    p.delay = std::chrono::microseconds(
        static_cast<int64_t>((m_sc.latency_ms[0] + frac * (m_sc.latency_ms[1] - m_sc.latency_ms[0])) * 1000));
    p.bandwidth_bps = std::min(m_nodes[a]->bandwidth_bps, m_nodes[b]->bandwidth_bps);
    p.loss = m_sc.loss;
    p.jitter = p.delay / 10;
    return p;
  };
  for (auto [a, b] : m_graph.edges) m_network.add_link(a, b, link_params(a, b));
  // Nodes that adapt their topology dial nodes they learned of by peer
  // exchange: the link is made then, with the delay the same rule gives (by
  // distance on a geometric graph, so a far node is a long link).
  const bool adapt = m_sc.strategy == "agent" && m_sc.adapt_topology;
  if (adapt) m_network.set_link_factory([link_params](std::size_t a, std::size_t b) { return link_params(a, b); });

  // The nodes: the daemon's core with the scenario's settings.
  for (std::size_t i = 0; i < n; ++i) {
    SimNode& s = *m_nodes[i];
    s.key = core::PrivateKey::generate(m_rng);
    agent::NodeOptions& o = s.options;
    o.listen_endpoint = host_of(i) + ":7000";
    for (uint32_t j : adj[i]) {
      if (j > i) o.bootstrap.push_back(core::Endpoint{host_of(j), 7000});
    }
    o.peer_exchange = adapt;
    o.agent_config.topology.enabled = adapt;
    o.target_peers = std::max<std::size_t>(1, o.bootstrap.size());
    o.max_peers = adj[i].size() + 8;
    o.roles = {s.role == SimNode::Role::viewer        ? "viewer"
               : s.role == SimNode::Role::broadcaster ? "broadcaster"
                                                      : "relay"};
    o.agent_config.economics.capacity_kbps = static_cast<uint64_t>(s.bandwidth_bps / 1000);
    o.agent_config.propagation.dual_feed = m_sc.dual_feed;
    o.agent_config.propagation.learn_weights = m_sc.learn_weights;
    // At scale, fewer periodic messages than the daemon's defaults (2 s states,
    // 250 ms tick, 5 s pings): a simulated link's delay does not drift, and
    // each of these is an event at every node.
    o.agent_config.empathy.state_interval = 4s;
    o.agent_config.reflect_interval = 2s;
    o.tick = 500ms;
    o.ping_interval = 10s;
    o.send_queue_limit = 4 << 20;
    if (m_sc.payments.enabled) {
      o.payments.enabled = true;
      o.payments.redeem_cost = *core::Amount::parse(m_sc.payments.redeem_cost); // validated
      o.payments.ticket_bytes = m_sc.payments.ticket_kb * 1024;
    }
    if (m_sc.crypto == "cost-model") {
      // Parts are checked by identity: the simulator knows every original
      // payload buffer, and a corrupted part is a copy. Neighbour states are
      // signed with tokens (CryptoCostModel); announcements are checked for
      // real once per distinct signed bytes, a repeat answered from a table.
      // Handshakes stay real.
      o.part_verifier = [this](const core::PartInfo&, ByteView payload, ByteView, const core::Address&) {
        return payload.empty() || m_meas.is_original(payload.data()) ? core::PartCheck::ok : core::PartCheck::bad_hash;
      };
      o.state_signer = [this, i](const Hash256& digest) { return m_crypto.sign_state(digest, m_nodes[i]->address); };
      o.state_recover = [this](const Hash256& digest, const core::RecoverableSignature& sig) {
        return m_crypto.recover_state(digest, sig);
      };
      o.event_verifier = [this](const core::NostrEvent& ev) {
        return m_crypto.event(ev.id + ev.sig + core::serialize_for_id(ev), [&] { return !!core::verify_event(ev); });
      };
    }
    if (s.adversary >= 0) {
      const Adversary& a = m_sc.adversaries[static_cast<std::size_t>(s.adversary)];
      agent::Misbehaviour& m = o.misbehave;
      m.after = std::chrono::microseconds(static_cast<int64_t>(a.start_s * 1e6));
      if (a.behavior == "drop")
        m.drop = a.param > 0 ? a.param : 0.5;
      else if (a.behavior == "delay")
        m.delay = std::chrono::microseconds(static_cast<int64_t>((a.param > 0 ? a.param : 800) * 1000));
      else if (a.behavior == "corrupt")
        m.corrupt = a.param > 0 ? a.param : 1.0;
      else if (a.behavior == "lie-capacity")
        m.lie_capacity = a.param > 0 ? a.param : 10;
      else if (a.behavior == "overprice")
        m.overprice = a.param > 0 ? a.param : 3;
      else if (a.behavior == "free-ride")
        m.drop = 1.0; // takes the stream, passes nothing on
      else if (a.behavior == "covert-flash")
        m.drop = a.param > 0 ? a.param : 1.0; // honest until start_s, then all at once
      else if (a.behavior == "sybil") {
        // Many cheap identities of one operator: each claims 10x its capacity to
        // attract subscribers, drops `param` of what it forwards, and once burnt
        // (isolated) comes back 5 s later under a fresh key (rekey()).
        m.drop = a.param > 0 ? a.param : 0.5;
        m.lie_capacity = 10;
      }
      s.identity_since = a.start_s;
    }
    s.env = std::make_unique<agent::DeterministicEnvironment>(m_rng.next_u64());
    s.node = std::make_unique<agent::Node>(*s.key, o, *s.env);
    if (m_sc.strategy != "agent" && m_sc.strategy != "gossip") {
      BaselineContext ctx;
      ctx.stake = [this](const core::Address& a) {
        auto it = m_index_of.find(a);
        return it == m_index_of.end() ? 0.0 : m_nodes[it->second]->stake;
      };
      // Price-acceptable: at most twice what an idle honest node quotes (a
      // broadcaster's fixed price limit, as in Livepeer).
      ctx.price_ok = [this, i](const core::Address& a) {
        const agent::Agent& me = m_nodes[i]->node->agent();
        const agent::NeighbourProfile* p = me.memory.find(a);
        if (!p || !p->claims || !p->claims->has_quote) return true;
        return p->claims->quote_wei_per_mb.wei() <= me.economics.fair_quote(0).wei() * 2;
      };
      s.policy = make_baseline(m_sc.strategy, m_rng.next_u64(), std::move(ctx));
      if (!s.policy) return make_error(Errc::unsupported, "unknown strategy '" + m_sc.strategy + "'");
      s.node->streams().set_policy(*s.policy);
    }
    s.address = s.key->address();
    m_index_of[s.address] = i;
  }
  if (m_sc.payments.enabled) {
    if (auto r = build_ledger(); !r) return r.error();
  }
  m_meas.mark_after_build();
  return {};
}

// ---- Payments -------------------------------------------------------------------

Result<void> Simulator::build_ledger() {
  const PaymentScenario& ps = m_sc.payments;
  LedgerSettings ls;
  ls.block_ms = ps.block_ms;
  ls.round_blocks = ps.round_blocks;
  ls.deposit = *core::Amount::parse(ps.deposit); // validated
  ls.reserve = *core::Amount::parse(ps.reserve);
  std::vector<core::Address> accounts;
  for (const auto& sp : m_nodes) accounts.push_back(sp->address);
  m_ledger = std::make_unique<SimLedger>(ls, accounts);
  // Everyone but the broadcasters receives media and pays for it.
  for (const auto& sp : m_nodes) {
    if (sp->role == SimNode::Role::broadcaster) continue;
    if (auto r = m_ledger->fund(*sp->key); !r) return r.error();
  }
  return {};
}

void Simulator::ledger_block() {
  m_ledger->seal(to_us(m_sched.now()) / 1000);
  for (std::size_t i = 0; i < m_nodes.size(); ++i) {
    SimNode& s = *m_nodes[i];
    if (!s.alive) continue;
    agent::Payments& p = s.node->payments();
    p.set_ledger(m_ledger->snapshot(s.address, s.node->ledger_watch()));
    s.node->pay_due();
    pump(i);
  }
  m_sched.at(m_sched.now() + std::chrono::milliseconds(m_sc.payments.block_ms), [this] { ledger_block(); });
}

void Simulator::on_persist(std::size_t i, const agent::Payments::StoreOp& op) {
  SimNode& s = *m_nodes[i];
  if (op.add)
    s.winners[op.winner.hash] = op.winner;
  else
    s.winners.erase(op.winner.hash);
}

void Simulator::on_redeem(std::size_t i, std::vector<pay::Winner> batch) {
  // The transaction is mined in the next block; a node that died meanwhile
  // never hears back (its restart resubmits what it stored).
  uint64_t gen = m_nodes[i]->generation;
  m_sched.at(m_sched.now() + std::chrono::milliseconds(m_sc.payments.block_ms),
             [this, i, gen, batch = std::move(batch)] {
               SimNode& s = *m_nodes[i];
               if (!s.alive || s.generation != gen) return;
               auto outcomes = m_ledger->redeem(*s.key, batch);
               if (outcomes.empty())
                 s.node->payments().on_redeem_failed("the redemption transaction was refused");
               else
                 s.node->payments().on_redeemed(outcomes);
               pump(i);
             });
}

void Simulator::start_node(std::size_t i) {
  SimNode& s = *m_nodes[i];
  s.alive = true;
  if (gossip()) { // the agent nodes stay idle; the mesh carries the stream
    if (s.role != SimNode::Role::viewer) {
      for (std::size_t t = 0; t < m_sc.broadcasters; ++t) m_gossip.join(i, t);
    }
    return;
  }
  s.node->handle_start(m_sched.now());
  pump(i);
}

// The node's outputs on the simulated links (one Sink per pump of node i).
class Simulator::Sink final : public agent::NodeSink {
public:
  Sink(Simulator& sim, std::size_t i) : m_sim(sim), m_i(i) {}
  void transmit(agent::Transmit t) override { m_sim.on_transmit(m_i, std::move(t)); }
  void connect(const agent::ConnectRequest& c) override { m_sim.m_network.connect(m_i, c); }
  void close(const agent::CloseRequest& c) override { m_sim.m_network.close(m_i, c); }
  void wake_at(Timestamp t) override { m_sim.on_wake(m_i, t); }
  void persist(const agent::Payments::StoreOp& op) override { m_sim.on_persist(m_i, op); }
  void redeem(std::vector<pay::Winner> batch) override { m_sim.on_redeem(m_i, std::move(batch)); }

private:
  Simulator& m_sim;
  std::size_t m_i;
};

void Simulator::pump(std::size_t i) {
  if (!m_nodes[i]->alive) return;
  Sink sink(*this, i);
  agent::drain(*m_nodes[i]->node, sink);
}

void Simulator::on_transmit(std::size_t i, agent::Transmit t) {
  std::size_t size = t.frame.wire_size();
  m_network.transmit(i, t.conn, std::move(t.frame));
  m_nodes[i]->node->handle_sent(t.conn, size, m_sched.now());
}

void Simulator::on_wake(std::size_t i, Timestamp t) {
  SimNode& s = *m_nodes[i];
  if (s.wake && t >= *s.wake && *s.wake > m_sched.now()) return; // an earlier wake-up is already queued
  s.wake = t;
  uint64_t gen = s.generation;
  Timestamp when = std::max(t, m_sched.now());
  m_sched.at(when, [this, i, gen, when] {
    SimNode& sl = *m_nodes[i];
    if (!sl.alive || sl.generation != gen || sl.wake != when) return;
    sl.wake.reset();
    m_meas.count_timeout();
    sl.node->handle_timeout(m_sched.now());
    pump(i);
  });
}

void Simulator::publish(std::size_t stream) {
  std::size_t b = m_broadcasters[stream];
  SimNode& s = *m_nodes[b];
  const auto part_us = static_cast<int64_t>(m_sc.part_s * 1e6);
  const auto per_segment = std::max<uint64_t>(1, static_cast<uint64_t>(std::llround(m_sc.segment_s / m_sc.part_s)));
  uint64_t k = m_next_part[stream]++;
  const Timestamp now = m_sched.now();
  if (s.alive && gossip()) {
    m_meas.published(stream, k, now);
    m_gossip.publish(b, stream, k);
  } else if (s.alive) {
    core::PartInfo info;
    info.stream_id = m_stream_ids[stream];
    info.rendition = "source";
    info.segment = k / per_segment;
    info.part = static_cast<uint32_t>(k % per_segment);
    info.independent = info.part == 0;
    info.pts_us = static_cast<int64_t>(k) * part_us;
    info.duration_us = static_cast<uint32_t>(part_us);
    info.ingest_unix_ms = s.env->wall_clock_ms(now);
    auto size = static_cast<std::size_t>(m_sc.bitrate_kbps * 1000 / 8 * m_sc.part_s);
    auto payload = core::SharedSlice::copy_of(Bytes(size, static_cast<uint8_t>(k)));
    m_meas.keep_original(payload, PartMeta{k, stream, now}, m_broadcasters.size());
    m_meas.published(stream, k, now);
    s.node->streams().publish_part(info, payload, now);
    pump(b);
  }
  m_sched.at(now + std::chrono::microseconds(part_us), [this, stream] { publish(stream); });
}

void Simulator::watch(std::size_t i) {
  SimNode& s = *m_nodes[i];
  if (gossip()) {
    m_gossip.join(i, s.stream);
    return;
  }
  s.node->streams().watch(core::to_hex(m_stream_ids[s.stream], false), m_sched.now());
  pump(i);
}

void Simulator::run(const std::function<void(double, uint64_t)>& progress) {
  auto wall_start = std::chrono::steady_clock::now();
  m_graph_adj = m_graph.adjacency();
  for (std::size_t i = 0; i < m_nodes.size(); ++i) start_node(i);
  m_next_part.assign(m_broadcasters.size(), 0);
  m_meas.start_streams(m_broadcasters.size());
  for (std::size_t b = 0; b < m_broadcasters.size(); ++b) {
    std::size_t bi = m_broadcasters[b];
    m_stream_ids.push_back(
        m_nodes[bi]->node->streams().start_stream("stream" + std::to_string(b), "sim stream", "", m_sched.now()));
    pump(bi);
  }
  for (std::size_t b = 0; b < m_broadcasters.size(); ++b) {
    m_sched.at(m_sched.now() + 1s, [this, b] { publish(b); });
  }
  if (m_ledger) m_sched.at(m_sched.now(), [this] { ledger_block(); });
  // Viewers join over the first join_spread_s seconds (after a second for the mesh to form).
  for (std::size_t i = 0; i < m_nodes.size(); ++i) {
    if (m_nodes[i]->role != SimNode::Role::viewer) continue;
    double at_s = 1.0 + (m_sc.join_spread_s > 0 ? unit(m_rng) * m_sc.join_spread_s : 0.0);
    m_sched.at(m_sched.t0() + std::chrono::microseconds(static_cast<int64_t>(at_s * 1e6)), [this, i] {
      SimNode& s = *m_nodes[i];
      if (!s.alive) return;
      s.joined = m_sched.now();
      watch(i);
    });
  }
  const auto seconds_total = static_cast<int64_t>(std::ceil(m_sc.duration_s));
  for (int64_t sec = 1; sec <= seconds_total; ++sec) {
    m_sched.at(m_sched.t0() + std::chrono::seconds(sec), [this, sec, seconds_total, &progress] {
      each_second();
      if (m_sc.leave_per_min > 0) m_churn.tick();
      if (progress) progress(static_cast<double>(sec) / static_cast<double>(seconds_total), m_sched.events());
    });
  }
  Timestamp end = m_sched.t0() + std::chrono::microseconds(static_cast<int64_t>(m_sc.duration_s * 1e6));
  m_sched.run_until(end);
  m_meas.set_wall_s(std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count());
}

void Simulator::readdressed(std::size_t i, const core::Address& old) {
  m_index_of.erase(old);
  m_index_of[m_nodes[i]->address] = i;
}

void Simulator::each_second() {
  // A sybil whose identity is burnt comes back as a fresh one.
  for (std::size_t i : m_meas.sample_second(m_graph_adj)) {
    if (m_sc.adversaries[static_cast<std::size_t>(m_nodes[i]->adversary)].behavior == "sybil") m_churn.rekey(i);
  }
  // A signed message older than ~10 s is not repeated.
  const auto second = static_cast<int64_t>(m_sched.seconds(m_sched.now()));
  if (second % 10 == 0) m_crypto.age();
  m_diag.sample_switches();
  if (second % 5 == 0) m_diag.sample();
  const auto third = static_cast<int64_t>(m_sc.duration_s / 3);
  if (third > 0 && (second == third || second == 2 * third)) m_errors_at[second == third ? 0 : 1] = prediction_errors();
}

std::map<std::string, Simulator::ErrorSum> Simulator::prediction_errors() const {
  std::map<std::string, ErrorSum> out;
  for (const auto& n : m_nodes) {
    if (!n->alive || !n->node) continue;
    for (const auto& [name, st] : n->node->agent().memory.predictors()) {
      ErrorSum& e = out[name];
      e.abs += st.mae * static_cast<double>(st.n);
      e.n += st.n;
    }
  }
  return out;
}

nlohmann::json Simulator::summary() const {
  nlohmann::json j = m_meas.summary(m_next_part.empty() ? 0 : m_next_part[0], m_ledger.get());
  j["diagnostics"] = m_diag.summary(m_sc.duration_s);
  // Local topology adaptation: neighbours the nodes alive at the end replaced,
  // and links made for nodes dialled off the graph.
  uint64_t replaced = 0;
  for (const auto& n : m_nodes) {
    if (n->alive && n->node) replaced += n->node->metrics().neighbours_replaced;
  }
  j["diagnostics"]["topology"] = {{"neighbours_replaced", replaced}, {"links_made", m_network.links_made()}};
  // Learning: each predictor's mean absolute error over the first, middle and
  // last third of the run (from the running sums; a node that died and came
  // back restarts its sums, so its share of a third can be low), and the
  // calibration error of the on-time ratio predicted, over every live node's bins.
  const auto end = prediction_errors();
  nlohmann::json thirds = nlohmann::json::object();
  for (const auto& [name, e] : end) {
    const ErrorSum a = m_errors_at[0].count(name) ? m_errors_at[0].at(name) : ErrorSum{};
    const ErrorSum b = m_errors_at[1].count(name) ? m_errors_at[1].at(name) : ErrorSum{};
    auto mean = [](double abs, int64_t n) {
      return n > 0 && abs >= 0 ? nlohmann::json(abs / static_cast<double>(n)) : nlohmann::json(nullptr);
    };
    thirds[name] = {mean(a.abs, static_cast<int64_t>(a.n)),
                    mean(b.abs - a.abs, static_cast<int64_t>(b.n) - static_cast<int64_t>(a.n)),
                    mean(e.abs - b.abs, static_cast<int64_t>(e.n) - static_cast<int64_t>(b.n))};
  }
  agent::PredictorStats merged;
  for (const auto& n : m_nodes) {
    if (!n->alive || !n->node) continue;
    const auto& ps = n->node->agent().memory.predictors();
    auto it = ps.find("route_on_time");
    if (it == ps.end()) continue;
    for (std::size_t k = 0; k < merged.bins.size(); ++k) {
      merged.bins[k].n += it->second.bins[k].n;
      merged.bins[k].predicted += it->second.bins[k].predicted;
      merged.bins[k].actual += it->second.bins[k].actual;
    }
  }
  auto ce = merged.calibration_error();
  j["diagnostics"]["learning"] = {
      {"prediction_mae_by_third", thirds},
      {"route_on_time_calibration_error", ce ? nlohmann::json(*ce) : nlohmann::json(nullptr)}};
  return j;
}

} // namespace openstreaming::sim
