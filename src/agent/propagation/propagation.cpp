#include "agent/propagation/propagation.h"

#include "core/hex.h"

#include <algorithm>
#include <array>

namespace openstreaming::agent {

namespace {
// A neighbour's queue: a relay whose uplink is busy `load` of the time sends a
// part to its subscribers one after another, so a new one waits about load x
// half a part on average.
double queue_ms(const NeighbourProfile* p, const RouteContext& ctx) {
  if (!p || !p->claims || ctx.part_ms <= 0) return 0;
  return std::min(100u, p->claims->load_pct) / 100.0 * ctx.part_ms / 2;
}
} // namespace

std::optional<double> PropagationEngine::stated_latency(const core::StreamId& stream, const NeighbourProfile* p) {
  if (!p || !p->claims) return std::nullopt;
  auto it = p->claims->stream_latency_ms.find(stream);
  if (it == p->claims->stream_latency_ms.end()) return std::nullopt;
  return it->second;
}

CandidateScore PropagationEngine::score(const core::StreamId& stream, const UpstreamCandidate& c, bool is_current,
                                        const RouteContext& ctx) const {
  CandidateScore s;
  s.conn = c.conn;
  s.address = c.address;
  s.hops = c.hops;
  s.rtt_ms = c.rtt_ms;
  const NeighbourProfile* p = m_memory.find(c.address);
  double rtt = c.rtt_ms < 1e6 ? c.rtt_ms : 100.0; // not measured yet: assume a WAN hop

  // Latency: what we saw through it; else what it states plus the hop and the
  // per-hop overhead we see on our current route (pacing, verification); else
  // our current route's latency scaled by distance — without information an
  // alternative is assumed to be like what we see, so a measured route is never
  // compared with an optimistic guess; with no route yet, a guess from hops.
  std::optional<double> stated = stated_latency(stream, p);
  if (is_current && ctx.current_latency_ms) {
    s.predicted_latency_ms = *ctx.current_latency_ms;
  } else if (stated) {
    // Plus its queue (the current upstream's wait is in what we observe).
    s.predicted_latency_ms = *stated + rtt / 2 + m_hop_overhead_ms + queue_ms(p, ctx);
  } else if (ctx.current_latency_ms && m_current_hops) {
    s.predicted_latency_ms = *ctx.current_latency_ms * (c.hops + 1) / (*m_current_hops + 1);
  } else {
    s.predicted_latency_ms = (c.hops + 1) * (rtt / 2 + 5.0);
  }
  s.latency = 1.0 / (1.0 + std::max(0.0, s.predicted_latency_ms) / m_o.latency_ref_ms);

  // Bandwidth: spare upload relative to what the stream needs.
  double need = ctx.stream_kbps > 0 ? ctx.stream_kbps * m_o.headroom : 0;
  std::optional<double> spare;
  if (p && p->rate_kbps.n >= m_empathy.options().min_rate_samples)
    spare = p->rate_kbps.mean;
  else if (p && p->claims && p->claims->capacity_kbps > 0) {
    spare = static_cast<double>(p->claims->capacity_kbps) * (1.0 - std::min(100u, p->claims->load_pct) / 100.0);
  }
  s.bandwidth = spare && need > 0 ? std::min(1.0, *spare / need) : 0.5;

  // Economics: cheaper than (or as cheap as) what we expect scores 1.
  const core::Amount& expected = m_economics.current_quote();
  if (p && p->claims && p->claims->has_quote && p->claims->quote_wei_per_mb.wei() > 0 && expected.wei() > 0) {
    // expected / quote in [0, 1], computed in per-mille integers
    core::U256 per_mille = expected.wei() * 1000 / p->claims->quote_wei_per_mb.wei();
    s.economics = std::min(1.0, static_cast<double>(std::min<core::U256>(per_mille, 1000)) / 1000.0);
  } else {
    s.economics = 0.5;
  }

  s.empathy = p ? p->coherence.score : 1.0;
  s.delivery = is_current && ctx.current_on_time ? *ctx.current_on_time : (p ? p->on_time.value : 1.0);
  s.status = m_empathy.status_of(p, ctx.now_ms);
  s.value =
      (m_w.latency * s.latency + m_w.bandwidth * s.bandwidth + m_w.economics * s.economics + m_w.empathy * s.empathy) *
      s.delivery;
  return s;
}

void PropagationEngine::learn(const CandidateScore& taken, double outcome) {
  if (!m_o.learn_weights || !(outcome >= 0 && outcome <= 1)) return;
  double predicted = (m_w.latency * taken.latency + m_w.bandwidth * taken.bandwidth + m_w.economics * taken.economics +
                      m_w.empathy * taken.empathy) *
                     taken.delivery;
  double step = m_o.learning_rate * (outcome - predicted) * taken.delivery;
  std::array<double*, 4> w{&m_w.latency, &m_w.bandwidth, &m_w.economics, &m_w.empathy};
  std::array<double, 4> f{taken.latency, taken.bandwidth, taken.economics, taken.empathy};
  for (std::size_t i = 0; i < w.size(); ++i) *w[i] += step * f[i];
  // Clamp, renormalise, clamp again (a weight renormalised past a bound stays
  // within it; the sum is then 1 to within the clamp's adjustment).
  for (int pass = 0; pass < 2; ++pass) {
    double sum = 0;
    for (double* x : w) {
      *x = std::clamp(*x, m_o.w_min, m_o.w_max);
      sum += *x;
    }
    for (double* x : w) *x /= sum;
  }
  for (double* x : w) *x = std::clamp(*x, m_o.w_min, m_o.w_max);
  ++m_weight_updates;
}

UpstreamChoice PropagationEngine::choose(const core::StreamId& stream, std::span<const UpstreamCandidate> candidates,
                                         std::optional<ConnId> current, const RouteContext& ctx) {
  RouteInfo& info = m_routes[stream];
  // What the current route tells about the others (see score()).
  m_current_hops.reset();
  m_hop_overhead_ms = 0;
  for (const auto& c : candidates) {
    if (!current || c.conn != *current) continue;
    m_current_hops = c.hops;
    const NeighbourProfile* p = m_memory.find(c.address);
    auto stated = stated_latency(stream, p);
    if (stated && ctx.current_latency_ms) {
      // What a hop costs beyond the link, less the current upstream's own queue
      // (each candidate's queue is estimated from its load in score()).
      m_hop_overhead_ms =
          std::max(0.0, *ctx.current_latency_ms - *stated - (c.rtt_ms < 1e6 ? c.rtt_ms : 0) / 2 - queue_ms(p, ctx));
    }
  }
  std::vector<CandidateScore>& scored = info.candidates;
  scored.clear();
  for (const auto& c : candidates) scored.push_back(score(stream, c, current == c.conn, ctx));
  std::sort(scored.begin(), scored.end(), [](const CandidateScore& a, const CandidateScore& b) {
    return a.value != b.value ? a.value > b.value : a.conn < b.conn;
  });

  auto usable = [&](const CandidateScore& s, bool as_new) {
    if (s.status == NeighbourStatus::shunned) return false;
    return !(as_new && s.status == NeighbourStatus::incoherent);
  };
  const CandidateScore* cur = nullptr;
  for (const auto& s : scored) {
    if (current && s.conn == *current) cur = &s;
  }
  const CandidateScore* best_new = nullptr;
  for (const auto& s : scored) {
    if (usable(s, true)) {
      best_new = &s;
      break;
    }
  }

  const CandidateScore* pick = nullptr;
  std::string reason;
  if (cur && cur->status == NeighbourStatus::shunned) cur = nullptr;
  if (!ctx.flowing) {
    // Nothing flows yet: the choice only sets the distance we advertise, so it
    // is the nearest (fewest hops, then RTT) — choosing a farther neighbour here
    // would make the distance vector point the wrong way.
    for (bool as_new : {true, false}) {
      for (const auto& s : scored) {
        if (!usable(s, as_new)) continue;
        if (!pick || s.hops < pick->hops || (s.hops == pick->hops && s.rtt_ms < pick->rtt_ms)) pick = &s;
      }
      if (pick) break;
    }
    // As near as the nearest: kept (no flapping on RTT noise, and each change
    // would move the distance and path it advertises).
    if (pick && cur && cur != pick && usable(*cur, false) && cur->hops <= pick->hops) pick = cur;
    reason = "nearest (not yet in use)";
  } else if (!cur) {
    pick = best_new;
    if (!pick) { // nothing trusted: better an incoherent route than none
      for (const auto& s : scored) {
        if (usable(s, false)) {
          pick = &s;
          break;
        }
      }
    }
    reason = current ? "upstream lost" : "first route";
  } else if (cur->status == NeighbourStatus::incoherent && best_new) {
    pick = best_new;
    reason = "upstream incoherent";
  } else if (best_new && best_new->conn != cur->conn && best_new->value > cur->value + m_o.hysteresis &&
             ctx.now - info.held_since >= m_o.min_dwell) {
    pick = best_new;
    reason = "better route (" + std::to_string(best_new->value).substr(0, 5) + " > " +
             std::to_string(cur->value).substr(0, 5) + ")";
  } else {
    pick = cur;
  }

  UpstreamChoice out;
  // Kept because nothing trusted is offered: any farther route may replace it.
  out.leave = ctx.flowing && pick && cur && pick == cur && cur->status == NeighbourStatus::incoherent;
  info.backups.clear();
  info.primary.reset();
  if (pick) {
    out.primary = pick->conn;
    info.primary = pick->address;
    for (const auto& s : scored) {
      if (s.conn == pick->conn || !usable(s, false)) continue;
      if (!out.backup) out.backup = s.conn;
      if (info.backups.size() < 2) info.backups.push_back(s.address);
    }
  }
  if (out.primary != info.primary_conn) info.held_since = ctx.now; // (switch bookkeeping below)
  // A second copy while the upstream is unproven or losing parts: paying for
  // some duplicates is cheaper than a stall while the evidence builds up.
  out.feed_backup = m_o.dual_feed && ctx.flowing && out.primary && out.backup &&
                    (ctx.now - info.held_since < m_o.dual_after_switch || ctx.current_delivery < m_o.dual_below);
  info.dual = out.feed_backup;
  if (out.primary != info.primary_conn) {
    if (out.primary) {
      ++info.switches;
      info.last_switch_ms = ctx.now_ms;
      info.last_switch_reason = reason;
    }
    info.primary_conn = out.primary;
  }
  return out;
}

} // namespace openstreaming::agent
