#include "daemon/run_node.h"

#include "api/ledger_link.h"
#include "api/node_api.h"
#include "api/nostr_client.h"
#include "core/amount.h"
#include "core/hex.h"
#include "core/part.h"
#include "daemon/ingest_plan.h"
#include "daemon/nostr_discovery.h"
#include "media/ingest.h"
#include "net/node_runtime.h"
#include "platform/files.h"
#include "platform/key_files.h"
#include "platform/sqlite_memory_store.h"
#include "platform/sqlite_winner_store.h"
#include "platform/system_random.h"

#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <memory>
#include <thread>

namespace openstreaming::daemon {

namespace {
int fail(const Error& e) {
  std::cerr << "error: " << e.message << "\n";
  return kBadInput;
}
} // namespace

// A token that changes at each start cannot be handed to remote clients: a
// non-loopback API needs a given file.
Result<std::string> api_token(const std::string& file, const std::string& data_dir, bool loopback) {
  if (!file.empty()) {
    auto text = platform::read_file(file, 4096);
    if (!text) return make_error(Errc::invalid_input, "--api-token-file: " + text.error().message);
    std::string t = *text;
    t.erase(t.find_last_not_of(" \t\r\n") + 1);
    t.erase(0, t.find_first_not_of(" \t\r\n"));
    if (t.size() < 16 || t.find_first_of(" \t\r\n") != std::string::npos)
      return make_error(Errc::invalid_input,
                        "--api-token-file " + file + ": the token must be 16+ characters, no spaces");
    return t;
  }
  if (!loopback)
    return make_error(Errc::invalid_input, "--api on a non-loopback address needs --api-token-file FILE (the bearer "
                                           "token remote clients use for state-changing requests)");
  platform::SystemRandom rng;
  std::array<uint8_t, 32> raw{};
  rng.fill(raw);
  std::string token = core::to_hex(raw, false);
  auto path = std::filesystem::path(data_dir) / "api-token";
  std::error_code ec;
  std::filesystem::remove(path, ec);
  if (auto w = platform::write_new_file(path, token + "\n", 0600); !w) return w.error();
  return token;
}

Result<std::string> read_stream_key(const NodeConfig& c) {
  if (c.stream_key_file.empty()) return std::string();
  std::string stream_key;
  auto text = platform::read_file(c.stream_key_file, 4096);
  if (!text) return make_error(Errc::invalid_input, "--stream-key-file: " + text.error().message);
  stream_key = *text;
  stream_key.erase(stream_key.find_last_not_of(" \t\r\n") + 1);
  stream_key.erase(0, stream_key.find_first_not_of(" \t\r\n"));
  bool srt = !c.srt_listen.empty();
  if (stream_key.size() < (srt ? 10u : 1u) || stream_key.size() > (srt ? 79u : 256u) ||
      stream_key.find_first_of(" \t\r\n&?/#") != std::string::npos) {
    return make_error(Errc::invalid_input, "--stream-key-file " + c.stream_key_file + ": the key must be " +
                                               (srt ? "10-79" : "1-256") + " characters, none of & ? / # or spaces");
  }
  if (c.rtmp_listen.empty() && !srt)
    return make_error(Errc::invalid_input, "--stream-key-file needs --rtmp-listen or --srt-listen");
  // FFmpeg's RTMP listener tells a stream name only when it differs from --stream (media/ingest.h).
  if (stream_key == c.stream)
    return make_error(Errc::invalid_input, "--stream-key-file: the key must differ from the stream's name");
  return stream_key;
}

// A node told to watch streams, with Nostr relays and no bootstrap peer,
// finds each broadcaster's endpoint in the relays' announcements and dials
// it. Relays are asked again every second for up to `patience` (the
// broadcaster may not have published yet); an error names what was missing.
Result<void> bootstrap_from_nostr(const std::vector<api::RelayUrl>& relays, const std::vector<std::string>& watch,
                                  std::vector<core::Endpoint>& bootstrap, std::chrono::milliseconds patience) {
  const auto give_up = std::chrono::steady_clock::now() + patience;
  for (const auto& w : watch) {
    std::vector<std::string> errors;
    for (;;) {
      // Each relay gets its share of what patience is left (at least 200 ms, at most 5 s).
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(give_up - std::chrono::steady_clock::now());
      const auto each = std::clamp(left / static_cast<long>(relays.size()), std::chrono::milliseconds(200),
                                   std::chrono::milliseconds(5000));
      auto found = api::find_live_activities(relays, discovery_filter(w), each);
      errors = found.errors;
      auto eps = broadcaster_endpoints(found.events, w);
      if (!eps.empty()) {
        for (const auto& ep : eps) {
          spdlog::info("nostr: '{}' is broadcast from {}", w, ep.to_string());
          if (std::find(bootstrap.begin(), bootstrap.end(), ep) == bootstrap.end()) bootstrap.push_back(ep);
        }
        break;
      }
      if (std::chrono::steady_clock::now() >= give_up) {
        std::string why = "no live announcement of '" + w + "' with an endpoint on the Nostr relays";
        for (const auto& e : errors) why += "; " + e;
        return make_error(Errc::not_found, why);
      }
      std::this_thread::sleep_for(std::chrono::seconds(1));
    }
  }
  return {};
}

int run_node(NodeConfig c, const RunOptions& run) {
  const bool broadcasting = daemon::is_broadcasting(c);
  if (broadcasting && std::find(c.roles.begin(), c.roles.end(), "broadcaster") == c.roles.end()) {
    c.roles.push_back("broadcaster");
  }

  auto options = to_node_options(c);
  if (!options) return fail(options.error());
  if (!run.misbehave.empty()) {
    auto mb = agent::parse_misbehaviour(run.misbehave);
    if (!mb) return fail(mb.error());
    options->misbehave = *mb;
    spdlog::warn("MISBEHAVING ON PURPOSE (test/demo only): --misbehave {}", run.misbehave);
  }
  std::error_code ec;
  std::filesystem::create_directories(c.data_dir, ec);
  if (ec) return fail(make_error(Errc::io, "--data-dir " + c.data_dir + ": " + ec.message()));

  platform::PasswordRequest pw;
  if (!c.password_file.empty()) pw.file = c.password_file;
  auto key = platform::load_key_file(c.key, pw);
  if (!key) return fail(key.error());

  auto listen = *core::Endpoint::parse(c.listen, true);
  auto api_ep = *core::Endpoint::parse(c.api, true);
  boost::system::error_code addr_ec;
  auto api_addr = boost::asio::ip::make_address(api_ep.host, addr_ec);
  // A host that is not an IP address fails to bind below with its own error.
  auto token = api_token(c.api_token_file, c.data_dir, addr_ec || api_addr.is_loopback());
  if (!token) return fail(token.error());
  std::vector<api::RelayUrl> relays;
  for (const auto& u : c.nostr_relays) relays.push_back(*api::RelayUrl::parse(u)); // checked by to_node_options
  if (!relays.empty() && c.bootstrap.empty() && !c.watch.empty()) {
    if (auto b =
            bootstrap_from_nostr(relays, c.watch, options->bootstrap, std::chrono::milliseconds(c.nostr_discovery_ms));
        !b) {
      std::cerr << "error: " << b.error().message << "\n";
      return kCheckFailed;
    }
  }
  boost::asio::io_context io;
  net::RuntimeOptions ro;
  ro.listen_host = listen.host;
  ro.listen_port = listen.port;
  ro.upload_kbps = options->agent_config.economics.capacity_kbps;
  auto runtime = net::NodeRuntime::create(io, *key, *options, ro);
  if (!runtime) {
    std::cerr << "error: " << runtime.error().message << "\n";
    return kCheckFailed;
  }
  net::NodeRuntime& rt = **runtime;
  // The agent's memory survives restarts (DATA_DIR/memory.sqlite).
  auto store = platform::SqliteMemoryStore::open((std::filesystem::path(c.data_dir) / "memory.sqlite").string());
  if (!store) {
    std::cerr << "error: " << store.error().message << "\n";
    return kCheckFailed;
  }
  rt.set_memory_store(store->get());
  // Payments: winners in DATA_DIR/payments.sqlite, the ledger read and written by a worker thread.
  // Publish authentication for RTMP/SRT pushes (media/ingest.h says how each checks it).
  auto stream_key = read_stream_key(c);
  if (!stream_key) return fail(stream_key.error());
  std::unique_ptr<api::LedgerLink> ledger;
  if (!c.ledger.empty()) {
    auto winners = platform::SqliteWinnerStore::open((std::filesystem::path(c.data_dir) / "payments.sqlite").string());
    if (!winners) {
      std::cerr << "error: " << winners.error().message << "\n";
      return kCheckFailed;
    }
    api::LedgerBackendOptions lo;
    lo.confirmations = static_cast<uint64_t>(c.payments.confirmations);
    if (auto cap = core::Amount::parse(c.payments.max_gas_price); cap && !c.payments.max_gas_price.empty())
      lo.max_gas_price = cap->wei(); // checked with the config
    auto backend = api::open_ledger_backend(c.ledger, c.contracts, *key, lo);
    if (!backend) return fail(backend.error());
    auto link = api::LedgerLink::start(rt, *key, std::move(*backend), std::move(*winners),
                                       std::chrono::milliseconds(c.payments.poll_ms));
    if (!link) return fail(link.error());
    ledger = std::move(*link);
    spdlog::info("payments: settling on {}", c.ledger);
  }
  api::NodeApiInfo info;
  info.version = run.version;
  info.roles = c.roles;
  info.p2p_endpoint = core::Endpoint{rt.p2p_endpoint().address().to_string(), rt.p2p_endpoint().port()}.to_string();
  info.ledger = ledger.get();
  info.api_token = *token;
  std::atomic<uint64_t> ingest_refused{0};
  info.ingest_refused = &ingest_refused;
  api::Handler handler = [&](const api::HttpRequest& r) { return api::make_node_api(rt, info)(r); };
  api::HttpServer http(io, handler, /*max_connections=*/128, /*max_body=*/4096); // POST /api/watch bodies
  auto api_bound = http.listen(api_ep.host, api_ep.port);
  if (!api_bound) {
    std::cerr << "error: " << api_bound.error().message << "\n";
    return kCheckFailed;
  }
  info.api_endpoint = core::Endpoint{api_bound->address().to_string(), api_bound->port()}.to_string();

  spdlog::info("node {} starting (roles: {})", key->address().to_checksum_hex(), fmt::join(c.roles, ","));
  std::cout << "listening p2p " << info.p2p_endpoint << "\n"
            << "listening api " << info.api_endpoint << "\n";
  if (!c.rtmp_listen.empty()) std::cout << "listening rtmp " << c.rtmp_listen << "\n";
  if (!c.srt_listen.empty()) std::cout << "listening srt " << c.srt_listen << "\n";
  std::cout << std::flush;

  // Media: a broadcaster's ingest thread hands parts to the event loop.
  int exit_code = kOk;
  bool stopping = false;
  bool forced = false; // a second signal: skip what shutdown would wait for
  std::unique_ptr<media::Ingest> ingest;
  std::function<void()> start_ingest;
  const core::StreamId own_id = core::make_stream_id(key->address(), c.stream);
  if (broadcasting) {
    core::StreamId id = core::make_stream_id(key->address(), c.stream);
    std::string hls = "http://" + info.api_endpoint + "/hls/" + core::to_hex(id, false) + "/source/index.m3u8";
    rt.post([&](agent::Node& n) { n.streams().start_stream(c.stream, c.stream, hls, rt.now()); });
    spdlog::info("stream '{}' id {} -> {}", c.stream, core::to_hex(id, false), hls);
    const daemon::IngestPlan plan = daemon::ingest_plan(c, *stream_key);
    const media::IngestOptions& io_opts = plan.options;
    bool rtmp = plan.listen_again_on_error; // a push listener: survives bad clients
    start_ingest = [&, id, io_opts, rtmp] {
      media::IngestOptions opts = io_opts;
      if (!c.srt_listen.empty()) {
        // Refused in libsrt's handshake (wrong or no passphrase): the listener stays up.
        opts.on_refused = [&](const std::string& why) {
          ++ingest_refused;
          spdlog::error("srt ingest: {}a caller without the right stream key ({}); still listening",
                        media::kPublishRefused, why);
        };
      }
      ingest = std::make_unique<media::Ingest>(
          std::move(opts),
          [&, id](media::IngestedPart part) {
            auto payload = core::SharedSlice::copy_of(part.payload);
            boost::asio::post(io, [&, id, part = std::move(part), payload]() mutable {
              core::PartInfo pinfo;
              pinfo.stream_id = id;
              pinfo.segment = part.segment;
              pinfo.part = part.part;
              pinfo.independent = part.independent;
              pinfo.pts_us = part.pts_us;
              pinfo.duration_us = part.duration_us;
              pinfo.ingest_unix_ms = part.unix_ms;
              pinfo.end_of_stream = part.end_of_stream;
              rt.post([&](agent::Node& n) {
                n.streams().publish_part(pinfo, part.end_of_stream ? core::SharedSlice{} : payload, rt.now());
              });
              if (part.end_of_stream) spdlog::info("stream '{}' ended", c.stream);
            });
          },
          [&, rtmp](std::string error) {
            boost::asio::post(io, [&, rtmp, error] {
              if (rtmp) {
                // A bad or vanished RTMP client must not take the node down: log it and listen again.
                if (error.rfind(media::kPublishRefused, 0) == 0) ++ingest_refused;
                spdlog::error("{} ingest: {}; listening again", c.srt_listen.empty() ? "rtmp" : "srt", error);
                if (stopping) return;
                // Destroying an Ingest joins its thread (FFmpeg may take a moment to
                // notice): a short-lived "reaper" thread does it, off the event loop.
                auto old = std::move(ingest);
                std::thread([old = std::move(old)]() mutable { old.reset(); }).detach();
                start_ingest();
                return;
              }
              std::cerr << "error: ingest: " << error << "\n";
              exit_code = kBadInput;
              rt.post([&](agent::Node& n) {
                n.streams().end_stream(core::make_stream_id(n.address(), c.stream), rt.now());
              });
              std::raise(SIGTERM);
            });
          });
      ingest->start();
    };
    start_ingest();
  }
  for (const auto& w : c.watch) {
    rt.post([&, w](agent::Node& n) { n.streams().watch(w, rt.now()); });
  }

  // A broadcaster keeps its announcement on the Nostr relays: offered every
  // second, published when it changed or is due again (api/nostr_client.h).
  std::unique_ptr<api::NostrPublisher> publisher;
  boost::asio::steady_timer nostr_timer(io);
  auto offer_announcement = [&] {
    if (const agent::Stream* s = rt.node().streams().find(own_id); s && !s->announcement.id.empty())
      publisher->offer(s->announcement);
  };
  std::function<void()> nostr_tick = [&] {
    offer_announcement();
    nostr_timer.expires_after(std::chrono::seconds(1));
    nostr_timer.async_wait([&](boost::system::error_code tec) {
      if (!tec && !stopping) nostr_tick();
    });
  };
  if (broadcasting && !relays.empty()) {
    publisher = std::make_unique<api::NostrPublisher>(relays, api::NostrPublisher::Options{});
    info.nostr = publisher.get();
    boost::asio::post(io, nostr_tick);
  }

  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  std::function<void()> wait_signal = [&] {
    signals.async_wait([&](boost::system::error_code sec, int sig) {
      if (sec) return;
      if (stopping) { // a second signal: stop now, without waiting for the Nostr relays
        forced = true;
        io.stop();
        return;
      }
      stopping = true;
      spdlog::info("signal {}: telling peers and stopping", sig);
      http.stop();
      // A broadcaster ends its stream first: the ingest flushes its last part and
      // end-of-stream (posted to this loop before the shutdown below), and the
      // "ended" announcement goes out, so viewers' playlists end cleanly.
      if (ingest) ingest->stop();
      boost::asio::post(io, [&] {
        if (broadcasting) rt.post([&](agent::Node& n) { n.streams().end_stream(own_id, rt.now()); });
        rt.shutdown([&] { io.stop(); });
      });
      wait_signal();
    });
  };
  wait_signal();
  rt.start();
  io.run();
  if (ingest) ingest->stop();
  if (publisher && !forced) { // the status=ended announcement, so Nostr clients stop listing the stream
    boost::system::error_code ignore;
    signals.clear(ignore); // a signal now ends the process at once, as it would without the set
    offer_announcement();
    publisher->flush(std::chrono::seconds(3)); // then the thread ends within one timeout (5 s) more
    publisher.reset();
  }
  rt.save_memory();
  spdlog::info("stopped");
  return exit_code;
}

} // namespace openstreaming::daemon
