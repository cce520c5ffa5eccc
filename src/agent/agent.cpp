#include "agent/agent.h"

#include <charconv>
#include <cmath>

namespace openstreaming::agent {

Result<Misbehaviour> parse_misbehaviour(std::string_view spec) {
  Misbehaviour m;
  auto bad = [](std::string_view item, const std::string& why) {
    return make_error(Errc::invalid_input, "--misbehave: '" + std::string(item) + "': " + why +
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
    if (ec != std::errc() || ptr != val.data() + val.size() || !std::isfinite(v) || v < 0) return bad(item, "not a non-negative number");
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

} // namespace openstreaming::agent
