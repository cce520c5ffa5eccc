#include "sim/link.h"

#include <algorithm>

namespace openstreaming::sim {

namespace {
Duration serialisation(std::size_t bytes, double bps) {
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(static_cast<double>(bytes) * 8.0 / bps));
}
} // namespace

Timestamp LinkDirection::arrival(Timestamp now, std::size_t bytes, core::RandomSource& rng) {
  return arrival_via(now, bytes, rng, m_busy_until, m_p.bandwidth_bps);
}

Timestamp LinkDirection::arrival_via(Timestamp now, std::size_t bytes, core::RandomSource& rng, Timestamp& uplink_busy,
                                     double uplink_bps) {
  Timestamp start = std::max(now, uplink_busy);
  uplink_busy = start + serialisation(bytes, uplink_bps);
  Timestamp t = uplink_busy + m_p.delay;
  if (m_p.jitter.count() > 0)
    t += Duration(static_cast<int64_t>(rng.uniform(static_cast<uint64_t>(m_p.jitter.count()) + 1)));
  if (m_p.loss > 0 && static_cast<double>(rng.uniform(1'000'000)) < m_p.loss * 1e6) t += 2 * m_p.delay;
  t = std::max(t, m_last_arrival); // in order
  m_last_arrival = t;
  return t;
}

} // namespace openstreaming::sim
