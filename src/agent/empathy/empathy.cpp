#include "agent/empathy/empathy.h"

#include <algorithm>

namespace openstreaming::agent {

bool Empathy::on_upstream_part(const core::Address& from, double latency_ms, std::optional<double> claimed_ms,
                               double rtt_ms, double part_ms) {
  NeighbourProfile& p = m_memory.neighbour(from);
  ++p.parts_from;
  if (!claimed_ms) return true; // no latency stated (yet): nothing to hold it to
  // On time: no later than the neighbour's own latency plus the hop (RTT), its
  // send queue and a slack. Later than that by more than a part's worth is too
  // late to play. The queue: a relay sends each part to its subscribers one
  // after another, so at the load it claims (at most 100 %) the last copy
  // leaves up to load x a part's duration after the first — an honest busy
  // relay is slower to some of its subscribers, not withholding from them.
  double queue = 0;
  if (p.claims && part_ms > 0) queue = std::min(100u, p.claims->load_pct) / 100.0 * part_ms;
  double budget = claimed_ms.value_or(0.0) + std::max(rtt_ms, 0.0) + queue + to_ms(m_o.on_time_slack);
  bool on_time = latency_ms <= budget;
  bool too_late = latency_ms > budget + to_ms(m_o.playback_slack);
  if (!on_time) ++p.parts_late;
  p.on_time.add(on_time, m_o.alpha_parts);
  if (too_late) { // as useless as a missing part
    p.on_time_recent.add(0.0, m_o.alpha_recent);
    p.on_time_recent.add(0.0, m_o.alpha_recent);
  } else {
    p.on_time_recent.add(on_time ? 1.0 : 0.5, m_o.alpha_recent); // late but playable: half honoured
  }
  rescore(p, /*reprice=*/false);
  return on_time;
}

void Empathy::on_upstream_missing(const core::Address& from) {
  NeighbourProfile& p = m_memory.neighbour(from);
  ++p.parts_missing;
  p.on_time.add(false, m_o.alpha_parts);
  // A part it had (the producer sent it) and did not pass on is a request not
  // honoured at all: for cooperation it weighs as two late parts.
  p.on_time_recent.add(false, m_o.alpha_recent);
  p.on_time_recent.add(false, m_o.alpha_recent);
  rescore(p, /*reprice=*/false);
}

void Empathy::on_upstream_excused(const core::Address& from, uint64_t n) {
  NeighbourProfile& p = m_memory.neighbour(from);
  n = std::min<uint64_t>(n, 64);
  p.parts_missing -= std::min(p.parts_missing, n);
  p.parts_excused += n;
  // The mirror of on_upstream_missing: as if those parts had come on time.
  for (uint64_t k = 0; k < n; ++k) {
    p.on_time.add(true, m_o.alpha_parts);
    p.on_time_recent.add(true, m_o.alpha_recent);
    p.on_time_recent.add(true, m_o.alpha_recent);
  }
  rescore(p, /*reprice=*/false);
}

void Empathy::on_rate_sample(const core::Address& from, double kbps) {
  NeighbourProfile& p = m_memory.neighbour(from);
  p.rate_kbps.add(kbps, m_o.alpha_rate);
  rescore(p, /*reprice=*/false);
}

void Empathy::on_rtt(const core::Address& from, double rtt_ms) {
  m_memory.neighbour(from).rtt_ms.add(rtt_ms, 0.2);
}

bool Empathy::on_invalid_part(const core::Address& from, int64_t now_ms) {
  NeighbourProfile& p = m_memory.neighbour(from);
  ++p.parts_invalid;
  p.on_time.add(false, m_o.alpha_parts);
  if (p.parts_invalid >= m_o.hostile_invalid_parts) {
    shun(p, now_ms, "sent " + std::to_string(p.parts_invalid) + " invalid parts");
    return true;
  }
  return false;
}

bool Empathy::on_state(const core::Address& from, const NeighbourClaims& claims, bool valid, int64_t now_ms) {
  NeighbourProfile& p = m_memory.neighbour(from);
  if (!valid) {
    ++p.states_forged;
    shun(p, now_ms, "sent a forged state message");
    return true;
  }
  ++p.states_received;
  p.last_seen_ms = now_ms;
  // A checkable claim: capacity, once we have seen enough of its real rate.
  if (claims.capacity_kbps > 0 && p.rate_kbps.n >= m_o.min_rate_samples) {
    p.claims_confirmed.add(p.rate_kbps.mean >= m_o.capacity_ratio * static_cast<double>(claims.capacity_kbps),
                           m_o.alpha_claims);
  }
  p.claims = claims;
  rescore(p);
  return false;
}

void Empathy::on_refused(const core::Address& from) {
  ++m_memory.neighbour(from).subscriptions_refused;
}

bool Empathy::on_unsolicited(const core::Address& from, int64_t now_ms) {
  NeighbourProfile& p = m_memory.neighbour(from);
  ++p.frames_unsolicited;
  if (p.frames_unsolicited >= m_o.hostile_unsolicited && p.status != NeighbourStatus::shunned) {
    shun(p, now_ms, "sent " + std::to_string(p.frames_unsolicited) + " frames we never asked for");
    return true;
  }
  return false;
}

void Empathy::shun(NeighbourProfile& p, int64_t now_ms, const std::string& why) {
  p.shunned_until_ms = now_ms + m_o.shun_ms;
  p.status = NeighbourStatus::shunned;
  p.reason = why;
}

// The coherence score from the evidence so far. Called on every observation,
// so the score is current when the router acts on it (and stays what it was
// when a neighbour stops sending evidence); status changes happen in evaluate().
void Empathy::rescore(NeighbourProfile& p, bool reprice) const {
  CoherenceComponents c;
  if (p.claims && p.claims->capacity_kbps > 0 && p.rate_kbps.n >= m_o.min_rate_samples) {
    c.capacity = p.rate_kbps.mean >= m_o.capacity_ratio * static_cast<double>(p.claims->capacity_kbps);
  }
  // Fair: what the quote formula gives at the load the neighbour claims (a busy
  // honest node asks more); without the formula, our own quote.
  if (!reprice) {
    c.price = p.coherence.price;
  } else if (core::Amount expected = m_fair && p.claims ? m_fair(p.claims->load_pct) : m_expected;
             p.claims && p.claims->has_quote && expected.wei() > 0 && m_expected.wei() > 0) {
    // |quote - expected| <= tolerance x expected, in integers (percent).
    core::U256 q = p.claims->quote_wei_per_mb.wei() * 100, e = expected.wei();
    auto pct = static_cast<unsigned>(m_o.price_tolerance * 100 + 0.5);
    c.price = q <= e * (100 + pct) && q >= e * (100 - std::min(pct, 100u));
  }
  c.reliability = p.on_time.value >= m_o.reliability_min;
  c.cooperation = std::min(p.on_time_recent.value, p.claims_confirmed.value) >= m_o.cooperation_min;
  c.score = (c.capacity ? m_o.w_capacity : 0) + (c.price ? m_o.w_price : 0) + (c.reliability ? m_o.w_reliability : 0) +
            (c.cooperation ? m_o.w_cooperation : 0);
  p.coherence = c;
}

void Empathy::evaluate(const core::Amount& expected_price, Timestamp now, int64_t now_ms) {
  m_expected = expected_price;
  for (const auto& [addr, ignored] : m_memory.neighbours()) {
    NeighbourProfile& p = m_memory.neighbour(addr);
    rescore(p);
    const CoherenceComponents& c = p.coherence;
    if (p.shunned_until_ms > now_ms) {
      p.status = NeighbourStatus::shunned;
      continue;
    }
    bool coherent = c.score > m_o.coherent_above + 1e-9;
    if (!coherent) {
      if (!p.incoherent_since) p.incoherent_since = now;
      if (now - *p.incoherent_since >= m_o.sustained && p.probation_until_ms <= now_ms) {
        ++p.episodes;
        int64_t len = m_o.probation_ms << std::min<uint32_t>(p.episodes - 1, 20);
        p.probation_until_ms = now_ms + std::min(len, m_o.probation_max_ms);
      }
    } else {
      p.incoherent_since.reset();
    }
    if (!coherent || p.probation_until_ms > now_ms) {
      p.status = NeighbourStatus::incoherent;
      if (!coherent) {
        std::string why;
        if (!c.capacity) why += "capacity below its claim; ";
        if (!c.price) why += "price off; ";
        if (!c.reliability) why += "late or missing parts; ";
        if (!c.cooperation) why += "does not do what it says; ";
        p.reason = why.empty() ? "" : why.substr(0, why.size() - 2);
      } else {
        p.reason = "on probation after incoherence";
      }
    } else {
      p.status = NeighbourStatus::trusted;
      p.reason.clear();
    }
  }
}

NeighbourStatus Empathy::status(const core::Address& a, int64_t now_ms) const {
  return status_of(m_memory.find(a), now_ms);
}

NeighbourStatus Empathy::status_of(const NeighbourProfile* p, int64_t now_ms) {
  if (!p) return NeighbourStatus::trusted;
  if (p->shunned_until_ms > now_ms) return NeighbourStatus::shunned;
  return p->status == NeighbourStatus::shunned ? NeighbourStatus::trusted : p->status;
}

bool Empathy::shunned(const core::Address& a, int64_t now_ms) const {
  const NeighbourProfile* p = m_memory.find(a);
  return p && p->shunned_until_ms > now_ms;
}

double Empathy::coherence(const core::Address& a) const {
  const NeighbourProfile* p = m_memory.find(a);
  return p ? p->coherence.score : 1.0;
}

} // namespace openstreaming::agent
