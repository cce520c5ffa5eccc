// bench/sim: how fast the simulator runs the unchanged agent core.
// Runs scenarios/honest-10k.toml for --seconds simulated seconds (default 600,
// the 10 minutes) and prints wall time, events/s, MB per node and the
// real-time factor (simulated s per wall s: > 1 is faster than real time), then
// the same for a --big node count (default 100000, --big 0 skips) for 30 s.
// Baseline in the same run: the bare scheduler cost — the same number of events
// doing nothing — so the ratio says what the agent core costs per event.
//   bench_sim [--seconds S] [--nodes N] [--big N] [--quick]
#include "sim/simulator.h"

#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <queue>
#include <string>

using namespace openstreaming;

namespace {

double bare_scheduler_seconds(uint64_t events) {
  struct Ev {
    int64_t t;
    uint64_t seq;
    std::function<void()> fn;
    bool operator>(const Ev& o) const { return t != o.t ? t > o.t : seq > o.seq; }
  };
  std::priority_queue<Ev, std::vector<Ev>, std::greater<>> q;
  uint64_t seq = 0, done = 0;
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 1024; ++i) q.push({i, seq++, [&done] { ++done; }});
  while (done < events) {
    Ev e = q.top();
    q.pop();
    e.fn();
    q.push({e.t + 1024, seq++, [&done] { ++done; }});
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void run(uint64_t nodes, double seconds, const char* label) {
  sim::Scenario sc;
  sc.name = label;
  sc.seed = 7;
  sc.nodes = nodes;
  sc.degree = 8;
  sc.duration_s = seconds;
  sc.bitrate_kbps = 3000;
  sc.viewer_fraction = 0.8;
  sc.crypto = "cost-model";
  sim::Simulator s(sc);
  auto built = s.build();
  if (!built) {
    std::printf("%s: %s\n", label, built.error().message.c_str());
    return;
  }
  s.run();
  auto j = s.summary();
  double wall = j["wall_s"].get<double>();
  auto events = j["events"].get<uint64_t>();
  double bare = bare_scheduler_seconds(events);
  std::printf("%s: %llu nodes, %.0f simulated s in %.1f wall s (real-time factor %.2f), %.0f events/s, %.1f kB/node, "
              "continuity %.3f, latency p95 %.0f ms; bare scheduler for the same %llu events %.2f s (agent core / bare "
              "= %.1f)\n",
              label, static_cast<unsigned long long>(nodes), seconds, wall, seconds / wall,
              j["events_per_s"].get<double>(), j["memory_per_node_kb"].get<double>(),
              j["continuity_index"].get<double>(), j["latency_ms"]["p95"].get<double>(),
              static_cast<unsigned long long>(events), bare, wall / std::max(bare, 1e-9));
  std::fflush(stdout); // a long run's first figure must survive a kill of the second
}

} // namespace

int main(int argc, char** argv) {
  double seconds = 600;
  uint64_t nodes = 10000, big = 100000;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--quick") {
      seconds = 5;
      nodes = 200;
      big = 0;
    } else if (a == "--seconds" && i + 1 < argc) {
      seconds = std::atof(argv[++i]);
    } else if (a == "--nodes" && i + 1 < argc) {
      nodes = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--big" && i + 1 < argc) {
      big = std::strtoull(argv[++i], nullptr, 10);
    }
  }
  run(nodes, seconds, "honest");
  if (big) run(big, 30, "big");
  return 0;
}
