// bench/transport: media-sized frames through one authenticated peer session
// (NodeRuntime -> TCP+TLS 1.3 -> NodeRuntime, the production path) versus a
// plain TLS 1.3 connection moving the same bytes in the same chunk sizes.
// Same process, same io_context thread, same TLS contexts; rounds alternate
// (ours first on even rounds, baseline first on odd) and the median of the
// per-round throughput ratios is reported. Target : >= 0.9.
//
//   build/release/bench/bench_transport [--quick] [--frame-kib N] [--round-mib N] [--rounds N]
#include "net/node_runtime.h"
#include "support/paired.h"

#include <boost/asio/ssl.hpp>

#include <cstdio>
#include <cstring>
#include <functional>
#include <spdlog/spdlog.h>

using namespace openstreaming;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

constexpr uint16_t kBenchFrameType = 64; // an application frame outside the media range, sized like a part

void run_until(asio::io_context& io, const std::function<bool()>& done) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("bench_transport: no progress for 120 s");
    if (io.stopped()) io.restart();
    io.run_one_for(std::chrono::milliseconds(50));
  }
}

struct PlainTls {
  asio::io_context& io;
  std::shared_ptr<asio::ssl::context> server_ctx, client_ctx;
  tcp::acceptor acceptor;
  std::unique_ptr<asio::ssl::stream<tcp::socket>> server, client;
  std::array<uint8_t, 64 << 10> rbuf{};

  explicit PlainTls(asio::io_context& ctx) : io(ctx), acceptor(ctx, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    server_ctx = *net::make_server_context();
    client_ctx = net::make_client_context();
    server = std::make_unique<asio::ssl::stream<tcp::socket>>(io, *server_ctx);
    client = std::make_unique<asio::ssl::stream<tcp::socket>>(io, *client_ctx);
    bool accepted = false, connected = false;
    acceptor.async_accept(server->lowest_layer(), [&](boost::system::error_code ec) {
      if (ec) throw std::runtime_error(ec.message());
      server->lowest_layer().set_option(tcp::no_delay(true));
      server->async_handshake(asio::ssl::stream_base::server, [&](boost::system::error_code hec) {
        if (hec) throw std::runtime_error(hec.message());
        accepted = true;
      });
    });
    client->lowest_layer().async_connect(acceptor.local_endpoint(), [&](boost::system::error_code ec) {
      if (ec) throw std::runtime_error(ec.message());
      client->lowest_layer().set_option(tcp::no_delay(true));
      client->async_handshake(asio::ssl::stream_base::client, [&](boost::system::error_code hec) {
        if (hec) throw std::runtime_error(hec.message());
        connected = true;
      });
    });
    run_until(io, [&] { return accepted && connected; });
  }

  // Writes `frames` chunks of `payload` back to back; returns seconds until the reader has them all.
  double round(const std::shared_ptr<const Bytes>& payload, std::size_t frames) {
    std::size_t total = payload->size() * frames, received = 0, sent = 0;
    std::function<void()> write_next = [&] {
      if (sent == frames) return;
      asio::async_write(*client, asio::buffer(*payload), [&](boost::system::error_code ec, std::size_t) {
        if (ec) throw std::runtime_error(ec.message());
        ++sent;
        write_next();
      });
    };
    std::function<void()> read_next = [&] {
      server->async_read_some(asio::buffer(rbuf), [&](boost::system::error_code ec, std::size_t n) {
        if (ec) throw std::runtime_error(ec.message());
        received += n;
        if (received < total) read_next();
      });
    };
    auto t0 = std::chrono::steady_clock::now();
    read_next();
    write_next();
    run_until(io, [&] { return received >= total; });
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
};

struct OurPath {
  asio::io_context& io;
  std::unique_ptr<net::NodeRuntime> a, b;
  agent::ConnId a_to_b = 0;
  bool b_ready = false;
  std::size_t frames_received = 0;
  std::size_t bytes_received = 0;

  explicit OurPath(asio::io_context& ctx) : io(ctx) {
    core::DeterministicRandom rng(1);
    agent::NodeOptions oa;
    oa.app_frame_types = {kBenchFrameType};
    oa.send_queue_limit = std::size_t{4} << 30; // the whole round is queued at once (payload buffers are shared)
    agent::NodeOptions ob = oa;
    a = std::move(*net::NodeRuntime::create(io, core::PrivateKey::generate(rng), oa, {}));
    ob.bootstrap = {core::Endpoint{"127.0.0.1", a->p2p_endpoint().port()}};
    b = std::move(*net::NodeRuntime::create(io, core::PrivateKey::generate(rng), ob, {}));
    a->on_event = [this](const agent::Event& e) {
      if (auto* pe = std::get_if<agent::PeerEstablished>(&e)) a_to_b = pe->conn;
    };
    b->on_event = [this](const agent::Event& e) {
      if (std::holds_alternative<agent::PeerEstablished>(e)) b_ready = true;
      if (auto* af = std::get_if<agent::AppFrame>(&e)) {
        ++frames_received;
        bytes_received += af->frame.payload.size;
      }
    };
    a->start();
    b->start();
    run_until(io, [&] { return a_to_b != 0 && b_ready; });
  }

  double round(const std::shared_ptr<const Bytes>& payload, std::size_t frames) {
    frames_received = 0;
    bytes_received = 0;
    auto t0 = std::chrono::steady_clock::now();
    a->post([&](agent::Node& node) {
      for (std::size_t i = 0; i < frames; ++i) {
        core::Frame f;
        f.type = kBenchFrameType;
        f.header = {0x08, static_cast<uint8_t>(i & 0x7f)}; // a tiny protobuf header, like a part's
        f.payload = core::SharedSlice{payload, 0, payload->size()};
        if (!node.send_app_frame(a_to_b, std::move(f))) throw std::runtime_error("send queue refused a frame");
      }
    });
    run_until(io, [&] { return frames_received >= frames; });
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
};

} // namespace

int main(int argc, char** argv) {
  bool quick = false;
  std::size_t frame_kib = 256; // a 0.5 s part at 4 Mbit/s
  std::size_t round_mib = 256;
  int rounds = 9;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--quick") quick = true;
    else if (a == "--frame-kib" && i + 1 < argc) frame_kib = std::stoul(argv[++i]);
    else if (a == "--round-mib" && i + 1 < argc) round_mib = std::stoul(argv[++i]);
    else if (a == "--rounds" && i + 1 < argc) rounds = std::stoi(argv[++i]);
  }
  if (quick) {
    round_mib = 4;
    rounds = 2;
  }
  spdlog::set_level(spdlog::level::warn);
  asio::io_context io;
  OurPath ours(io);
  PlainTls plain(io);
  auto payload = std::make_shared<const Bytes>(frame_kib << 10, static_cast<uint8_t>(0x5a));
  std::size_t frames = std::max<std::size_t>(1, (round_mib << 20) / payload->size());
  double mib = static_cast<double>(frames * payload->size()) / (1 << 20);

  std::vector<double> ours_mibs, plain_mibs, ratio;
  plain.round(payload, frames / 4 + 1); // warm-up
  ours.round(payload, frames / 4 + 1);
  for (int r = 0; r < rounds; ++r) {
    double to, tp;
    if (r % 2 == 0) {
      to = ours.round(payload, frames);
      tp = plain.round(payload, frames);
    } else {
      tp = plain.round(payload, frames);
      to = ours.round(payload, frames);
    }
    ours_mibs.push_back(mib / to);
    plain_mibs.push_back(mib / tp);
    ratio.push_back(tp / to); // throughput ratio = inverse time ratio
  }
  double om = bench::quantile(ours_mibs, 0.5), pm = bench::quantile(plain_mibs, 0.5);
  double rm = bench::quantile(ratio, 0.5);
  std::printf("bench_transport: %zu KiB frames, %.0f MiB per round, %d rounds, one thread, loopback\n", frame_kib, mib, rounds);
  std::printf("%-34s %12s %12s\n", "path", "MiB/s", "frames/s");
  std::printf("%-34s %12.1f %12.1f\n", "authenticated session (ours)", om, om * 1024.0 / static_cast<double>(frame_kib));
  std::printf("%-34s %12.1f %12.1f\n", "plain TLS 1.3 (baseline)", pm, pm * 1024.0 / static_cast<double>(frame_kib));
  std::printf("throughput ratio ours/baseline: %.3f (p25 %.3f, p75 %.3f)  target >= 0.9: %s\n", rm,
              bench::quantile(ratio, 0.25), bench::quantile(ratio, 0.75), rm >= 0.9 ? "ok" : "BELOW");
  return 0;
}
