#include "agent/upstream_policy.h"

namespace openstreaming::agent {

namespace {
bool better(const UpstreamCandidate& a, const UpstreamCandidate& b) {
  if (a.hops != b.hops) return a.hops < b.hops;
  if (a.rtt_ms != b.rtt_ms) return a.rtt_ms < b.rtt_ms;
  return a.conn < b.conn;
}
} // namespace

UpstreamChoice NearestUpstream::choose(const core::StreamId& /*stream*/, std::span<const UpstreamCandidate> candidates,
                                       std::optional<ConnId> current, const RouteContext& /*context*/) {
  UpstreamChoice out;
  const UpstreamCandidate* best = nullptr;
  const UpstreamCandidate* second = nullptr;
  for (const auto& c : candidates) {
    if (!best || better(c, *best)) {
      second = best;
      best = &c;
    } else if (!second || better(c, *second)) {
      second = &c;
    }
  }
  if (!best) return out;
  out.primary = best->conn;
  if (second) out.backup = second->conn;
  if (current && *current != best->conn) {
    for (const auto& c : candidates) {
      if (c.conn == *current && c.hops <= best->hops) { // as near as the best: keep it, no flapping
        out.backup = best->conn;
        out.primary = c.conn;
        break;
      }
    }
  }
  return out;
}

} // namespace openstreaming::agent
