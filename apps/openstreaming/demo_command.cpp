// openstreaming demo: the whole network on one machine (docs/demo.md).
//
// A supervisor, not a simulation: it writes keys and configs, starts a ledger
// (embedded, or with --chain anvil an Anvil EVM node with the contracts
// deployed; demo_ledger.h), a broadcaster, N relays (one misbehaving on purpose) and
// three viewers as separate `openstreaming` processes on 127.0.0.1 (ports from
// the OS), funds every payer, serves the dashboard (web/) with a live snapshot
// of all nodes over server-sent events, and at the end stops every child and
// prints what happened. Children die with the supervisor (PR_SET_PDEATHSIG),
// even when it is killed with SIGKILL.
//
// Threads: main runs the dashboard's io_context and supervises; `poller` reads
// every node's HTTP API once a second (blocking HTTP) and posts snapshots to main.
// This file is the supervisor; demo_observer.h builds the dashboard's state,
// demo_dashboard.h serves it.
#include "api/http_client.h"
#include "api/http_server.h"
#include "api/ledger_link.h"
#include "apps/openstreaming/cli.h"
#include "apps/openstreaming/demo.h"
#include "apps/openstreaming/demo_dashboard.h"
#include "apps/openstreaming/demo_ledger.h"
#include "apps/openstreaming/demo_observer.h"
#include "core/amount.h"
#include "core/keystore.h"
#include "platform/child_process.h"
#include "platform/files.h"
#include "platform/system_random.h"

#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#ifndef OPENSTREAMING_WEB_DIR
#define OPENSTREAMING_WEB_DIR "web"
#endif
#ifndef OPENSTREAMING_ANVIL_BIN
#define OPENSTREAMING_ANVIL_BIN "anvil"
#endif
#ifndef OPENSTREAMING_CONTRACTS_ARTIFACTS
#define OPENSTREAMING_CONTRACTS_ARTIFACTS "contracts/artifacts"
#endif

namespace openstreaming::cli {

namespace {

using nlohmann::json;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using demo::kStream;
using demo::Member;
using demo::Observer;
using demo::read_text;

constexpr int kViewers = 3;
constexpr const char* kPassword = "openstreaming demo";

struct DemoFlags {
  int nodes = 8;
  int duration = 0; // 0: until Ctrl-C
  bool headless = false;
  std::string http = "127.0.0.1:8080";
  std::string input = "testsrc";
  std::string data_dir;
  std::string chain = "embedded"; // or anvil
  std::string anvil = OPENSTREAMING_ANVIL_BIN;
  std::string artifacts = OPENSTREAMING_CONTRACTS_ARTIFACTS;
};

double ether_of(const json& wei) {
  if (!wei.is_string()) return 0;
  auto a = core::Amount::from_decimal_wei(wei.get<std::string>());
  if (!a) return 0;
  return static_cast<double>(a->wei() / core::U256(1'000'000'000ULL)) / 1e9;
}

std::string fmt_ether(double e) {
  std::ostringstream o;
  o << std::showpos << std::fixed << std::setprecision(4) << e << " ether";
  return o.str();
}

// Keystores and the password file are secrets: created 0600, like `keys new`
// writes them (a file left by an earlier run in --data-dir is replaced).
Result<void> write_secret(const fs::path& p, const std::string& content) {
  std::error_code ec;
  fs::remove(p, ec);
  return platform::write_new_file(p, content, 0600);
}

std::string node_config(const Member& m, const fs::path& dir, const std::map<std::string, std::string>& p2p_of) {
  std::ostringstream c;
  c << "key = \"" << m.key_file << "\"\n"
    << "password_file = \"" << (dir / "password").string() << "\"\n"
    << "data_dir = \"" << (dir / m.name).string() << "\"\n"
    << "peer_exchange = false\n"
    << "roles = [\"" << (m.role == "viewer" ? "viewer" : "relay") << "\"]\n"
    << "bootstrap = [";
  for (std::size_t i = 0; i < m.bootstrap_of.size(); ++i)
    c << (i ? ", " : "") << "\"" << p2p_of.at(m.bootstrap_of[i]) << "\"";
  c << "]\n"
    << "[timing]\nping_interval_ms = 1000\nidle_timeout_ms = 8000\nreconnect_base_ms = 500\nreconnect_max_ms = "
       "4000\nstream_stall_ms = 8000\n"
    << "[agent]\ncost_per_mb = \"0.01ether\"\nmax_price_per_mb = \"1ether\"\nupload_capacity_kbps = "
       "40000\nreflect_interval_ms = "
       "1000\nstate_interval_ms = 1000\n"
    << "[payments]\nredeem_cost = \"0.00002ether\"\nticket_kb = 64\npoll_ms = 500\nconfirmations = 1\n";
  return c.str();
}

int run_demo(const DemoFlags& f) {
  if (f.nodes < 3 || f.nodes > 32) return fail(make_error(Errc::invalid_input, "--nodes must be 3..32 relays"));
  if (f.duration < 0) return fail(make_error(Errc::invalid_input, "--duration must be >= 0 (0: until Ctrl-C)"));
  auto http_ep = core::Endpoint::parse(f.http, true);
  if (!http_ep) return fail(make_error(Errc::invalid_input, "--http: " + http_ep.error().message));
  if (f.chain != "embedded" && f.chain != "anvil")
    return fail(make_error(Errc::invalid_input, "--chain must be embedded or anvil, not '" + f.chain + "'"));
  if (f.input != "testsrc" && !fs::exists(f.input))
    return fail(make_error(Errc::invalid_input, "--input: no such file '" + f.input + "'"));
  fs::path web = std::getenv("OPENSTREAMING_WEB_DIR") ? fs::path(std::getenv("OPENSTREAMING_WEB_DIR"))
                                                      : fs::path(OPENSTREAMING_WEB_DIR);
  if (!fs::exists(web / "index.html") || !fs::exists(web / "node_modules/hls.js/dist/hls.min.js")) {
    return fail(make_error(Errc::invalid_input,
                           "dashboard assets missing in " + web.string() + " (run scripts/setup: npm ci in web/)"));
  }
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return fail(make_error(Errc::io, "cannot find this program's path: " + ec.message()));

  // The data directory: given (kept) or temporary (removed at the end).
  bool temporary = f.data_dir.empty();
  fs::path dir;
  if (temporary) {
    std::string tmpl = (fs::temp_directory_path() / "openstreaming-demo-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) return fail(make_error(Errc::io, "cannot create a temporary directory"));
    dir = tmpl;
  } else {
    dir = fs::absolute(f.data_dir);
    fs::create_directories(dir, ec);
    if (ec) return fail(make_error(Errc::io, "--data-dir " + dir.string() + ": " + ec.message()));
  }
  struct Cleanup {
    fs::path d;
    bool on;
    ~Cleanup() {
      std::error_code e;
      if (on) fs::remove_all(d, e);
    }
  } cleanup{dir, temporary};

  // Participants: keys (light scrypt: throwaway demo keys), topology, roles.
  platform::SystemRandom rng;
  std::vector<Member> members;
  std::optional<Error> write_error;
  auto add = [&](std::string name, std::string role) {
    Member m{
        std::move(name), std::move(role), core::PrivateKey::generate(rng), "", {}, "", std::nullopt, "", "", false};
    m.key_file = (dir / (m.name + ".key.json")).string();
    auto w =
        write_secret(m.key_file, core::keystore::encrypt(m.key, kPassword, rng, core::keystore::ScryptParams::light()));
    if (!w && !write_error) write_error = w.error();
    members.push_back(std::move(m));
  };
  add("broadcaster", "broadcaster");
  for (int i = 1; i <= f.nodes; ++i) add("relay" + std::to_string(i), "relay");
  for (int i = 1; i <= kViewers; ++i) add("viewer" + std::to_string(i), "viewer");
  auto relay = [&](int i) { return "relay" + std::to_string(i); };
  const int n = f.nodes;
  // relay1, relay2 <- broadcaster; relay i <- relays i-1, i-2: a mesh with two paths everywhere.
  for (int i = 1; i <= n; ++i) {
    Member& m = members[static_cast<std::size_t>(i)];
    if (i <= 2)
      m.bootstrap_of = {"broadcaster"};
    else
      m.bootstrap_of = {relay(i - 1), relay(i - 2)};
  }
  // Viewers at the edge; the misbehaving relay is one of their upstream candidates.
  const int bad = n - 1;
  members[static_cast<std::size_t>(bad)].misbehave = "drop:0.5,after:15";
  members[static_cast<std::size_t>(n + 1)].bootstrap_of = {relay(n), relay(n - 1)};
  members[static_cast<std::size_t>(n + 2)].bootstrap_of = {relay(n - 1), relay(n - 2)};
  members[static_cast<std::size_t>(n + 3)].bootstrap_of = {relay(n), relay(n - 2)};
  if (auto w = write_secret(dir / "password", std::string(kPassword) + "\n"); !w && !write_error)
    write_error = w.error();
  if (write_error) return fail(*write_error);

  // The ledger, funding every participant.
  auto ledger = f.chain == "anvil" ? demo::start_anvil_chain({f.anvil, f.artifacts}, dir, members)
                                   : demo::start_embedded_ledger(exe, dir, members);
  if (!ledger) return fail(ledger.error());
  std::cout << "ledger       " << (*ledger)->url()
            << (f.chain == "anvil" ? "  (Anvil, contracts in " + (dir / "deployments.json").string() + ")" : "")
            << "\n";
  if (auto r = (*ledger)->fund_payers(members); !r) return fail(r.error());

  // The nodes, upstream first, each waiting for its "listening" lines.
  std::map<std::string, std::string> p2p_of;
  for (auto& m : members) {
    fs::path cfg = dir / (m.name + ".toml");
    std::ofstream(cfg) << node_config(m, dir, p2p_of);
    std::vector<std::string> argv = {exe.string(), "node", "--config", cfg.string()};
    for (const auto& a : (*ledger)->node_args()) argv.push_back(a);
    if (m.role == "broadcaster") argv.insert(argv.end(), {"--ingest", f.input, "--stream", kStream});
    if (m.role == "viewer") argv.insert(argv.end(), {"--watch", kStream});
    if (!m.misbehave.empty()) argv.insert(argv.end(), {"--misbehave", m.misbehave});
    auto p =
        platform::ChildProcess::spawn(argv, {}, (dir / (m.name + ".out")).string(), (dir / (m.name + ".log")).string());
    if (!p) return fail(p.error());
    m.proc = std::move(*p);
    auto l1 = m.proc->wait_for_line("listening p2p ", std::chrono::seconds(20));
    auto l2 = m.proc->wait_for_line("listening api ", std::chrono::seconds(5));
    if (!l1 || !l2) {
      std::cerr << "error: " << m.name << " did not start:\n"
                << read_text(m.proc->stderr_path()).substr(0, 2000) << "\n";
      return kCheckFailed;
    }
    m.p2p = l1->substr(std::string("listening p2p ").size());
    m.api = l2->substr(std::string("listening api ").size());
    p2p_of[m.name] = m.p2p;
    std::cout << std::left << std::setw(12) << m.name << " " << m.key.address().to_checksum_hex() << "  api http://"
              << m.api << (m.misbehave.empty() ? "" : "  MISBEHAVING: " + m.misbehave) << "\n";
  }

  // The dashboard.
  boost::asio::io_context io;
  std::mutex mu;
  std::string latest = "{}";
  api::HttpServer* server_ptr = nullptr;
  api::Handler handler = demo::dashboard_handler(web, members, mu, latest);
  api::HttpServer server(io, handler, 64);
  server_ptr = &server;
  auto bound = server.listen(http_ep->host, http_ep->port);
  if (!bound) return fail(bound.error());
  std::string dash = "http://" + bound->address().to_string() + ":" + std::to_string(bound->port()) + "/";
  std::cout << "dashboard " << dash << "\n";
  if (!f.headless)
    std::cout << "open " << dash << " in a browser: the mesh, the video, every node's mind and the ledger, live\n";
  std::cout << (f.duration ? "running for " + std::to_string(f.duration) + " s (Ctrl-C stops sooner)"
                           : std::string("running until Ctrl-C"))
            << std::endl;

  // The poller: once a second, every node's view, published to the dashboard.
  Observer observer(members, **ledger);
  const auto started = Clock::now();
  std::atomic<bool> stop_poll{false};
  std::mutex obs_mu; // the observer is used by the poller and, after it stops, by main
  std::thread poller([&] {
    while (!stop_poll) {
      auto next = Clock::now() + std::chrono::seconds(1);
      json snap;
      {
        std::lock_guard lock(obs_mu);
        snap = observer.poll(std::chrono::duration<double>(Clock::now() - started).count());
      }
      std::string text = snap.dump();
      boost::asio::post(io, [&, text = std::move(text)] {
        {
          std::lock_guard lock(mu);
          latest = text;
        }
        server_ptr->publish(text);
      });
      while (!stop_poll && Clock::now() < next) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });

  bool interrupted = false;
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code e, int) {
    if (e) return;
    interrupted = true;
    io.stop();
  });
  boost::asio::steady_timer timer(io);
  if (f.duration > 0) {
    timer.expires_after(std::chrono::seconds(f.duration));
    timer.async_wait([&](boost::system::error_code e) {
      if (!e) io.stop();
    });
  }
  // A child that dies on its own is reported (the demo goes on without it).
  boost::asio::steady_timer watch(io);
  std::function<void()> check_children = [&] {
    watch.expires_after(std::chrono::seconds(1));
    watch.async_wait([&](boost::system::error_code e) {
      if (e) return;
      std::lock_guard lock(obs_mu);
      for (auto& m : members) {
        if (!m.stopped && m.proc && !m.proc->running()) {
          m.stopped = true;
          spdlog::warn("{} exited unexpectedly (code {}); see {}", m.name,
                       m.proc->wait(std::chrono::milliseconds(0)).value_or(-1), m.proc->stderr_path());
        }
      }
      check_children();
    });
  };
  check_children();
  io.run();
  stop_poll = true;
  poller.join();
  const double ran_s = std::chrono::duration<double>(Clock::now() - started).count();
  if (interrupted) std::cout << "\nstopping (interrupted)\n";

  // One last look before stopping anything.
  json last;
  {
    std::lock_guard lock(obs_mu);
    last = observer.poll(ran_s);
  }
  for (auto it = members.rbegin(); it != members.rend(); ++it) { // viewers first, the broadcaster last
    if (it->proc) it->proc->stop(std::chrono::seconds(10));
    it->stopped = true;
  }
  (*ledger)->stop();

  // ---- The summary ----
  std::cout << "\n== summary: " << static_cast<int>(ran_s) << " s, 1 broadcaster, " << n << " relays, " << kViewers
            << " viewers\n";
  bool every_viewer = true;
  uint64_t delivered = 0;
  std::ostringstream parts, cont;
  double p50 = 0, p95 = 0;
  for (const auto& m : members) {
    if (m.role != "viewer") continue;
    auto s = observer.last_streams().find(m.name);
    uint64_t got = s == observer.last_streams().end() ? 0 : s->second["stats"].value("parts_received", uint64_t{0});
    every_viewer = every_viewer && got > 0;
    delivered += got;
    parts << " " << m.name << " " << got;
    auto r = observer.last_routes().find(m.name);
    double missing = 0;
    if (r != observer.last_routes().end() && r->second.is_object()) {
      missing = std::max(0.0, r->second.value("parts_missing", 0.0) - r->second.value("parts_repaired", 0.0));
    }
    cont << " " << m.name << " " << std::fixed << std::setprecision(3)
         << (got ? static_cast<double>(got) / (static_cast<double>(got) + missing) : 0.0);
    if (s != observer.last_streams().end()) {
      p50 = std::max(p50, s->second["stats"]["latency_ms"].value("p50", 0.0));
      p95 = std::max(p95, s->second["stats"]["latency_ms"].value("p95", 0.0));
    }
  }
  uint64_t sent = 0, won = 0, redeemed = 0, received = 0;
  for (const auto& [name, p] : observer.last_payments()) {
    sent += p["tickets"].value("sent", uint64_t{0});
    received += p["tickets"].value("received", uint64_t{0});
    won += p["tickets"].value("won", uint64_t{0});
    redeemed += p["tickets"].value("redeemed", uint64_t{0});
  }
  std::map<std::string, double> change;
  for (const auto& m : members) {
    auto a = observer.last_accounts().find(m.name);
    if (a == observer.last_accounts().end()) continue;
    double worth = ether_of(a->second["balance"]) + ether_of(a->second["deposit"]) + ether_of(a->second["reserve"]);
    change[m.role] += worth - 100.0;
  }
  std::cout << "parts delivered     " << delivered << " (" << parts.str().substr(1) << ")\n"
            << "continuity          " << cont.str().substr(1) << "\n"
            << "glass-to-glass      p50 " << p50 << " ms, p95 " << p95 << " ms (worst viewer)\n"
            << "tickets             sent " << sent << ", accepted " << received << ", won " << won << ", redeemed "
            << redeemed << " (winners still queued at the stop are kept on disk for the next run)\n"
            << "balance change      broadcaster " << fmt_ether(change["broadcaster"]) << ", relays "
            << fmt_ether(change["relay"]) << " (together), viewers " << fmt_ether(change["viewer"]) << " (together)\n";
  const Member& bm = members[static_cast<std::size_t>(bad)];
  std::cout << "misbehaving relay   " << bm.name << " (" << bm.misbehave << "): ";
  if (auto d = observer.first_distrust_of(bm.name)) {
    std::cout << "rated incoherent first by " << d->second << " at " << std::fixed << std::setprecision(1) << d->first
              << " s";
  } else {
    std::cout << "never rated incoherent";
  }
  std::vector<std::string> left;
  for (const auto& [t, node, from, to] : observer.reroutes()) {
    if (from == bm.name) {
      std::ostringstream o;
      o << node << " (" << std::fixed << std::setprecision(1) << t << " s, to " << to << ")";
      left.push_back(o.str());
    }
  }
  std::cout << "; re-routed away from it: " << (left.empty() ? std::string("nobody") : "");
  for (std::size_t i = 0; i < left.size(); ++i) std::cout << (i ? ", " : "") << left[i];
  // Value is conserved: every account started with 100 ether and money only
  // moved between them (one ledger_accounts answer: one consistent snapshot).
  core::U256 total = 0;
  std::size_t counted = 0;
  for (const auto& m : members) {
    auto a = observer.last_accounts().find(m.name);
    if (a == observer.last_accounts().end()) continue;
    for (const char* k : {"balance", "deposit", "reserve", "stake"}) {
      if (auto v = core::Amount::from_decimal_wei(a->second.value(k, std::string("0")))) total += v->wei();
    }
    ++counted;
  }
  const core::U256 genesis = core::U256(members.size()) * core::Amount::parse(demo::kStartFunds)->wei();
  // On a chain the gas the members paid left them for the chain, not for one
  // another (read in the same block as the accounts).
  const core::U256 gas = observer.last_fees();
  std::cout << "\nvalue conserved: " << (counted == members.size() && total + gas == genesis ? "yes" : "NO") << " ("
            << counted << " accounts hold " << core::Amount(total).to_display();
  if (f.chain == "anvil") std::cout << " and paid " << core::Amount(gas).to_display() << " in gas";
  std::cout << ", they started with " << core::Amount(genesis).to_display() << ")";
  std::cout << "\nstream reached every viewer: " << (every_viewer ? "yes" : "NO") << "\n";
  if (!temporary) std::cout << "logs and state in " << dir.string() << "\n";
  return every_viewer ? kOk : kCheckFailed;
}

} // namespace

void add_demo_command(CLI::App& app, Runner& runner) {
  auto f = std::make_shared<DemoFlags>();
  CLI::App* cmd =
      app.add_subcommand("demo", "The whole network on this machine: ledger, broadcaster, relays, viewers, dashboard");
  cmd->add_option("--nodes", f->nodes, "Number of relays (3..32; one misbehaves on purpose)")->capture_default_str();
  cmd->add_option("--duration", f->duration, "Seconds to run (0: until Ctrl-C)")->capture_default_str();
  cmd->add_flag("--headless", f->headless, "No browser hint (everything else runs)");
  cmd->add_option("--http", f->http, "Dashboard HOST:PORT (port 0: any free port)")->capture_default_str();
  cmd->add_option("--input", f->input, "What the broadcaster ingests: testsrc or a media file")->capture_default_str();
  cmd->add_option("--data-dir", f->data_dir,
                  "Keep keys, configs, logs and state here (default: a temporary directory, removed)");
  cmd->add_option("--chain", f->chain,
                  "Settle on: embedded (an embedded ledger) or anvil (an Anvil EVM chain the demo starts, the "
                  "contracts deployed)")
      ->capture_default_str();
  cmd->add_option("--anvil", f->anvil, "The Anvil binary for --chain anvil")->capture_default_str();
  cmd->add_option("--artifacts", f->artifacts, "Hardhat's artifacts directory for --chain anvil")
      ->capture_default_str();
  cmd->callback([f, &runner] { runner.run = [f] { return run_demo(*f); }; });
}

} // namespace openstreaming::cli
