#include "sim/diagnostics.h"

#include <algorithm>

namespace openstreaming::sim {

using nlohmann::json;

Histogram::Histogram(std::vector<double> upper_bounds)
    : m_bounds(std::move(upper_bounds)), m_counts(m_bounds.size() + 1, 0) {}

void Histogram::add(double v, uint64_t n) {
  auto it = std::lower_bound(m_bounds.begin(), m_bounds.end(), v);
  m_counts[static_cast<std::size_t>(it - m_bounds.begin())] += n;
  m_total += n;
  m_sum += v * static_cast<double>(n);
  m_max = std::max(m_max, v);
}

double Histogram::quantile(double q) const {
  if (m_total == 0) return 0;
  const double want = q * static_cast<double>(m_total);
  uint64_t seen = 0;
  for (std::size_t b = 0; b < m_counts.size(); ++b) {
    seen += m_counts[b];
    if (static_cast<double>(seen) >= want && m_counts[b] > 0)
      return b < m_bounds.size() ? std::min(m_bounds[b], m_max) : m_max;
  }
  return m_max;
}

namespace {

std::vector<double> steps(double to) {
  std::vector<double> v;
  for (double x = 0; x <= to; ++x) v.push_back(x);
  return v;
}

} // namespace

Diagnostics::Diagnostics(const Scenario& sc, const SimNodes& nodes, const Scheduler& sched)
    : m_sc(sc), m_nodes(nodes), m_sched(sched),
      m_queue_ms({0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000}), m_depth(steps(64)),
      m_subscribers({0, 1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24, 32, 48, 64, 96, 128, 256}) {}

void Diagnostics::sent(std::size_t from, std::size_t bytes, bool part, Duration queued) {
  if (m_bytes_sent.size() <= from) m_bytes_sent.resize(m_nodes.size(), 0);
  m_bytes_sent[from] += bytes;
  if (part) m_queue_ms.add(to_seconds(queued) * 1000);
}

const agent::Stream* Diagnostics::stream_of(std::size_t i) const {
  const SimNode& s = *m_nodes[i];
  if (!m_ids || s.stream >= m_ids->size() || !s.node) return nullptr;
  return s.node->streams().find((*m_ids)[s.stream]);
}

void Diagnostics::part_arrived(std::size_t to, agent::ConnId conn, std::size_t stream, bool duplicate) {
  if (!duplicate) return;
  const SimNode& s = *m_nodes[to];
  const agent::Stream* st =
      m_ids && stream < m_ids->size() && s.node ? s.node->streams().find((*m_ids)[stream]) : nullptr;
  if (st && st->upstream == conn)
    ++m_dup_upstream;
  else if (st && st->second == conn)
    ++m_dup_second;
  else
    ++m_dup_other;
}

Diagnostics::Walk Diagnostics::walk(std::size_t i) const {
  Walk w;
  if (!m_peer) {
    w.end = Chain::no_upstream;
    return w;
  }
  const Timestamp now = m_sched.now();
  const Duration part = std::chrono::duration_cast<Duration>(std::chrono::duration<double>(m_sc.part_s));
  std::size_t at = i;
  for (; w.hops <= 64; ++w.hops) {
    const SimNode& s = *m_nodes[at];
    if (!s.alive) {
      w.end = Chain::dead;
      return w;
    }
    if (s.role == SimNode::Role::broadcaster) return w;
    const agent::Stream* st = stream_of(at);
    std::optional<std::size_t> up;
    if (st && st->upstream) up = m_peer(at, *st->upstream);
    if (!up) {
      w.end = Chain::no_upstream;
      return w;
    }
    const SimNode& u = *m_nodes[*up];
    if (u.alive && u.uplink_busy > now + part) w.saturated = true;
    at = *up;
  }
  w.end = Chain::loop; // more hops than nodes can be deep (kMaxHops): the pointers loop
  return w;
}

Diagnostics::Miss Diagnostics::cause(std::size_t viewer) const {
  if (!agent_routes() || !m_peer) return Miss::in_flight;
  Walk w = walk(viewer);
  switch (w.end) {
  case Chain::no_upstream:
    return Miss::no_route;
  case Chain::dead:
    return Miss::upstream_dead;
  case Chain::loop:
    return Miss::loop;
  case Chain::complete:
    break;
  }
  return w.saturated ? Miss::saturated_path : Miss::in_flight;
}

void Diagnostics::missed(std::size_t viewer, bool late) {
  ++m_missed[static_cast<std::size_t>(late ? Miss::late : cause(viewer))];
}

void Diagnostics::sample() {
  ++m_samples;
  if (!agent_routes()) return;
  if (m_switches_seen.size() < m_nodes.size()) m_switches_seen.resize(m_nodes.size(), 0);
  for (std::size_t i = 0; i < m_nodes.size(); ++i) {
    const SimNode& s = *m_nodes[i];
    if (!s.alive) continue;
    const agent::Stream* st = stream_of(i);
    if (!st) continue;
    if (!st->subscribers.empty()) m_subscribers.add(static_cast<double>(st->subscribers.size()));
    if (s.role == SimNode::Role::broadcaster) continue;
    // Re-parenting: switches since the last sample (a restarted node counts from 0 again).
    const uint64_t now_switches = st->upstream_switches;
    m_switches += now_switches >= m_switches_seen[i] ? now_switches - m_switches_seen[i] : now_switches;
    m_switches_seen[i] = now_switches;
    if (st->upstream) ++m_routed_samples;
    if (s.role != SimNode::Role::viewer || !s.joined) continue;
    ++m_viewer_samples;
    Walk w = walk(i);
    ++m_chains[static_cast<std::size_t>(w.end)];
    if (w.end == Chain::complete) m_depth.add(static_cast<double>(w.hops));
  }
}

void Diagnostics::sample_switches() {
  if (m_sc.strategy != "agent" || !m_ids) return;
  if (m_engine_seen.size() < m_nodes.size()) m_engine_seen.resize(m_nodes.size(), 0);
  for (std::size_t i = 0; i < m_nodes.size(); ++i) {
    const SimNode& s = *m_nodes[i];
    if (!s.alive || !s.node || s.stream >= m_ids->size()) continue;
    const auto& routes = s.node->agent().propagation.routes();
    auto it = routes.find((*m_ids)[s.stream]);
    if (it == routes.end()) continue;
    const uint64_t n = it->second.switches;
    const uint64_t delta = n >= m_engine_seen[i] ? n - m_engine_seen[i] : n; // restarted: counts from 0
    m_engine_seen[i] = n;
    if (delta == 0) continue;
    // "better route (0.61 > 0.55)" -> "better route"
    const std::string& r = it->second.last_switch_reason;
    m_reasons[r.substr(0, r.find(" ("))] += delta;
  }
}

json Diagnostics::summary(double duration_s) const {
  auto round3 = [](double v) { return std::round(v * 1000) / 1000; };
  // Uplink utilisation: bytes sent against what the uplink could carry over the run.
  Histogram util({0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0});
  uint64_t saturated = 0, counted = 0;
  for (std::size_t i = 0; i < m_nodes.size(); ++i) {
    const double capacity = m_nodes[i]->bandwidth_bps / 8 * std::max(duration_s, 1.0);
    const double u = i < m_bytes_sent.size() && capacity > 0 ? static_cast<double>(m_bytes_sent[i]) / capacity : 0;
    util.add(u);
    ++counted;
    if (u >= 0.9) ++saturated;
  }
  json out;
  out["uplink"] = {
      {"utilisation_p50", round3(util.quantile(0.5))},
      {"utilisation_p90", round3(util.quantile(0.9))},
      {"utilisation_p99", round3(util.quantile(0.99))},
      {"utilisation_max", round3(util.max())},
      {"nodes_above_90pct", counted ? round3(static_cast<double>(saturated) / static_cast<double>(counted)) : 0.0},
      {"part_queue_ms_p50", round3(m_queue_ms.quantile(0.5))},
      {"part_queue_ms_p95", round3(m_queue_ms.quantile(0.95))},
      {"part_queue_ms_max", round3(m_queue_ms.max())}};
  const uint64_t dups = m_dup_upstream + m_dup_second + m_dup_other;
  out["duplicates"] = {{"total", dups},
                       {"from_upstream", m_dup_upstream},
                       {"from_dual_feed", m_dup_second},
                       {"from_others", m_dup_other}};
  uint64_t missed = 0;
  for (auto n : m_missed) missed += n;
  out["missed"] = {{"total", missed},         {"late", m_missed[0]},          {"no_route", m_missed[1]},
                   {"loop", m_missed[2]},     {"upstream_dead", m_missed[3]}, {"saturated_path", m_missed[4]},
                   {"in_flight", m_missed[5]}};
  if (!agent_routes()) {
    out["tree"] = nullptr; // gossip has no upstream tree
    return out;
  }
  const double node_minutes = static_cast<double>(m_routed_samples) * 5.0 / 60.0; // sampled every 5 s
  auto share = [&](uint64_t n) {
    return m_viewer_samples ? round3(static_cast<double>(n) / static_cast<double>(m_viewer_samples)) : 0.0;
  };
  out["tree"] = {
      {"samples", m_samples},
      {"depth_mean", round3(m_depth.mean())},
      {"depth_p50", m_depth.quantile(0.5)},
      {"depth_p95", m_depth.quantile(0.95)},
      {"depth_max", m_depth.max()},
      {"viewers_without_path", share(m_viewer_samples - m_chains[0])},
      {"viewers_chain_no_upstream", share(m_chains[1])},
      {"viewers_chain_dead", share(m_chains[2])},
      {"viewers_chain_loop", share(m_chains[3])},
      {"subscribers_per_upstream_p50", m_subscribers.quantile(0.5)},
      {"subscribers_per_upstream_p95", m_subscribers.quantile(0.95)},
      {"subscribers_per_upstream_max", m_subscribers.max()},
      {"reparent_per_node_minute", node_minutes > 0 ? round3(static_cast<double>(m_switches) / node_minutes) : 0.0},
      // The agent's own choices by reason; the rest of the re-parentings are
      // the router leaving an upstream that went silent or sent bad parts.
      {"agent_switches_by_reason", m_reasons}};
  return out;
}

} // namespace openstreaming::sim
