#include "agent/agent.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace openstreaming::agent {

Result<Misbehaviour> parse_misbehaviour(std::string_view spec) {
  Misbehaviour m;
  auto bad = [](std::string_view item, const std::string& why) {
    return make_error(Errc::invalid_input,
                      "--misbehave: '" + std::string(item) + "': " + why +
                          " (use drop:P, delay:MS, corrupt:P, lie-capacity:F, overprice:F, after:S, comma-separated)");
  };
  std::size_t start = 0;
  while (start <= spec.size()) {
    std::size_t end = spec.find(',', start);
    if (end == std::string_view::npos) end = spec.size();
    std::string_view item = spec.substr(start, end - start);
    start = end + 1;
    if (item.empty()) {
      if (end == spec.size()) break;
      return bad(item, "empty item");
    }
    auto colon = item.find(':');
    if (colon == std::string_view::npos) return bad(item, "missing ':'");
    std::string_view key = item.substr(0, colon), val = item.substr(colon + 1);
    double v = 0;
    auto [ptr, ec] = std::from_chars(val.data(), val.data() + val.size(), v);
    if (ec != std::errc() || ptr != val.data() + val.size() || !std::isfinite(v) || v < 0)
      return bad(item, "not a non-negative number");
    if (key == "drop" || key == "corrupt") {
      if (v > 1) return bad(item, "a fraction must be between 0 and 1");
      (key == "drop" ? m.drop : m.corrupt) = v;
    } else if (key == "delay") {
      if (v > 60000) return bad(item, "at most 60000 ms");
      m.delay = std::chrono::microseconds(static_cast<int64_t>(v * 1000));
    } else if (key == "lie-capacity" || key == "overprice") {
      if (v < 1 || v > 1000) return bad(item, "a factor between 1 and 1000");
      (key == "overprice" ? m.overprice : m.lie_capacity) = v;
    } else if (key == "after") {
      if (v > 86400) return bad(item, "at most 86400 s");
      m.after = std::chrono::microseconds(static_cast<int64_t>(v * 1e6));
    } else {
      return bad(item, "unknown behaviour");
    }
  }
  if (!m.any()) return make_error(Errc::invalid_input, "--misbehave: no behaviour given");
  return m;
}

Reflection Agent::reflect(const Observation& o, Timestamp now, int64_t wall_ms) {
  // Observe.
  SelfMetrics& self = memory.self();
  const double secs = std::max(1e-3, o.seconds);
  self.upload_used_kbps = static_cast<double>(o.part_bytes_out) * 8 / 1000 / secs;
  self.upload_capacity_kbps = static_cast<double>(economics.options().capacity_kbps);
  self.load_pct = self.upload_capacity_kbps > 0 ? 100.0 * self.upload_used_kbps / self.upload_capacity_kbps : 0.0;
  self.queue_bytes = o.queue_bytes;
  self.subscribers = o.subscribers;

  // Learn: the load predicted last time against the load now; predict the next.
  if (m_load_prediction) memory.outcome(*m_load_prediction, self.load_pct);
  m_load_ewma.add(self.load_pct, 0.3);
  const int64_t step_ms = to_us(Timestamp(options.reflect_interval)) / 1000;
  m_load_prediction = memory.predict("load_pct", "self", "quote", m_load_ewma.mean, wall_ms, wall_ms + step_ms);

  // Choose: the quote, then trust (the quote is what a fair neighbour charges).
  economics.set_overprice(o.overprice);
  economics.update_quote();
  empathy.evaluate(economics.current_quote(), now, wall_ms);
  Reflection r;
  for (const auto& a : o.neighbours) {
    if (!empathy.shunned(a, wall_ms)) continue;
    const NeighbourProfile* p = memory.find(a);
    r.shun.push_back({a, p ? p->reason : std::string()});
  }
  return r;
}

} // namespace openstreaming::agent
