#include "sim/baselines.h"

#include "core/random.h"

#include <algorithm>

namespace openstreaming::sim {

namespace {

using agent::ConnId;
using agent::UpstreamCandidate;
using agent::UpstreamChoice;

const UpstreamCandidate* nearest(std::span<const UpstreamCandidate> c, std::optional<ConnId> except = std::nullopt) {
  const UpstreamCandidate* best = nullptr;
  for (const auto& x : c) {
    if (except && x.conn == *except) continue;
    if (!best || x.hops < best->hops || (x.hops == best->hops && x.rtt_ms < best->rtt_ms)) best = &x;
  }
  return best;
}

const UpstreamCandidate* find(std::span<const UpstreamCandidate> c, std::optional<ConnId> conn) {
  if (!conn) return nullptr;
  for (const auto& x : c) {
    if (x.conn == *conn) return &x;
  }
  return nullptr;
}

class RandomUpstream final : public agent::UpstreamPolicy {
public:
  explicit RandomUpstream(uint64_t seed) : m_rng(seed) {}
  UpstreamChoice choose(const core::StreamId&, std::span<const UpstreamCandidate> c, std::optional<ConnId> current,
                        const agent::RouteContext& ctx) override {
    UpstreamChoice out;
    if (c.empty()) return out;
    const UpstreamCandidate* pick = nullptr;
    if (!ctx.flowing)
      pick = nearest(c);
    else if (const auto* cur = find(c, current))
      pick = cur;
    else
      pick = &c[m_rng.uniform(c.size())];
    out.primary = pick->conn;
    if (c.size() > 1) {
      const UpstreamCandidate* b = nullptr;
      do {
        b = &c[m_rng.uniform(c.size())];
      } while (b->conn == pick->conn);
      out.backup = b->conn;
    }
    return out;
  }
  const char* name() const override { return "random"; }

private:
  core::DeterministicRandom m_rng;
};

class LowestRtt final : public agent::UpstreamPolicy {
public:
  UpstreamChoice choose(const core::StreamId&, std::span<const UpstreamCandidate> c, std::optional<ConnId> current,
                        const agent::RouteContext& ctx) override {
    UpstreamChoice out;
    if (c.empty()) return out;
    if (!ctx.flowing) {
      out.primary = nearest(c)->conn;
    } else {
      // Lowest RTT among the candidates at most one hop farther than the nearest:
      // ignoring distance entirely lets routes form loops (A takes from B takes
      // from C takes from A) that count to infinity, which no real policy can do.
      uint32_t min_hops = nearest(c)->hops;
      const UpstreamCandidate* best = nullptr;
      for (const auto& x : c) {
        if (x.hops > min_hops + 1) continue;
        if (!best || x.rtt_ms < best->rtt_ms || (x.rtt_ms == best->rtt_ms && x.conn < best->conn)) best = &x;
      }
      const UpstreamCandidate* cur = find(c, current);
      out.primary = cur && best->rtt_ms > 0.8 * cur->rtt_ms ? cur->conn : best->conn;
    }
    const UpstreamCandidate* backup = nullptr;
    for (const auto& x : c) {
      if (x.conn != *out.primary && (!backup || x.rtt_ms < backup->rtt_ms)) backup = &x;
    }
    if (backup) out.backup = backup->conn;
    return out;
  }
  const char* name() const override { return "latency"; }
};

} // namespace

std::unique_ptr<agent::UpstreamPolicy> make_baseline(const std::string& name, uint64_t seed) {
  if (name == "random") return std::make_unique<RandomUpstream>(seed);
  if (name == "latency") return std::make_unique<LowestRtt>();
  return nullptr;
}

} // namespace openstreaming::sim
