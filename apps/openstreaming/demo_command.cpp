// openstreaming demo: the whole network on one machine (issue #8; docs/demo.md).
//
// A supervisor, not a simulation: it writes keys, a genesis and configs, starts
// an embedded ledger, a broadcaster, N relays (one misbehaving on purpose) and
// three viewers as separate `openstreaming` processes on 127.0.0.1 (ports from
// the OS), funds every payer, serves the dashboard (web/) with a live snapshot
// of all nodes over server-sent events, and at the end stops every child and
// prints what happened. Children die with the supervisor (PR_SET_PDEATHSIG),
// even when it is killed with SIGKILL.
//
// Threads: main runs the dashboard's io_context and supervises; `poller` reads
// every node's HTTP API once a second (blocking HTTP) and posts snapshots to main.
#include "api/http_client.h"
#include "api/http_server.h"
#include "api/ledger_link.h"
#include "apps/openstreaming/cli.h"
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

namespace openstreaming::cli {

namespace {

using nlohmann::json;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr int kViewers = 3;
constexpr const char* kStream = "demo";
constexpr const char* kPassword = "openstreaming demo";

struct DemoFlags {
  int nodes = 8;
  int duration = 0; // 0: until Ctrl-C
  bool headless = false;
  std::string http = "127.0.0.1:8080";
  std::string input = "testsrc";
  std::string data_dir;
};

struct Member {
  std::string name, role;
  core::PrivateKey key;
  std::string key_file;
  std::vector<std::string> bootstrap_of; // names
  std::string misbehave;
  std::optional<platform::ChildProcess> proc;
  std::string p2p, api;
  bool stopped = false;
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

Result<json> get_json(const std::string& hostport, const std::string& path) {
  auto url = api::HttpUrl::parse("http://" + hostport + path);
  if (!url) return url.error();
  auto r = api::http_get(*url, std::chrono::seconds(2));
  if (!r) return r.error();
  auto j = json::parse(r->body, nullptr, false);
  if (j.is_discarded()) return make_error(Errc::io, hostport + path + ": not JSON");
  return j;
}

json find_stream(const json& list) {
  if (!list.is_array()) return nullptr;
  for (const auto& s : list) {
    if (s.value("name", "") == kStream) return s;
  }
  return nullptr;
}

// The state the dashboard shows and the summary is made of. Built by the poller.
class Observer {
public:
  Observer(std::vector<Member>& members, std::string ledger_url) : m_members(members), m_ledger(std::move(ledger_url)) {
    for (const auto& m : members) m_name_of[m.key.address().to_checksum_hex()] = m.name;
  }

  json poll(double t) {
    json nodes = json::array(), edges = json::array();
    std::map<std::string, std::vector<double>> scores_of; // address -> scores others give it
    for (const auto& m : m_members) {
      json n = {{"name", m.name}, {"role", m.role},           {"address", m.key.address().to_checksum_hex()},
                {"api", m.api},   {"misbehave", m.misbehave}, {"alive", !m.stopped}};
      if (m.api.empty() || m.stopped) {
        nodes.push_back(n);
        continue;
      }
      auto streams = get_json(m.api, "/api/streams");
      auto routes = get_json(m.api, "/api/routes");
      auto neighbours = get_json(m.api, "/api/neighbors");
      auto payments = get_json(m.api, "/api/payments");
      n["alive"] = streams.ok();
      json s = streams ? find_stream(*streams) : json(nullptr);
      if (!s.is_null()) {
        n["stream"] = {{"id", s["id"]}, {"status", s["status"]}, {"stats", s["stats"]}};
        n["hls"] = "/node/" + m.name + "/hls/" + s["id"].get<std::string>() + "/source/index.m3u8"; // same origin
        if (m.role == "broadcaster") m_stream_id = s["id"].get<std::string>();
      }
      std::string primary;
      if (routes && routes->is_array()) {
        for (const auto& r : *routes) {
          if (r.value("name", "") != kStream) continue;
          if (r["primary"].is_string()) primary = r["primary"].get<std::string>();
          n["route"] = {{"primary", r["primary"]},
                        {"switches", r["switches"]},
                        {"last_switch_reason", r["last_switch_reason"]},
                        {"parts_missing", r["parts_missing"]},
                        {"parts_repaired", r["parts_repaired"]}};
        }
      }
      json nb = json::array();
      if (neighbours && neighbours->is_array()) {
        for (const auto& x : *neighbours) {
          std::string a = x.value("address", "");
          double score = x["coherence"].value("score", 1.0);
          std::string status = x.value("status", "trusted");
          nb.push_back({{"address", a},
                        {"name", name_of(a)},
                        {"status", status},
                        {"score", score},
                        {"connected", x.value("connected", false)}});
          if (x.value("connected", false)) scores_of[a].push_back(score);
          note_status(t, m.name, a, status);
          if (a == primary)
            edges.push_back({{"from", name_of(a)}, {"to", m.name}, {"score", score}, {"status", status}});
        }
      }
      n["neighbors"] = nb;
      note_route(t, m.name, primary);
      if (payments && payments->is_object()) {
        n["payments"] = {{"tickets", (*payments)["tickets"]},
                         {"balance", (*payments)["balance"]},
                         {"totals", (*payments)["totals"]},
                         {"winners_queued", (*payments)["winners_queued"]}};
        m_last_payments[m.name] = *payments;
      }
      if (!s.is_null()) m_last_stream[m.name] = s;
      if (routes) m_last_routes[m.name] = n.value("route", json(nullptr));
      nodes.push_back(n);
    }
    for (auto& n : nodes) {
      const auto& v = scores_of[n["address"].get<std::string>()];
      n["rated"] = v.empty() ? json(nullptr) : json(*std::min_element(v.begin(), v.end()));
    }
    json accounts = json::array();
    auto url = api::HttpUrl::parse(m_ledger);
    if (url) {
      if (auto acc = api::ledger_rpc(*url, "ledger_accounts", json::object(), std::chrono::seconds(2));
          acc && acc->is_array()) {
        for (const auto& a : *acc) {
          std::string addr = a.value("address", "");
          if (!m_name_of.count(addr)) continue;
          json e = {
              {"name", name_of(addr)}, {"balance", a["balance"]}, {"deposit", a["deposit"]}, {"reserve", a["reserve"]}};
          accounts.push_back(e);
          m_last_accounts[name_of(addr)] = a;
        }
      }
      if (auto st = api::ledger_rpc(*url, "ledger_status", json::object(), std::chrono::seconds(2)); st)
        m_ledger_status = *st;
    }
    uint64_t redeemed = 0;
    for (const auto& [name, p] : m_last_payments) redeemed += p["tickets"].value("redeemed", uint64_t{0});
    m_redeemed_series.push_back({t, redeemed});
    if (m_redeemed_series.size() > 600) m_redeemed_series.erase(m_redeemed_series.begin());
    return {{"t", t},
            {"stream", {{"name", kStream}, {"id", m_stream_id}}},
            {"nodes", nodes},
            {"edges", edges},
            {"ledger",
             {{"url", m_ledger}, {"status", m_ledger_status}, {"accounts", accounts}, {"redeemed", m_redeemed_series}}},
            {"events", m_events}};
  }

  const json& events() const { return m_events; }
  const std::map<std::string, json>& last_payments() const { return m_last_payments; }
  const std::map<std::string, json>& last_streams() const { return m_last_stream; }
  const std::map<std::string, json>& last_routes() const { return m_last_routes; }
  const std::map<std::string, json>& last_accounts() const { return m_last_accounts; }
  std::optional<std::pair<double, std::string>> first_distrust_of(const std::string& name) const {
    auto it = m_first_distrust.find(name);
    if (it == m_first_distrust.end()) return std::nullopt;
    return it->second;
  }
  const std::vector<std::tuple<double, std::string, std::string, std::string>>& reroutes() const { return m_reroutes; }
  std::string name_of(const std::string& addr) const {
    auto it = m_name_of.find(addr);
    return it == m_name_of.end() ? addr.substr(0, 10) : it->second;
  }

private:
  void event(double t, const std::string& text) {
    m_events.push_back({{"t", std::round(t * 10) / 10}, {"text", text}});
    if (m_events.size() > 200) m_events.erase(m_events.begin());
  }
  void note_status(double t, const std::string& judge, const std::string& addr, const std::string& status) {
    std::string key = judge + "|" + addr;
    std::string& before = m_status[key];
    if (before.empty()) before = "trusted";
    if (status == before) return;
    event(t, judge + " rates " + name_of(addr) + " " + status + " (was " + before + ")");
    if (status != "trusted" && !m_first_distrust.count(name_of(addr))) m_first_distrust[name_of(addr)] = {t, judge};
    before = status;
  }
  void note_route(double t, const std::string& node, const std::string& primary) {
    std::string& before = m_primary[node];
    if (primary.empty() || primary == before) return;
    if (!before.empty()) {
      event(t, node + " re-routes " + name_of(before) + " -> " + name_of(primary));
      m_reroutes.emplace_back(t, node, name_of(before), name_of(primary));
    }
    before = primary;
  }

  std::vector<Member>& m_members;
  std::string m_ledger;
  std::map<std::string, std::string> m_name_of;
  std::map<std::string, std::string> m_status, m_primary;
  std::map<std::string, std::pair<double, std::string>> m_first_distrust;
  std::vector<std::tuple<double, std::string, std::string, std::string>> m_reroutes;
  std::map<std::string, json> m_last_payments, m_last_stream, m_last_routes, m_last_accounts;
  std::vector<std::pair<double, uint64_t>> m_redeemed_series;
  json m_ledger_status = json::object();
  json m_events = json::array();
  std::string m_stream_id;
};

std::string read_text(const fs::path& p) {
  auto t = platform::read_file(p);
  return t ? *t : std::string();
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
    << "[agent]\ncost_per_mb = \"0.01ether\"\nmax_price_per_mb = \"1ether\"\nupload_capacity_kbps = 40000\nreflect_interval_ms = "
       "1000\nstate_interval_ms = 1000\n"
    << "[payments]\nredeem_cost = \"0.00002ether\"\nticket_kb = 64\npoll_ms = 500\n";
  return c.str();
}

int run_demo(const DemoFlags& f) {
  if (f.nodes < 3 || f.nodes > 32) return fail(make_error(Errc::invalid_input, "--nodes must be 3..32 relays"));
  if (f.duration < 0) return fail(make_error(Errc::invalid_input, "--duration must be >= 0 (0: until Ctrl-C)"));
  auto http_ep = core::Endpoint::parse(f.http, true);
  if (!http_ep) return fail(make_error(Errc::invalid_input, "--http: " + http_ep.error().message));
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
  json accounts = json::object();
  for (const auto& m : members) accounts[m.key.address().to_checksum_hex()] = "100ether";
  std::ofstream(dir / "genesis.json")
      << json{{"chain_id", 1337}, {"block_ms", 500}, {"round_blocks", 10}, {"accounts", accounts}}.dump(1);
  auto ledger_proc =
      platform::ChildProcess::spawn({exe.string(), "ledger", "--data-dir", (dir / "ledger").string(), "--listen",
                                     "127.0.0.1:0", "--genesis", (dir / "genesis.json").string()},
                                    {}, (dir / "ledger.out").string(), (dir / "ledger.log").string());
  if (!ledger_proc) return fail(ledger_proc.error());
  auto rpc_line = ledger_proc->wait_for_line("listening rpc ", std::chrono::seconds(20));
  if (!rpc_line)
    return fail(make_error(Errc::io, "the ledger did not start (see " + (dir / "ledger.log").string() + ")"));
  const std::string ledger_url = "http://" + rpc_line->substr(std::string("listening rpc ").size());
  std::cout << "ledger       " << ledger_url << "\n";
  auto lurl = *api::HttpUrl::parse(ledger_url);
  for (const auto& m : members) {
    if (m.role == "broadcaster") continue; // it only earns
    if (auto r = api::ledger_submit(lurl, m.key, "fund", {{"deposit", "10ether"}, {"reserve", "1ether"}}); !r)
      return fail(r.error());
  }

  // The nodes, upstream first, each waiting for its "listening" lines.
  std::map<std::string, std::string> p2p_of;
  for (auto& m : members) {
    fs::path cfg = dir / (m.name + ".toml");
    std::ofstream(cfg) << node_config(m, dir, p2p_of);
    std::vector<std::string> argv = {exe.string(), "node", "--config", cfg.string(), "--ledger", ledger_url};
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
  // GET /node/NAME/api/... and /node/NAME/hls/...: the page reads every node
  // through this origin, since nodes send no CORS headers (a page elsewhere
  // must not read them). Blocking, on this loop: loopback calls of a few ms,
  // bounded by a 2 s deadline.
  auto proxy = [&](const api::HttpRequest& r) -> api::HttpResponse {
    auto not_found = api::HttpResponse{404, "application/json", R"({"error":"not found"})"};
    std::string rest = r.path.substr(6);
    auto slash = rest.find('/');
    if (slash == std::string::npos || r.method == "POST") return not_found;
    std::string name = rest.substr(0, slash), path = rest.substr(slash);
    if (path.rfind("/api/", 0) != 0 && path.rfind("/hls/", 0) != 0) return not_found;
    auto m = std::find_if(members.begin(), members.end(), [&](const Member& x) { return x.name == name; });
    if (m == members.end() || m->api.empty() || m->stopped) return not_found;
    auto url = api::HttpUrl::parse("http://" + m->api + path + (r.query.empty() ? "" : "?" + r.query));
    if (!url) return not_found;
    auto reply = api::http_get(*url, std::chrono::seconds(2));
    if (!reply) return {502, "application/json", json{{"error", reply.error().message}}.dump()};
    auto ends = [&](const std::string& x) { return path.size() >= x.size() && path.ends_with(x); };
    const char* type = ends(".m3u8") ? "application/vnd.apple.mpegurl"
                       : ends(".ts") ? "video/mp2t"
                                     : "application/json";
    return {reply->status, type, reply->body};
  };
  api::Handler handler = [&](const api::HttpRequest& r) -> api::HttpResponse {
    auto file = [&](const fs::path& p, const char* type) -> api::HttpResponse {
      if (!fs::exists(p)) return {404, "application/json", R"({"error":"not found"})"};
      return {200, type, read_text(p)};
    };
    if (r.path == "/" || r.path == "/index.html") return file(web / "index.html", "text/html; charset=utf-8");
    if (r.path == "/app.js") return file(web / "app.js", "text/javascript; charset=utf-8");
    if (r.path == "/style.css") return file(web / "style.css", "text/css; charset=utf-8");
    if (r.path == "/vendor/hls.min.js")
      return file(web / "node_modules/hls.js/dist/hls.min.js", "text/javascript; charset=utf-8");
    if (r.path.rfind("/node/", 0) == 0) return proxy(r);
    std::lock_guard lock(mu);
    if (r.path == "/api/demo/state") return {200, "application/json", latest};
    if (r.path == "/api/demo/events") {
      api::HttpResponse res{200, "text/event-stream", latest};
      res.event_stream = true;
      return res;
    }
    return {404, "application/json", R"({"error":"not found"})"};
  };
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
  Observer observer(members, ledger_url);
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
  ledger_proc->stop(std::chrono::seconds(10));

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
  cmd->callback([f, &runner] { runner.run = [f] { return run_demo(*f); }; });
}

} // namespace openstreaming::cli
