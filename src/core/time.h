// Time as a value. The core never reads a clock: every handle_*() takes `now`.
//
// AgentClock is a clock type with no now(): std::chrono arithmetic and type
// safety, without the ability to read the time. Its epoch is arbitrary; the
// live runtime maps steady_clock onto it, the simulator starts it at a
// non-zero value so code that assumes t=0 means "unset" breaks early.
#pragma once

#include <chrono>
#include <cstdint>

namespace openstreaming {

struct AgentClock {
  using duration = std::chrono::microseconds;
  using rep = duration::rep;
  using period = duration::period;
  using time_point = std::chrono::time_point<AgentClock, duration>;
  static constexpr bool is_steady = true;
};

using Timestamp = AgentClock::time_point;
using Duration = AgentClock::duration;

using namespace std::chrono_literals;

inline constexpr Timestamp timestamp_from_us(int64_t us) { return Timestamp(Duration(us)); }
inline constexpr int64_t to_us(Timestamp t) { return t.time_since_epoch().count(); }
inline constexpr double to_ms(Duration d) { return static_cast<double>(d.count()) / 1000.0; }
inline constexpr double to_seconds(Duration d) { return static_cast<double>(d.count()) / 1e6; }

} // namespace openstreaming
