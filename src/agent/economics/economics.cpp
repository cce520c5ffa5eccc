#include "agent/economics/economics.h"

#include <algorithm>
#include <cmath>

namespace openstreaming::agent {

namespace {
core::Amount or_zero(const Result<core::Amount>& r) {
  return r ? *r : core::Amount{};
}
} // namespace

core::Amount Economics::cost() const {
  return or_zero(core::checked_add(m_o.bandwidth_cost_wei_per_mb, m_o.cpu_cost_wei_per_mb));
}

core::Amount Economics::quote(double load_pct, const std::vector<core::Amount>& neighbour_quotes) const {
  auto load = static_cast<uint64_t>(std::clamp(std::lround(load_pct), 0L, 1000L));
  // cost x (1 + load/100) x 1.2 = cost x (100 + load) x 12 / 1000
  core::Amount own = or_zero(core::mul_div(cost(), core::U256((100 + load) * 12), core::U256(1000)));
  core::Amount q = own;
  if (!neighbour_quotes.empty()) {
    core::U256 sum = 0;
    for (const auto& n : neighbour_quotes) sum += n.wei();
    core::Amount mean(sum / neighbour_quotes.size());
    q = std::max(own, or_zero(core::mul_div(mean, core::U256(9), core::U256(10))));
  }
  if (m_o.overprice != 1.0) {
    auto per_mille = static_cast<uint64_t>(std::max(0.0, std::round(m_o.overprice * 1000)));
    q = or_zero(core::mul_div(q, core::U256(per_mille), core::U256(1000)));
  }
  return q;
}

core::Amount Economics::mean_neighbour_quote() const {
  core::U256 sum = 0;
  uint64_t n = 0;
  for (const auto& [a, p] : m_memory.neighbours()) {
    if (p.claims && p.claims->has_quote && p.status != NeighbourStatus::shunned) {
      sum += p.claims->quote_wei_per_mb.wei();
      ++n;
    }
  }
  return n ? core::Amount(sum / n) : core::Amount{};
}

const core::Amount& Economics::update_quote() {
  std::vector<core::Amount> quotes;
  for (const auto& [a, p] : m_memory.neighbours()) {
    // Only neighbours we trust set the going rate: an overpricing liar must not pull ours up.
    if (p.claims && p.claims->has_quote && p.status == NeighbourStatus::trusted)
      quotes.push_back(p.claims->quote_wei_per_mb);
  }
  m_quote = quote(m_memory.self().load_pct, quotes);
  return m_quote;
}

Admission Economics::admit(const std::optional<core::Amount>& max_price, bool needy, double used_kbps,
                           double stream_kbps) const {
  if (max_price && m_quote > *max_price) return {false, "price_above_limit"};
  if (m_o.capacity_kbps > 0) {
    double limit = static_cast<double>(m_o.capacity_kbps) * (needy ? 1.0 : 1.0 - m_o.needy_reserve);
    if (used_kbps + stream_kbps > limit) return {false, "capacity_full"};
  }
  return {};
}

core::Amount Economics::fair_quote(uint32_t load_pct) const {
  auto load = std::min<uint64_t>(load_pct, 1000);
  core::Amount own = or_zero(core::mul_div(cost(), core::U256((100 + load) * 12), core::U256(1000)));
  core::Amount mean = mean_neighbour_quote();
  if (mean.wei() == 0) return own;
  return std::max(own, or_zero(core::mul_div(mean, core::U256(9), core::U256(10))));
}

void Economics::served(const core::Address& to, uint64_t bytes, const core::Amount& value) {
  NeighbourProfile& p = m_memory.neighbour(to);
  p.bytes_served += bytes;
  p.credit_wei = core::saturating_add(p.credit_wei, value);
  m_memory.self().earnings_wei = core::saturating_add(m_memory.self().earnings_wei, value);
}

void Economics::received(const core::Address& from, uint64_t bytes, const core::Amount& value) {
  NeighbourProfile& p = m_memory.neighbour(from);
  p.bytes_received += bytes;
  p.owed_wei = core::saturating_add(p.owed_wei, value);
  m_memory.self().spent_wei = core::saturating_add(m_memory.self().spent_wei, value);
}

} // namespace openstreaming::agent
