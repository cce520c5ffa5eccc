#include "sim/simulator.h"

#include "agent/drain.h"
#include "core/hex.h"
#include "sim/baselines.h"
#include "sim/sim_node.h"

#include <algorithm>
#include <cmath>
#include <sys/resource.h>
#include <tuple>

namespace openstreaming::sim {

namespace {

// A simulated node's host name: n<index>.
std::string host_of(std::size_t i) {
  std::string h(1, 'n');
  h += std::to_string(i);
  return h;
}

double quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(q * static_cast<double>(v.size())))];
}

uint64_t rss_kb() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<uint64_t>(u.ru_maxrss);
}

double gini(std::vector<double> x) {
  if (x.size() < 2) return 0;
  std::sort(x.begin(), x.end());
  double sum = 0, weighted = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    sum += x[i];
    weighted += static_cast<double>(i + 1) * x[i];
  }
  if (sum <= 0) return 0;
  double n = static_cast<double>(x.size());
  return (2 * weighted) / (n * sum) - (n + 1) / n;
}

} // namespace

// A token: r = the table key (big-endian, in its last 8 bytes), s = 1, v = 27 —
// a well-formed signature no key made, cheap to make and to read back.
core::RecoverableSignature CryptoCostModel::sign_state(const Hash256& digest, const core::Address& signer) {
  uint64_t token = m_next_token++;
  std::array<uint8_t, 65> b{};
  for (int i = 0; i < 8; ++i) b[31 - i] = static_cast<uint8_t>(token >> (8 * i));
  b[63] = 1;
  b[64] = 27;
  m_states[0].emplace(token, Signed{digest, signer});
  return *core::RecoverableSignature::parse(b); // well-formed by construction
}

Result<core::Address> CryptoCostModel::recover_state(const Hash256& digest,
                                                     const core::RecoverableSignature& token) const {
  const auto& b = token.bytes();
  uint64_t key = 0;
  for (int i = 0; i < 8; ++i) key |= static_cast<uint64_t>(b[31 - i]) << (8 * i);
  for (const auto& g : m_states) {
    auto it = g.find(key);
    if (it != g.end() && it->second.digest == digest) return it->second.signer;
  }
  return make_error(Errc::bad_signature, "not a signature of this state (crypto cost model)");
}

Simulator::Simulator(Scenario scenario)
    : m_sc(std::move(scenario)), m_rng(m_sc.seed), m_t0(agent::deterministic_epoch()), m_now(m_t0) {}

Simulator::~Simulator() = default;

agent::Node& Simulator::node(std::size_t i) {
  return *m_nodes[i]->node;
}
bool Simulator::is_adversary(std::size_t i) const {
  return m_nodes[i]->adversary >= 0;
}
bool Simulator::is_viewer(std::size_t i) const {
  return m_nodes[i]->role == SimNode::Role::viewer;
}

void Simulator::at(Timestamp t, std::function<void()> fn) {
  m_queue.push(Ev{t, m_seq++, std::move(fn)});
}

Result<void> Simulator::build() {
  if (gossip() && m_sc.broadcasters != 1) {
    return make_error(Errc::unsupported, "the gossip baseline runs one topic: stream.broadcasters must be 1");
  }
  m_rss_before_kb = rss_kb();
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
  m_conns.resize(n);
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
  for (auto [a, b] : m_graph.edges) {
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
    m_link_of[{a, b}] = m_links.size();
    m_links.push_back(Link{a, b, p, LinkDirection(p), LinkDirection(p)});
  }

  // The nodes: the daemon's core with the scenario's settings.
  for (std::size_t i = 0; i < n; ++i) {
    SimNode& s = *m_nodes[i];
    s.key = core::PrivateKey::generate(m_rng);
    agent::NodeOptions& o = s.options;
    o.listen_endpoint = host_of(i) + ":7000";
    for (uint32_t j : adj[i]) {
      if (j > i) o.bootstrap.push_back(core::Endpoint{host_of(j), 7000});
    }
    o.peer_exchange = false;
    o.target_peers = std::max<std::size_t>(1, o.bootstrap.size());
    o.max_peers = adj[i].size() + 8;
    o.roles = {s.role == SimNode::Role::viewer        ? "viewer"
               : s.role == SimNode::Role::broadcaster ? "broadcaster"
                                                      : "relay"};
    o.agent_config.economics.capacity_kbps = static_cast<uint64_t>(s.bandwidth_bps / 1000);
    o.agent_config.propagation.dual_feed = m_sc.dual_feed;
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
        return payload.empty() || m_meta.count(payload.data()) ? core::PartCheck::ok : core::PartCheck::bad_hash;
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
  m_rss_after_build_kb = rss_kb();
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
  m_ledger->seal(to_us(m_now) / 1000);
  for (std::size_t i = 0; i < m_nodes.size(); ++i) {
    SimNode& s = *m_nodes[i];
    if (!s.alive) continue;
    agent::Payments& p = s.node->payments();
    p.set_ledger(m_ledger->snapshot(s.address, s.node->ledger_watch()));
    s.node->pay_due();
    pump(i);
  }
  at(m_now + std::chrono::milliseconds(m_sc.payments.block_ms), [this] { ledger_block(); });
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
  at(m_now + std::chrono::milliseconds(m_sc.payments.block_ms), [this, i, gen, batch = std::move(batch)] {
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
    if (s.role != SimNode::Role::viewer) gossip_join(i);
    return;
  }
  s.node->handle_start(m_now);
  pump(i);
}

void Simulator::kill_node(std::size_t i) {
  SimNode& s = *m_nodes[i];
  s.alive = false;
  ++s.generation;
  s.wake.reset();
  std::vector<std::tuple<agent::ConnId, std::size_t, agent::ConnId>> gone; // ours, the other end
  for (const auto& [conn, c] : m_conns[i]) {
    gone.emplace_back(conn, c.peer, c.peer_conn);
    m_conns[c.peer].erase(c.peer_conn);
  }
  m_conns[i].clear();
  std::sort(gone.begin(), gone.end()); // a fixed order of events, whatever the hash table's
  for (auto [own, j, conn] : gone) {
    uint64_t gen = m_nodes[j]->generation;
    at(m_now + 20ms, [this, j, conn, gen] {
      if (!m_nodes[j]->alive || m_nodes[j]->generation != gen) return;
      m_nodes[j]->node->handle_closed(conn, m_now);
      pump(j);
    });
  }
}

void Simulator::set_link(std::size_t a, std::size_t b, const LinkParams& p) {
  auto it = m_link_of.find({std::min(a, b), std::max(a, b)});
  if (it == m_link_of.end()) return;
  Link& l = m_links[it->second];
  l.params = p;
  l.ab.set(p);
  l.ba.set(p);
}

void Simulator::record_part(std::size_t to, const core::Frame& f) {
  auto it = m_meta.find(f.payload.view().data());
  if (it == m_meta.end()) {
    ++m_invalid_frames; // a corrupted copy (or a part already forgotten)
    return;
  }
  record_arrival(to, it->second);
}

bool Simulator::record_arrival(std::size_t to, const PartMeta& pm) {
  SimNode& s = *m_nodes[to];
  if (s.have.size() <= pm.stream) s.have.resize(pm.stream + 1);
  auto& have = s.have[pm.stream];
  if (have.size() <= pm.index) have.resize(pm.index + 64, 0);
  if (have[pm.index]) {
    ++m_duplicate_frames;
    return false;
  }
  have[pm.index] = 1;
  if (s.role != SimNode::Role::viewer || pm.stream != s.stream || !s.joined) return true;
  double ms = to_seconds(m_now - pm.published) * 1000;
  if (s.arrival_ms.size() <= pm.index) s.arrival_ms.resize(pm.index + 64, -1);
  s.arrival_ms[pm.index] = static_cast<int32_t>(std::lround(ms));
  if (!s.first_part) s.first_part = m_now;
  if (!s.start_index) {
    s.start_index = pm.index;
    s.next_due = pm.index;
  }
  s.last_arrival_s = seconds(m_now);
  m_viewer_latency.push_back(ms);
  m_second_latency.push_back(ms);
  return true;
}

void Simulator::deliver(std::size_t from, agent::ConnId conn, core::Frame frame) {
  auto it = m_conns[from].find(conn);
  if (it == m_conns[from].end()) return;
  Conn c = it->second;
  Link& l = m_links[c.link];
  LinkDirection& dir = c.forward ? l.ab : l.ba;
  std::size_t size = frame.wire_size();
  bool part = frame.type == static_cast<uint16_t>(core::MediaFrameType::part);
  if (part) {
    ++m_part_frames;
    m_media_bytes += frame.payload.size;
    m_control_bytes += size - frame.payload.size;
  } else {
    m_control_bytes += size;
  }
  SimNode& s = *m_nodes[from];
  Timestamp when = dir.arrival_via(m_now, size, m_rng, s.uplink_busy, s.bandwidth_bps);
  std::size_t to = c.peer;
  agent::ConnId to_conn = c.peer_conn;
  uint64_t gen = m_nodes[to]->generation;
  m_frames.add(frame.type, size);
  auto shared = std::make_shared<core::Frame>(std::move(frame));
  at(when, [this, to, to_conn, gen, shared, part] {
    SimNode& d = *m_nodes[to];
    if (!d.alive || d.generation != gen) return;
    if (part) record_part(to, *shared);
    d.node->handle_frame(to_conn, std::move(*shared), m_now);
    pump(to);
  });
}

// The node's outputs on the simulated links (one Sink per pump of node i).
class Simulator::Sink final : public agent::NodeSink {
public:
  Sink(Simulator& sim, std::size_t i) : m_sim(sim), m_i(i) {}
  void transmit(agent::Transmit t) override { m_sim.on_transmit(m_i, std::move(t)); }
  void connect(const agent::ConnectRequest& c) override { m_sim.on_connect(m_i, c); }
  void close(const agent::CloseRequest& c) override { m_sim.on_close(m_i, c); }
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
  deliver(i, t.conn, std::move(t.frame));
  m_nodes[i]->node->handle_sent(t.conn, size, m_now);
}

void Simulator::on_connect(std::size_t i, const agent::ConnectRequest& c) {
  SimNode& s = *m_nodes[i];
  agent::ConnId conn = c.conn;
  std::size_t target = SIZE_MAX;
  if (c.endpoint.host.size() > 1 && c.endpoint.host[0] == 'n') target = std::stoul(c.endpoint.host.substr(1));
  uint64_t gen = s.generation;
  auto link = target < m_nodes.size() ? m_link_of.find({std::min(i, target), std::max(i, target)}) : m_link_of.end();
  if (link == m_link_of.end() || !m_nodes[target]->alive) {
    at(m_now + 50ms, [this, i, conn, gen] {
      if (!m_nodes[i]->alive || m_nodes[i]->generation != gen) return;
      m_nodes[i]->node->handle_connect_failed(conn, m_now);
      pump(i);
    });
    return;
  }
  std::size_t li = link->second;
  Duration rtt = 2 * m_links[li].params.delay;
  Hash256 exporter = m_rng.bytes<32>();
  uint64_t tgen = m_nodes[target]->generation;
  at(m_now + rtt, [this, i, conn, gen, target, tgen, exporter, li] {
    bool a_ok = m_nodes[i]->alive && m_nodes[i]->generation == gen;
    bool b_ok = m_nodes[target]->alive && m_nodes[target]->generation == tgen;
    if (!a_ok) return;
    if (!b_ok) {
      m_nodes[i]->node->handle_connect_failed(conn, m_now);
      pump(i);
      return;
    }
    agent::ConnId back = m_nodes[target]->node->handle_accepted(core::Endpoint{host_of(i), 7000}, exporter, m_now);
    bool forward = m_links[li].a == i;
    m_conns[i][conn] = Conn{target, back, li, forward};
    m_conns[target][back] = Conn{i, conn, li, !forward};
    m_nodes[i]->node->handle_connected(conn, exporter, m_now);
    pump(target);
    pump(i);
  });
}

void Simulator::on_close(std::size_t i, const agent::CloseRequest& c) {
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
    at(m_now + delay, [this, j, jconn, jgen] {
      if (!m_nodes[j]->alive || m_nodes[j]->generation != jgen) return;
      m_nodes[j]->node->handle_closed(jconn, m_now);
      pump(j);
    });
  }
  uint64_t gen = s.generation;
  at(m_now, [this, i, conn, gen] {
    if (!m_nodes[i]->alive || m_nodes[i]->generation != gen) return;
    m_nodes[i]->node->handle_closed(conn, m_now);
    pump(i);
  });
}

void Simulator::on_wake(std::size_t i, Timestamp t) {
  SimNode& s = *m_nodes[i];
  if (s.wake && t >= *s.wake && *s.wake > m_now) return; // an earlier wake-up is already queued
  s.wake = t;
  uint64_t gen = s.generation;
  Timestamp when = std::max(t, m_now);
  at(when, [this, i, gen, when] {
    SimNode& sl = *m_nodes[i];
    if (!sl.alive || sl.generation != gen || sl.wake != when) return;
    sl.wake.reset();
    ++m_timeouts;
    sl.node->handle_timeout(m_now);
    pump(i);
  });
}

void Simulator::publish(std::size_t stream) {
  std::size_t b = m_broadcasters[stream];
  SimNode& s = *m_nodes[b];
  const auto part_us = static_cast<int64_t>(m_sc.part_s * 1e6);
  const auto per_segment = std::max<uint64_t>(1, static_cast<uint64_t>(std::llround(m_sc.segment_s / m_sc.part_s)));
  uint64_t k = m_next_part[stream]++;
  if (s.alive && gossip()) {
    m_published[stream].emplace_back(k, m_now);
    gossip_publish(b, k);
  } else if (s.alive) {
    core::PartInfo info;
    info.stream_id = m_stream_ids[stream];
    info.rendition = "source";
    info.segment = k / per_segment;
    info.part = static_cast<uint32_t>(k % per_segment);
    info.independent = info.part == 0;
    info.pts_us = static_cast<int64_t>(k) * part_us;
    info.duration_us = static_cast<uint32_t>(part_us);
    info.ingest_unix_ms = s.env->wall_clock_ms(m_now);
    auto size = static_cast<std::size_t>(m_sc.bitrate_kbps * 1000 / 8 * m_sc.part_s);
    auto payload = core::SharedSlice::copy_of(Bytes(size, static_cast<uint8_t>(k)));
    m_meta[payload.view().data()] = PartMeta{k, stream, m_now};
    m_published[stream].emplace_back(k, m_now);
    // Parts older than 64 per stream are far out of every node's window: forget them.
    m_live_parts.push_back(payload);
    while (m_live_parts.size() > 64 * m_broadcasters.size()) {
      m_meta.erase(m_live_parts.front().view().data());
      m_live_parts.pop_front();
    }
    s.node->streams().publish_part(info, payload, m_now);
    pump(b);
  }
  at(m_now + std::chrono::microseconds(part_us), [this, stream] { publish(stream); });
}

void Simulator::churn() {
  double per_second = m_sc.leave_per_min * static_cast<double>(m_nodes.size()) / 60.0;
  m_churn_carry += per_second;
  while (m_churn_carry >= 1) {
    m_churn_carry -= 1;
    std::size_t i = m_rng.uniform(m_nodes.size());
    SimNode& s = *m_nodes[i];
    if (s.role == SimNode::Role::broadcaster || !s.alive) continue;
    kill_node(i);
    at(m_now + std::chrono::microseconds(static_cast<int64_t>(m_sc.rejoin_s * 1e6)), [this, i] { restart_node(i); });
  }
}

void Simulator::restart_node(std::size_t i) {
  SimNode& r = *m_nodes[i];
  r.env = std::make_unique<agent::DeterministicEnvironment>(m_rng.next_u64());
  r.node = std::make_unique<agent::Node>(*r.key, r.options, *r.env);
  if (r.policy) r.node->streams().set_policy(*r.policy);
  if (!r.winners.empty()) {
    std::vector<pay::Winner> stored;
    for (const auto& [hash, w] : r.winners) stored.push_back(w);
    r.node->payments().restore(stored);
  }
  start_node(i);
  if (r.role == SimNode::Role::viewer) watch(i);
}

void Simulator::watch(std::size_t i) {
  SimNode& s = *m_nodes[i];
  if (gossip()) {
    gossip_join(i);
    return;
  }
  s.node->streams().watch(core::to_hex(m_stream_ids[s.stream], false), m_now);
  pump(i);
}

void Simulator::rekey(std::size_t i) {
  SimNode& s = *m_nodes[i];
  m_past_isolation.push_back(*s.isolated_at - s.identity_since);
  s.judged = false; // this identity is accounted for
  kill_node(i);
  at(m_now + 5s, [this, i] {
    SimNode& r = *m_nodes[i];
    m_index_of.erase(r.address);
    r.key = core::PrivateKey::generate(m_rng);
    r.address = r.key->address();
    r.winners.clear(); // the old identity's: a new key cannot redeem them
    m_index_of[r.address] = i;
    r.isolated_at.reset();
    r.identity_since = seconds(m_now);
    restart_node(i);
  });
}

void Simulator::sample_second() {
  double t = seconds(m_now);
  Sample smp;
  smp.t = t;
  const double playout_ms = m_sc.playout_delay_s * 1000;
  uint64_t due = 0, played = 0;
  for (auto& sp : m_nodes) {
    SimNode& s = *sp;
    if (s.role != SimNode::Role::viewer || !s.joined) continue;
    const auto& pub = m_published[s.stream];
    if (!s.start_index) {
      // Nothing yet: every part whose deadline passed since the viewer joined (+ a join allowance of the playout delay)
      // is missed.
      continue;
    }
    while (s.next_due < pub.size() && to_seconds(m_now - pub[s.next_due].second) * 1000 >= playout_ms) {
      ++due;
      int32_t a = s.next_due < s.arrival_ms.size() ? s.arrival_ms[s.next_due] : -1;
      if (a >= 0 && a <= playout_ms) ++played;
      ++s.next_due;
    }
    if (s.last_arrival_s > t - 1) ++smp.viewers_playing;
  }
  m_due_total += due;
  m_played_total += played;
  smp.continuity = due ? static_cast<double>(played) / static_cast<double>(due) : 1.0;
  smp.latency_p50_ms = quantile(m_second_latency, 0.5);
  m_second_latency.clear();
  // Coherence: how honest neighbours rate adversaries, and each other.
  double adv_sum = 0, hon_sum = 0;
  uint64_t adv_n = 0, hon_n = 0;
  for (std::size_t i = 0; i < m_nodes.size(); ++i) {
    SimNode& s = *m_nodes[i];
    if (!s.alive) continue;
    bool adversary = s.adversary >= 0;
    if (!adversary && i % 16 != 0) continue; // a sample of the honest ones is enough
    uint64_t judges = 0, distrust = 0;
    for (uint32_t j : m_graph_adj[i]) {
      SimNode& h = *m_nodes[j];
      if (!h.alive || h.adversary >= 0) continue;
      const agent::NeighbourProfile* p = h.node->agent().memory.find(s.node->address());
      if (!p) continue;
      // A judge is a neighbour with evidence: it took parts from it (or missed them).
      if (p->parts_from > 0 || p->parts_missing > 0 || p->parts_invalid > 0) {
        ++judges;
        if (p->status != agent::NeighbourStatus::trusted) ++distrust;
      }
      if (adversary) {
        adv_sum += p->coherence.score;
        ++adv_n;
      } else {
        hon_sum += p->coherence.score;
        ++hon_n;
      }
    }
    if (adversary && judges > 0) s.judged = true;
    if (adversary && !s.isolated_at && judges > 0 && 2 * distrust >= judges && t >= s.identity_since) {
      s.isolated_at = t;
      // A sybil whose identity is burnt comes back as a fresh one.
      if (m_sc.adversaries[static_cast<std::size_t>(s.adversary)].behavior == "sybil") rekey(i);
    }
  }
  smp.adversary_coherence = adv_n ? adv_sum / static_cast<double>(adv_n) : 1.0;
  smp.honest_coherence = hon_n ? hon_sum / static_cast<double>(hon_n) : 1.0;
  smp.events = m_events;
  m_samples.push_back(smp);
  if (static_cast<int64_t>(t) % 10 == 0) m_crypto.age(); // a signed message older than ~10 s is not repeated
}

void Simulator::run(const std::function<void(double, uint64_t)>& progress) {
  auto wall_start = std::chrono::steady_clock::now();
  m_graph_adj = m_graph.adjacency();
  for (std::size_t i = 0; i < m_nodes.size(); ++i) start_node(i);
  m_next_part.assign(m_broadcasters.size(), 0);
  m_published.assign(m_broadcasters.size(), {});
  for (std::size_t b = 0; b < m_broadcasters.size(); ++b) {
    std::size_t bi = m_broadcasters[b];
    m_stream_ids.push_back(
        m_nodes[bi]->node->streams().start_stream("stream" + std::to_string(b), "sim stream", "", m_now));
    pump(bi);
  }
  for (std::size_t b = 0; b < m_broadcasters.size(); ++b) {
    at(m_now + 1s, [this, b] { publish(b); });
  }
  if (m_ledger) at(m_now, [this] { ledger_block(); });
  // Viewers join over the first join_spread_s seconds (after a second for the mesh to form).
  for (std::size_t i = 0; i < m_nodes.size(); ++i) {
    if (m_nodes[i]->role != SimNode::Role::viewer) continue;
    double at_s = 1.0 + (m_sc.join_spread_s > 0 ? unit(m_rng) * m_sc.join_spread_s : 0.0);
    at(m_t0 + std::chrono::microseconds(static_cast<int64_t>(at_s * 1e6)), [this, i] {
      SimNode& s = *m_nodes[i];
      if (!s.alive) return;
      s.joined = m_now;
      watch(i);
    });
  }
  const auto seconds_total = static_cast<int64_t>(std::ceil(m_sc.duration_s));
  for (int64_t sec = 1; sec <= seconds_total; ++sec) {
    at(m_t0 + std::chrono::seconds(sec), [this, sec, seconds_total, &progress] {
      sample_second();
      if (m_sc.leave_per_min > 0) churn();
      if (progress) progress(static_cast<double>(sec) / static_cast<double>(seconds_total), m_events);
    });
  }
  Timestamp end = m_t0 + std::chrono::microseconds(static_cast<int64_t>(m_sc.duration_s * 1e6));
  while (!m_queue.empty() && m_queue.top().t <= end) {
    // Moving the top out is safe: pop() orders by (t, seq), which stay intact.
    Ev ev = std::move(const_cast<Ev&>(m_queue.top()));
    m_queue.pop();
    m_now = ev.t;
    ++m_events;
    ev.fn();
  }
  m_now = end;
  m_wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
}

std::vector<double> Simulator::latencies() const {
  std::vector<double> v = m_viewer_latency;
  std::sort(v.begin(), v.end());
  return v;
}

core::U256 Simulator::earnings_wei(const SimNode& s) const {
  if (!gossip()) return s.node->agent().memory.self().earnings_wei.wei();
  // Gossip has no payments: what it moved, at what an idle honest node quotes per MB.
  core::U256 per_mb = m_nodes[0]->node->agent().economics.fair_quote(0).wei();
  return per_mb * core::U256(s.gossip.served_bytes) / core::U256(1'000'000);
}

std::vector<double> Simulator::honest_earnings_ether() const {
  std::vector<double> out;
  for (const auto& sp : m_nodes) {
    if (sp->adversary >= 0 || sp->role == SimNode::Role::broadcaster) continue;
    core::U256 e = earnings_wei(*sp);
    out.push_back(static_cast<double>(e / core::U256(1'000'000'000ULL)) / 1e9);
  }
  return out;
}

nlohmann::json Simulator::summary() const {
  using nlohmann::json;
  std::vector<double> join;
  double viewer_hours = 0;
  uint64_t viewers = 0, adversaries = 0, late = 0, never = 0;
  core::U256 paid = 0;
  double mae_weighted = 0;
  uint64_t mae_n = 0;
  for (const auto& sp : m_nodes) {
    const SimNode& s = *sp;
    if (s.adversary >= 0) ++adversaries;
    paid += earnings_wei(s);
    for (const auto& [name, st] : s.node->agent().memory.predictors()) {
      mae_weighted += st.mae * static_cast<double>(st.n);
      mae_n += st.n;
    }
    if (s.role != SimNode::Role::viewer) continue;
    ++viewers;
    // Parts judged missed: did they come late, or never?
    for (uint64_t k = s.start_index.value_or(s.next_due); k < s.next_due; ++k) {
      int32_t a = k < s.arrival_ms.size() ? s.arrival_ms[k] : -1;
      if (a < 0)
        ++never;
      else if (a > m_sc.playout_delay_s * 1000)
        ++late;
    }
    if (s.joined) viewer_hours += to_seconds(m_now - *s.joined) / 3600.0;
    if (s.joined && s.first_part) join.push_back(to_seconds(*s.first_part - *s.joined));
  }
  std::vector<double> isolation = m_past_isolation;
  for (const auto& sp : m_nodes) {
    if (sp->adversary < 0 || !sp->judged) continue; // never used by anyone: nothing to judge it on
    // Never isolated within the run: censored at the end of the run.
    isolation.push_back((sp->isolated_at ? *sp->isolated_at : m_sc.duration_s) - sp->identity_since);
  }
  double rss_mb = static_cast<double>(rss_kb()) / 1024.0;
  json j = {
      {"continuity_index", m_due_total ? static_cast<double>(m_played_total) / static_cast<double>(m_due_total) : 0.0},
      {"latency_ms",
       {{"p50", quantile(m_viewer_latency, 0.5)},
        {"p95", quantile(m_viewer_latency, 0.95)},
        {"p99", quantile(m_viewer_latency, 0.99)}}},
      {"join_s", {{"p50", quantile(join, 0.5)}, {"p95", quantile(join, 0.95)}}},
      {"duplicate_ratio",
       m_part_frames ? static_cast<double>(m_duplicate_frames) / static_cast<double>(m_part_frames) : 0.0},
      {"control_overhead",
       m_media_bytes ? static_cast<double>(m_control_bytes) / static_cast<double>(m_media_bytes) : 0.0},
      {"cost_per_viewer_hour_wei",
       viewer_hours > 0
           ? (paid * core::U256(1000) / core::U256(static_cast<uint64_t>(std::max(1.0, viewer_hours * 1000)))).str()
           : "0"},
      {"honest_earnings_gini", gini(honest_earnings_ether())},
      {"adversary_isolation_s", isolation.empty() ? json(nullptr) : json(quantile(isolation, 0.5))},
      {"prediction_mae", mae_n ? mae_weighted / static_cast<double>(mae_n) : 0.0},
      {"events", m_events},
      {"events_by_kind", events_by_kind()},
      {"wall_s", m_wall_s},
      {"peak_rss_mb", rss_mb},
      {"strategy", m_sc.strategy},
      {"seed", m_sc.seed},
      {"scenario", m_sc.name},
      {"nodes", m_nodes.size()},
      {"viewers", viewers},
      {"adversaries", adversaries},
      {"crypto", m_sc.crypto},
      {"dual_feed", m_sc.dual_feed && m_sc.strategy == "agent"},
      {"duration_s", m_sc.duration_s},
      {"parts_published", m_next_part.empty() ? 0 : m_next_part[0]},
      {"parts_due", m_due_total},
      {"parts_late", late},   // arrived after the playout deadline
      {"parts_never", never}, // not at all by the end of the run
      {"invalid_part_frames", m_invalid_frames},
      {"events_per_s", m_wall_s > 0 ? static_cast<double>(m_events) / m_wall_s : 0.0},
      {"memory_per_node_kb", m_nodes.empty() ? 0.0
                                             : static_cast<double>(rss_kb() - std::min(rss_kb(), m_rss_before_kb)) /
                                                   static_cast<double>(m_nodes.size())},
  };
  if (m_ledger) j["payments"] = payments_summary();
  return j;
}

// Money, as every payee saw it and as the ledger holds it. A relationship's
// payout (the face value of the tickets it won) is a binomial draw around the
// expected value of the tickets it accepted: with face F and win probability p
// the variance is F(1-p)·EV. The payer signs tickets only for whole expected
// values of metered debt, so at any moment up to one ticket's EV is owed and
// not yet ticketed and about one more in flight; a relationship is "within 4
// sigma" when |payout - metered| <= 4 sigma + two tickets' EV at its price.
nlohmann::json Simulator::payments_summary() const {
  using nlohmann::json;
  core::U256 metered = 0, ev = 0, won = 0, redeemed = 0;
  uint64_t sent = 0, received = 0, rejected = 0, won_n = 0, redeemed_n = 0, relationships = 0, within = 0, binomial = 0;
  double worst_z = 0;
  for (const auto& sp : m_nodes) {
    const agent::PaymentRelation& gone = sp->node->payments().retired(); // forgotten after their payer left
    sent += gone.tickets_sent;
    received += gone.tickets_received;
    rejected += gone.tickets_rejected;
    won_n += gone.won;
    redeemed_n += gone.redeemed;
    metered += gone.metered_out.wei();
    ev += gone.ev_received.wei();
    won += gone.won_value.wei();
    redeemed += gone.redeemed_value.wei();
    for (const auto& [payer, r] : sp->node->payments().relations()) {
      sent += r.tickets_sent;
      if (r.price_charged.wei() == 0 && r.tickets_received == 0) continue; // we never served them
      ++relationships;
      metered += r.metered_out.wei();
      ev += r.ev_received.wei();
      won += r.won_value.wei();
      redeemed += r.redeemed_value.wei();
      received += r.tickets_received;
      rejected += r.tickets_rejected;
      won_n += r.won;
      redeemed_n += r.redeemed;
      const double face = static_cast<double>(r.issued_face_value);
      const double p = static_cast<double>(r.issued_win_prob) / static_cast<double>(pay::max_win_prob());
      const double ev_in = static_cast<double>(r.ev_received.wei());
      const double sigma = std::sqrt(std::max(0.0, face * (1 - p) * ev_in));
      const double payout = static_cast<double>(r.won_value.wei());
      const double metered_here = static_cast<double>(r.metered_out.wei());
      // One ticket's expected value at the agreed price.
      const double one_ticket =
          static_cast<double>(r.price_charged.wei()) * static_cast<double>(m_sc.payments.ticket_kb * 1024) / 1e6;
      // The draw: payout around the expected value of the tickets accepted.
      if (std::abs(payout - ev_in) <= 4 * sigma) ++binomial;
      if (sigma > 0) worst_z = std::max(worst_z, std::abs(payout - ev_in) / sigma);
      // Against what was metered: at the end of a run up to one ticket's EV is
      // owed and not yet ticketed, and about one more is in flight (a second
      // of a 2.5 Mbit/s stream is ~1.2 tickets of 256 KiB).
      if (std::abs(payout - metered_here) <= 4 * sigma + 2 * one_ticket) ++within;
    }
  }
  // What left the payers' deposits and reserves, from the ledger itself.
  core::U256 paid_out = 0;
  const core::U256 funded = m_ledger->deposit_and_reserve_per_payer();
  for (const auto& sp : m_nodes) {
    if (sp->role == SimNode::Role::broadcaster) continue;
    const ledger::Account a = m_ledger->state().account(sp->address);
    const core::U256 left = a.deposit.wei() + a.reserve.wei();
    if (left < funded) paid_out += funded - left;
  }
  return {
      {"tickets_sent", sent},
      {"tickets_received", received},
      {"tickets_rejected", rejected},
      {"tickets_won", won_n},
      {"tickets_redeemed", redeemed_n},
      {"metered_wei", metered.str()},
      {"ticket_ev_wei", ev.str()},
      {"won_wei", won.str()},
      {"redeemed_wei", redeemed.str()},
      {"ledger_paid_out_wei", paid_out.str()},
      {"payout_over_metered", metered > 0 ? static_cast<double>(won) / static_cast<double>(metered) : 0.0},
      {"relationships", relationships},
      {"relationships_within_4_sigma", within},
      {"relationships_payout_within_4_sigma_of_ev", binomial},
      {"worst_abs_z", worst_z},
      {"value_conserved", m_ledger->value_conserved()},
      {"ledger_height", m_ledger->state().height()},
      {"ledger_failed_transactions", m_ledger->failed_transactions()},
  };
}

nlohmann::json Simulator::events_by_kind() const {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& r : m_frames.rows()) j[r.type] = r.frames;
  j["timeout"] = m_timeouts;
  return j;
}

std::string Simulator::timeseries_csv() const {
  std::string out = "t_s,continuity,latency_p50_ms,adversary_coherence,honest_coherence,viewers_playing,events\n";
  char line[256];
  for (const auto& s : m_samples) {
    std::snprintf(line, sizeof line, "%.0f,%.4f,%.1f,%.4f,%.4f,%llu,%llu\n", s.t, s.continuity, s.latency_p50_ms,
                  s.adversary_coherence, s.honest_coherence, static_cast<unsigned long long>(s.viewers_playing),
                  static_cast<unsigned long long>(s.events));
    out += line;
  }
  return out;
}

} // namespace openstreaming::sim
