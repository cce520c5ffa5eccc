// The simulator's link model : one direction of a link between two
// nodes, like a TCP connection over a path with a propagation delay, a
// bottleneck bandwidth, random loss and jitter.
//
//   arrival = max(now, busy_until) + size / bandwidth      (serialisation + queueing)
//             + delay + jitter                               (propagation)
//             + loss ? one retransmission (2 × delay) : 0    (TCP recovers a loss with an RTT)
//
// Frames on one direction never overtake each other (TCP delivers in order), so
// an arrival is never earlier than the previous one. No I/O; the randomness is
// the caller's seeded source.
#pragma once

#include "core/random.h"
#include "core/time.h"

namespace openstreaming::sim {

struct LinkParams {
  Duration delay{10ms};        // one-way propagation
  double bandwidth_bps = 50e6; // bottleneck
  double loss = 0;             // probability a frame needs a retransmission
  Duration jitter{0};          // uniform in [0, jitter]
};

class LinkDirection {
public:
  explicit LinkDirection(LinkParams p = {}) : m_p(p) {}
  const LinkParams& params() const { return m_p; }
  // When a frame of `bytes` sent at `now` arrives at the other end.
  Timestamp arrival(Timestamp now, std::size_t bytes, core::RandomSource& rng);
  // The same, serialised on a sender's uplink shared by all its links (busy
  // until `uplink_busy`, at `uplink_bps`) instead of this link's own bandwidth.
  Timestamp arrival_via(Timestamp now, std::size_t bytes, core::RandomSource& rng, Timestamp& uplink_busy,
                        double uplink_bps);
  Timestamp busy_until() const { return m_busy_until; }

private:
  LinkParams m_p;
  Timestamp m_busy_until{};
  Timestamp m_last_arrival{};
};

} // namespace openstreaming::sim
