#include "sim/measurement.h"

#include "sim/sim_ledger.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sys/resource.h>

namespace openstreaming::sim {

namespace {

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

Measurement::Measurement(const Scenario& sc, const SimNodes& nodes, const Scheduler& sched)
    : m_sc(sc), m_nodes(nodes), m_sched(sched) {}

void Measurement::mark_before_build() {
  m_rss_before_kb = rss_kb();
}
void Measurement::mark_after_build() {
  m_rss_after_build_kb = rss_kb();
}

void Measurement::start_streams(std::size_t streams) {
  m_published.assign(streams, {});
}

void Measurement::keep_original(const core::SharedSlice& payload, const PartMeta& pm, std::size_t streams) {
  m_meta[payload.view().data()] = pm;
  // Parts older than 64 per stream are far out of every node's window: forget them.
  m_live_parts.push_back(payload);
  while (m_live_parts.size() > 64 * streams) {
    m_meta.erase(m_live_parts.front().view().data());
    m_live_parts.pop_front();
  }
}

void Measurement::retire_identity(SimNode& s) {
  m_past_isolation.push_back(*s.isolated_at - s.identity_since);
  s.judged = false; // this identity is accounted for
}

std::optional<Measurement::Arrival> Measurement::record_part(std::size_t to, const core::Frame& f) {
  auto it = m_meta.find(f.payload.view().data());
  if (it == m_meta.end()) {
    ++m_invalid_frames; // a corrupted copy (or a part already forgotten)
    return std::nullopt;
  }
  const PartMeta pm = it->second;
  return Arrival{pm.stream, !record_arrival(to, pm)};
}

bool Measurement::record_arrival(std::size_t to, const PartMeta& pm) {
  SimNode& s = *m_nodes[to];
  const Timestamp now = m_sched.now();
  if (s.have.size() <= pm.stream) s.have.resize(pm.stream + 1);
  auto& have = s.have[pm.stream];
  if (have.size() <= pm.index) have.resize(pm.index + 64, 0);
  if (have[pm.index]) {
    ++m_duplicate_frames;
    return false;
  }
  have[pm.index] = 1;
  if (s.role != SimNode::Role::viewer || pm.stream != s.stream || !s.joined) return true;
  double ms = to_seconds(now - pm.published) * 1000;
  if (s.arrival_ms.size() <= pm.index) s.arrival_ms.resize(pm.index + 64, -1);
  s.arrival_ms[pm.index] = static_cast<int32_t>(std::lround(ms));
  if (!s.first_part) s.first_part = now;
  if (!s.start_index) {
    s.start_index = pm.index;
    // Nothing judged yet: playback starts here, even with a part from before
    // the join allowance ran out. Once parts were judged missed, they stay so.
    if (!s.first_due) s.next_due = std::min(skip_join_allowance(s), pm.index);
  }
  s.last_arrival_s = m_sched.seconds(now);
  m_viewer_latency.push_back(ms);
  m_second_latency.push_back(ms);
  return true;
}

uint64_t Measurement::skip_join_allowance(SimNode& s) const {
  const auto allowance = std::chrono::microseconds(static_cast<int64_t>(m_sc.playout_delay_s * 1e6));
  const auto& pub = m_published[s.stream];
  while (!s.first_due && s.next_due < pub.size() && pub[s.next_due].second < *s.joined + allowance) ++s.next_due;
  return s.next_due;
}

std::vector<std::size_t> Measurement::sample_second(const std::vector<std::vector<uint32_t>>& adj) {
  const Timestamp now = m_sched.now();
  double t = m_sched.seconds(now);
  std::vector<std::size_t> isolated;
  Sample smp;
  smp.t = t;
  const double playout_ms = m_sc.playout_delay_s * 1000;
  uint64_t due = 0, played = 0;
  for (std::size_t vi = 0; vi < m_nodes.size(); ++vi) {
    SimNode& s = *m_nodes[vi];
    if (s.role != SimNode::Role::viewer || !s.joined) continue;
    const auto& pub = m_published[s.stream];
    if (!s.start_index) {
      // Nothing yet: parts published within a join allowance (the playout
      // delay) of joining are not due; every later one whose deadline passed
      // is missed. A viewer that never starts counts against its strategy.
      skip_join_allowance(s);
    }
    while (s.next_due < pub.size() && to_seconds(now - pub[s.next_due].second) * 1000 >= playout_ms) {
      if (!s.first_due) s.first_due = s.next_due;
      ++due;
      int32_t a = s.next_due < s.arrival_ms.size() ? s.arrival_ms[s.next_due] : -1;
      if (a >= 0 && a <= playout_ms)
        ++played;
      else if (on_miss)
        on_miss(vi, a >= 0);
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
    for (uint32_t j : adj[i]) {
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
      isolated.push_back(i);
    }
  }
  smp.adversary_coherence = adv_n ? adv_sum / static_cast<double>(adv_n) : 1.0;
  smp.honest_coherence = hon_n ? hon_sum / static_cast<double>(hon_n) : 1.0;
  smp.events = m_sched.events();
  m_samples.push_back(smp);
  return isolated;
}

std::vector<double> Measurement::latencies() const {
  std::vector<double> v = m_viewer_latency;
  std::sort(v.begin(), v.end());
  return v;
}

core::U256 Measurement::earnings_wei(const SimNode& s) const {
  if (!gossip()) return s.node->agent().memory.self().earnings_wei.wei();
  // Gossip has no payments: what it moved, at what an idle honest node quotes per MB.
  core::U256 per_mb = m_nodes[0]->node->agent().economics.fair_quote(0).wei();
  return per_mb * core::U256(s.gossip.served_bytes) / core::U256(1'000'000);
}

std::vector<double> Measurement::honest_earnings_ether() const {
  std::vector<double> out;
  for (const auto& sp : m_nodes) {
    if (sp->adversary >= 0 || sp->role == SimNode::Role::broadcaster) continue;
    core::U256 e = earnings_wei(*sp);
    out.push_back(static_cast<double>(e / core::U256(1'000'000'000ULL)) / 1e9);
  }
  return out;
}

nlohmann::json Measurement::summary(uint64_t parts_published, const SimLedger* ledger) const {
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
    for (uint64_t k = s.first_due.value_or(s.next_due); k < s.next_due; ++k) {
      int32_t a = k < s.arrival_ms.size() ? s.arrival_ms[k] : -1;
      if (a < 0)
        ++never;
      else if (a > m_sc.playout_delay_s * 1000)
        ++late;
    }
    if (s.joined) viewer_hours += to_seconds(m_sched.now() - *s.joined) / 3600.0;
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
      {"events", m_sched.events()},
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
      {"adapt_topology", m_sc.adapt_topology && m_sc.strategy == "agent"},
      {"learn_weights", m_sc.learn_weights && m_sc.strategy == "agent"},
      {"duration_s", m_sc.duration_s},
      {"parts_published", parts_published},
      {"parts_due", m_due_total},
      {"parts_late", late},   // arrived after the playout deadline
      {"parts_never", never}, // not at all by the end of the run
      {"invalid_part_frames", m_invalid_frames},
      {"events_per_s", m_wall_s > 0 ? static_cast<double>(m_sched.events()) / m_wall_s : 0.0},
      {"memory_per_node_kb", m_nodes.empty() ? 0.0
                                             : static_cast<double>(rss_kb() - std::min(rss_kb(), m_rss_before_kb)) /
                                                   static_cast<double>(m_nodes.size())},
  };
  if (ledger) j["payments"] = payments_summary(*ledger);
  return j;
}

// Money, as every payee saw it and as the ledger holds it. A relationship's
// payout (the face value of the tickets it won) is a binomial draw around the
// expected value of the tickets it accepted: with face F and win probability p
// the variance is F(1-p)·EV. The payer signs tickets only for whole expected
// values of metered debt, so at any moment up to one ticket's EV is owed and
// not yet ticketed and about one more in flight; a relationship is "within 4
// sigma" when |payout - metered| <= 4 sigma + two tickets' EV at its price.
nlohmann::json Measurement::payments_summary(const SimLedger& ledger) const {
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
  const core::U256 funded = ledger.deposit_and_reserve_per_payer();
  for (const auto& sp : m_nodes) {
    if (sp->role == SimNode::Role::broadcaster) continue;
    const ledger::Account a = ledger.state().account(sp->address);
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
      {"value_conserved", ledger.value_conserved()},
      {"ledger_height", ledger.state().height()},
      {"ledger_failed_transactions", ledger.failed_transactions()},
  };
}

nlohmann::json Measurement::events_by_kind() const {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& r : m_frames.rows()) j[r.type] = r.frames;
  j["timeout"] = m_timeouts;
  return j;
}

std::string Measurement::timeseries_csv() const {
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
