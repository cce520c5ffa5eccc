#include "sim/baselines.h"

#include "core/random.h"

#include <algorithm>
#include <set>
#include <vector>

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

// Candidates at most one hop farther than the nearest: a choice beyond that can
// form routing loops that count to infinity, which no real policy would allow.
std::vector<const UpstreamCandidate*> near_enough(std::span<const UpstreamCandidate> c) {
  std::vector<const UpstreamCandidate*> out;
  if (c.empty()) return out;
  uint32_t min_hops = nearest(c)->hops;
  for (const auto& x : c) {
    if (x.hops <= min_hops + 1) out.push_back(&x);
  }
  return out;
}

// The shape both drawing baselines share. While nothing flows the choice only
// sets the distance we advertise: the nearest. The first choice once we take
// the stream, and each one after the upstream went away, is a draw (the nearest
// kept would be a different baseline); a drawn upstream is kept until it goes.
class DrawnUpstream : public agent::UpstreamPolicy {
public:
  UpstreamChoice choose(const core::StreamId& stream, std::span<const UpstreamCandidate> c,
                        std::optional<ConnId> current, const agent::RouteContext& ctx) final {
    UpstreamChoice out;
    if (c.empty()) return out;
    const UpstreamCandidate* pick = nullptr;
    const UpstreamCandidate* cur = find(c, current);
    if (!ctx.flowing) {
      pick = nearest(c);
    } else if (cur && m_chosen.count({stream, cur->conn})) {
      pick = cur;
    } else {
      pick = draw_primary(c);
      m_chosen.insert({stream, pick->conn});
    }
    out.primary = pick->conn;
    if (const auto* b = draw_backup(c, pick->conn)) out.backup = b->conn;
    return out;
  }

protected:
  virtual const UpstreamCandidate* draw_primary(std::span<const UpstreamCandidate> c) = 0;
  virtual const UpstreamCandidate* draw_backup(std::span<const UpstreamCandidate> c, ConnId primary) = 0;

private:
  std::set<std::pair<core::StreamId, ConnId>> m_chosen; // drawn upstreams (kept until they go)
};

class RandomUpstream final : public DrawnUpstream {
public:
  explicit RandomUpstream(uint64_t seed) : m_rng(seed) {}
  const char* name() const override { return "random"; }

private:
  const UpstreamCandidate* draw_primary(std::span<const UpstreamCandidate> c) override {
    auto ok = near_enough(c);
    return ok[m_rng.uniform(ok.size())];
  }
  const UpstreamCandidate* draw_backup(std::span<const UpstreamCandidate> c, ConnId primary) override {
    if (c.size() < 2) return nullptr;
    const UpstreamCandidate* b = nullptr;
    do {
      b = &c[m_rng.uniform(c.size())];
    } while (b->conn == primary);
    return b;
  }
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

class StakeWeighted final : public DrawnUpstream {
public:
  StakeWeighted(uint64_t seed, BaselineContext ctx) : m_rng(seed), m_ctx(std::move(ctx)) {}
  const char* name() const override { return "stake-weighted"; }

private:
  // One draw: 0.7 x stake share + 0.3 x uniform over the price-acceptable
  // candidates (all of them when none is acceptable, as a broadcaster with no
  // orchestrator under its limit would raise it rather than stop).
  const UpstreamCandidate* draw(std::span<const UpstreamCandidate> c, std::optional<ConnId> except) {
    std::vector<const UpstreamCandidate*> ok, all;
    for (const UpstreamCandidate* x : near_enough(c)) {
      if (x->conn == except) continue;
      all.push_back(x);
      if (!m_ctx.price_ok || m_ctx.price_ok(x->address)) ok.push_back(x);
    }
    if (ok.empty()) ok = all;
    if (ok.empty()) return nullptr;
    std::vector<double> stake(ok.size());
    double total = 0;
    for (std::size_t i = 0; i < ok.size(); ++i) total += stake[i] = m_ctx.stake ? m_ctx.stake(ok[i]->address) : 1.0;
    double u = static_cast<double>(m_rng.next_u64() >> 11) / 9007199254740992.0;
    for (std::size_t i = 0; i < ok.size(); ++i) {
      double p = 0.3 / static_cast<double>(ok.size()) +
                 (total > 0 ? 0.7 * stake[i] / total : 0.7 / static_cast<double>(ok.size()));
      if (u < p) return ok[i];
      u -= p;
    }
    return ok.back();
  }
  const UpstreamCandidate* draw_primary(std::span<const UpstreamCandidate> c) override { return draw(c, std::nullopt); }
  const UpstreamCandidate* draw_backup(std::span<const UpstreamCandidate> c, ConnId primary) override {
    return draw(c, primary);
  }
  core::DeterministicRandom m_rng;
  BaselineContext m_ctx;
};

} // namespace

std::unique_ptr<agent::UpstreamPolicy> make_baseline(const std::string& name, uint64_t seed, BaselineContext context) {
  if (name == "random") return std::make_unique<RandomUpstream>(seed);
  if (name == "latency") return std::make_unique<LowestRtt>();
  if (name == "stake-weighted") return std::make_unique<StakeWeighted>(seed, std::move(context));
  return nullptr;
}

} // namespace openstreaming::sim
