// bench_latency: glass-to-glass latency of live video through 3 relay hops on
// loopback, and the per-hop forwarding delay against a raw TCP
// relay of the same bytes measured in the same run.
//
//   broadcaster (--ingest testsrc) -> relay1 -> relay2 -> relay3 -> viewer
//
// Real `openstreaming node` processes. Glass-to-glass is from the moment the
// broadcaster cuts a part (its signed ingest time) to the moment the viewer has
// verified it and lists it in its playlist (LL-HLS part), as the viewer's
// /api/streams reports it. Per hop: (viewer mean − relay1 mean) / 3.
//
// Baseline, concurrently: four plain TCP links through three store-and-forward
// relay threads (length-prefixed messages, no TLS, no verification), one
// message of the mean part size every part interval; per hop = mean delay / 4.
//
//   bench_latency [--seconds N] [--quick]     (default 60 s; --quick: 8 s)
#include "core/random.h"
#include "support/node_process.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace openstreaming;
using Clock = std::chrono::steady_clock;

// ---- The raw TCP relay chain (baseline) ------------------------------------------

int listen_loopback(uint16_t& port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 || ::listen(fd, 1) != 0) throw std::runtime_error("listen");
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  port = ntohs(a.sin_port);
  return fd;
}

int connect_loopback(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) throw std::runtime_error("connect");
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)); // as the node's sockets
  return fd;
}

bool read_all(int fd, uint8_t* p, std::size_t n) {
  while (n > 0) {
    ssize_t r = ::read(fd, p, n);
    if (r <= 0) return false;
    p += r;
    n -= static_cast<std::size_t>(r);
  }
  return true;
}

bool write_all(int fd, const uint8_t* p, std::size_t n) {
  while (n > 0) {
    ssize_t r = ::send(fd, p, n, MSG_NOSIGNAL);
    if (r <= 0) return false;
    p += r;
    n -= static_cast<std::size_t>(r);
  }
  return true;
}

// Reads whole length-prefixed messages from `in` and writes each to `out` once complete.
void relay_loop(int in, int out) {
  std::vector<uint8_t> buf;
  for (;;) {
    uint8_t len[4];
    if (!read_all(in, len, 4)) break;
    uint32_t n = (uint32_t{len[0]} << 24) | (uint32_t{len[1]} << 16) | (uint32_t{len[2]} << 8) | len[3];
    buf.resize(4 + n);
    std::memcpy(buf.data(), len, 4);
    if (!read_all(in, buf.data() + 4, n)) break;
    if (!write_all(out, buf.data(), buf.size())) break;
  }
  ::close(in);
  ::close(out);
}

struct Baseline {
  std::vector<double> delays_ms; // source -> sink, 4 links
};

// Sends one message of `size` bytes every `interval` until `stop`; returns the delays.
Baseline run_baseline(std::size_t size, std::chrono::milliseconds interval, const std::atomic<bool>& stop) {
  constexpr int kRelays = 3;
  uint16_t ports[kRelays + 1];
  int listeners[kRelays + 1];
  for (int i = 0; i <= kRelays; ++i) listeners[i] = listen_loopback(ports[i]);
  std::vector<std::thread> relays;
  for (int i = 0; i < kRelays; ++i) {
    relays.emplace_back([&, i] {
      int in = ::accept(listeners[i], nullptr, nullptr);
      int out = connect_loopback(ports[i + 1]);
      relay_loop(in, out);
    });
  }
  Baseline result;
  std::mutex m;
  std::thread sink([&] {
    int in = ::accept(listeners[kRelays], nullptr, nullptr);
    std::vector<uint8_t> buf;
    for (;;) {
      uint8_t len[4];
      if (!read_all(in, len, 4)) break;
      uint32_t n = (uint32_t{len[0]} << 24) | (uint32_t{len[1]} << 16) | (uint32_t{len[2]} << 8) | len[3];
      buf.resize(n);
      if (!read_all(in, buf.data(), n)) break;
      int64_t sent_ns = 0;
      std::memcpy(&sent_ns, buf.data(), sizeof(sent_ns));
      double ms = static_cast<double>(Clock::now().time_since_epoch().count() - sent_ns) / 1e6;
      std::lock_guard lock(m);
      result.delays_ms.push_back(ms);
    }
    ::close(in);
  });
  int src = connect_loopback(ports[0]);
  core::DeterministicRandom rng(1);
  std::vector<uint8_t> msg(4 + std::max<std::size_t>(size, 8));
  rng.fill(std::span<uint8_t>(msg.data() + 4, msg.size() - 4)); // the bytes do not matter; their number does
  uint32_t n = static_cast<uint32_t>(msg.size() - 4);
  msg[0] = static_cast<uint8_t>(n >> 24);
  msg[1] = static_cast<uint8_t>(n >> 16);
  msg[2] = static_cast<uint8_t>(n >> 8);
  msg[3] = static_cast<uint8_t>(n);
  auto next = Clock::now();
  while (!stop) {
    int64_t now_ns = Clock::now().time_since_epoch().count();
    std::memcpy(msg.data() + 4, &now_ns, sizeof(now_ns));
    if (!write_all(src, msg.data(), msg.size())) break;
    next += interval;
    std::this_thread::sleep_until(next);
  }
  ::close(src);
  for (auto& t : relays) t.join();
  sink.join();
  for (int fd : listeners) ::close(fd);
  return result;
}

// ---- The real chain ---------------------------------------------------------------

nlohmann::json stream_of(const test::NodeProcess& n) {
  auto list = n.get_json("/api/streams");
  if (list.is_array()) {
    for (const auto& s : list) {
      if (s["name"] == "bench") return s;
    }
  }
  return nullptr;
}

double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0 : s / static_cast<double>(v.size());
}

double quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(q * static_cast<double>(v.size() - 1) + 0.5)];
}

int run(int seconds) {
  test::TempDir dir;
  std::vector<std::unique_ptr<test::NodeProcess>> nodes;
  for (std::size_t i = 0; i < 5; ++i) {
    test::NodeSpec spec;
    spec.peer_exchange = false;
    spec.config_toml = test::kFastTiming;
    if (i > 0) spec.bootstrap = {nodes[i - 1]->p2p()};
    if (i == 0) spec.extra_args = {"--ingest", "testsrc", "--stream", "bench"};
    if (i == 4) spec.extra_args = {"--watch", "bench"};
    nodes.push_back(std::make_unique<test::NodeProcess>(dir, "n" + std::to_string(i), 900 + i, spec));
    nodes.back()->start();
  }
  test::NodeProcess& relay1 = *nodes[1];
  test::NodeProcess& viewer = *nodes[4];
  auto deadline = Clock::now() + std::chrono::seconds(40);
  while (Clock::now() < deadline) {
    auto s = stream_of(viewer);
    if (!s.is_null() && s["stats"]["parts_received"].get<uint64_t>() >= 2) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  auto start_v = stream_of(viewer), start_r = stream_of(relay1);
  if (start_v.is_null() || start_r.is_null()) {
    std::fprintf(stderr, "bench_latency: the stream did not reach the viewer\n");
    return 1;
  }
  double part_bytes = viewer.metric("openstreaming_frame_bytes_total", {"type=\"part\"", "direction=\"in\""}) /
                      std::max<double>(1, start_v["stats"]["parts_received"].get<double>());

  std::atomic<bool> stop{false};
  Baseline baseline;
  std::thread base([&] { baseline = run_baseline(static_cast<std::size_t>(part_bytes), std::chrono::milliseconds(500), stop); });
  for (int i = 0; i < seconds; ++i) {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    if (::isatty(2)) std::fprintf(stderr, "\rbench_latency: %d/%d s", i + 1, seconds);
  }
  if (::isatty(2)) std::fprintf(stderr, "\n");
  stop = true;
  base.join();
  auto end_v = stream_of(viewer), end_r = stream_of(relay1);

  // Means over the window from the running sums (the counters are exact; quantiles
  // come from the node's ring of its last 512 samples, i.e. this window).
  auto window_mean = [](const nlohmann::json& a, const nlohmann::json& b) {
    double n0 = a["stats"]["latency_ms"]["samples"].get<double>(), n1 = b["stats"]["latency_ms"]["samples"].get<double>();
    double s0 = a["stats"]["latency_ms"]["mean"].get<double>() * n0, s1 = b["stats"]["latency_ms"]["mean"].get<double>() * n1;
    return std::make_pair(n1 > n0 ? (s1 - s0) / (n1 - n0) : 0.0, n1 - n0);
  };
  auto [viewer_mean, viewer_n] = window_mean(start_v, end_v);
  auto [relay1_mean, relay1_n] = window_mean(start_r, end_r);
  double p50 = end_v["stats"]["latency_ms"]["p50"].get<double>();
  double p95 = end_v["stats"]["latency_ms"]["p95"].get<double>();
  double ours_hop = (viewer_mean - relay1_mean) / 3.0;
  double base_hop = mean(baseline.delays_ms) / 4.0;

  std::printf("bench_latency: %d s of testsrc, 0.5 s parts of %.0f bytes, broadcaster -> 3 relays -> viewer on loopback\n",
              seconds, part_bytes);
  std::printf("  glass-to-glass at the viewer (part cut -> verified, in its playlist): p50 %.1f ms  p95 %.1f ms  mean %.2f ms"
              "  over %.0f parts  (target p95 <= 1000 ms: %s)\n",
              p50, p95, viewer_mean, viewer_n, p95 <= 1000 ? "met" : "MISSED");
  std::printf("  per-hop forwarding delay: openstreaming %.3f ms (relay1 mean %.2f ms over %.0f parts), raw TCP relay %.3f ms"
              " (p50 %.3f ms over %zu messages, 4 links)\n",
              ours_hop, relay1_mean, relay1_n, base_hop, quantile(baseline.delays_ms, 0.5) / 4.0, baseline.delays_ms.size());
  std::printf("  ratio per hop openstreaming / raw TCP: %.1f  (timestamps in the signed part header are whole ms:"
              " means over many parts are unbiased, single samples are not)\n",
              base_hop > 0 ? ours_hop / base_hop : 0.0);
  std::printf("  parts invalid at the viewer: %d, late: %d\n", end_v["stats"]["parts_invalid"].get<int>(),
              end_v["stats"]["parts_late"].get<int>());
  for (auto it = nodes.rbegin(); it != nodes.rend(); ++it) (*it)->stop();
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  int seconds = 60;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--quick") seconds = 8;
    else if (a == "--seconds" && i + 1 < argc) seconds = std::max(1, std::atoi(argv[++i]));
    else {
      std::fprintf(stderr, "usage: bench_latency [--seconds N] [--quick]\n");
      return 2;
    }
  }
  try {
    return run(seconds);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_latency: %s\n", e.what());
    return 1;
  }
}
