// openstreaming node: run a node (interface fixed by issue #3; docs/cli.md, docs/config.md).
#include "api/node_api.h"
#include "apps/openstreaming/cli.h"
#include "apps/openstreaming/node_config.h"
#include "net/node_runtime.h"
#include "platform/files.h"
#include "platform/key_files.h"

#include <spdlog/spdlog.h>

#include <boost/asio/signal_set.hpp>

#include <csignal>
#include <filesystem>
#include <iostream>
#include <memory>

namespace openstreaming::cli {

namespace {

struct NodeFlags {
  std::string config;
  NodeConfig overrides;
  bool no_peer_exchange = false;
  // Which flags were given (flags override the file only when present).
  CLI::Option *key, *password_file, *data_dir, *listen, *api, *bootstrap, *roles, *max_peers;
};

int run_node(const NodeFlags& f) {
  NodeConfig c;
  if (!f.config.empty()) {
    auto text = platform::read_file(f.config, 1 << 20);
    if (!text) return fail(text.error());
    if (auto r = parse_node_config(*text, f.config, c); !r) return fail(r.error());
  }
  const NodeConfig& o = f.overrides;
  if (*f.key) c.key = o.key;
  if (*f.password_file) c.password_file = o.password_file;
  if (*f.data_dir) c.data_dir = o.data_dir;
  if (*f.listen) c.listen = o.listen;
  if (*f.api) c.api = o.api;
  if (*f.bootstrap) c.bootstrap = o.bootstrap;
  if (*f.roles) c.roles = o.roles;
  if (*f.max_peers) {
    c.max_peers = o.max_peers;
    c.target_peers = std::min(c.target_peers, c.max_peers);
  }
  if (f.no_peer_exchange) c.peer_exchange = false;

  auto options = to_node_options(c);
  if (!options) return fail(options.error());
  std::error_code ec;
  std::filesystem::create_directories(c.data_dir, ec);
  if (ec) return fail(make_error(Errc::io, "--data-dir " + c.data_dir + ": " + ec.message()));

  platform::PasswordRequest pw;
  if (!c.password_file.empty()) pw.file = c.password_file;
  auto key = platform::load_key_file(c.key, pw);
  if (!key) return fail(key.error());

  auto listen = *core::Endpoint::parse(c.listen, true);
  auto api_ep = *core::Endpoint::parse(c.api, true);
  boost::asio::io_context io;
  net::RuntimeOptions ro;
  ro.listen_host = listen.host;
  ro.listen_port = listen.port;
  auto runtime = net::NodeRuntime::create(io, *key, *options, ro);
  if (!runtime) {
    std::cerr << "error: " << runtime.error().message << "\n";
    return kCheckFailed;
  }
  net::NodeRuntime& rt = **runtime;
  api::NodeApiInfo info{OPENSTREAMING_VERSION, c.roles,
                        core::Endpoint{rt.p2p_endpoint().address().to_string(), rt.p2p_endpoint().port()}.to_string(), ""};
  api::Handler handler = [&](const api::HttpRequest& r) { return api::make_node_api(rt, info)(r); };
  api::HttpServer http(io, handler);
  auto api_bound = http.listen(api_ep.host, api_ep.port);
  if (!api_bound) {
    std::cerr << "error: " << api_bound.error().message << "\n";
    return kCheckFailed;
  }
  info.api_endpoint = core::Endpoint{api_bound->address().to_string(), api_bound->port()}.to_string();

  spdlog::info("node {} starting (roles: {})", key->address().to_checksum_hex(), fmt::join(c.roles, ","));
  std::cout << "listening p2p " << info.p2p_endpoint << "\n"
            << "listening api " << info.api_endpoint << "\n"
            << std::flush;

  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  bool stopping = false;
  std::function<void()> wait_signal = [&] {
    signals.async_wait([&](boost::system::error_code sec, int sig) {
      if (sec) return;
      if (stopping) { // a second signal: stop now
        io.stop();
        return;
      }
      stopping = true;
      spdlog::info("signal {}: telling peers and stopping", sig);
      http.stop();
      rt.shutdown([&] { io.stop(); });
      wait_signal();
    });
  };
  wait_signal();
  rt.start();
  io.run();
  spdlog::info("stopped");
  return kOk;
}

} // namespace

void add_node_command(CLI::App& app, Runner& runner) {
  auto f = std::make_shared<NodeFlags>();
  CLI::App* cmd = app.add_subcommand("node", "Run a node: join the mesh, serve the HTTP API");
  cmd->add_option("--config", f->config, "TOML configuration file (flags override it)");
  f->key = cmd->add_option("--key", f->overrides.key, "Keystore file with the node key");
  f->password_file = cmd->add_option("--password-file", f->overrides.password_file,
                                     "Keystore password file (else OPENSTREAMING_PASSWORD, else a prompt)");
  f->data_dir = cmd->add_option("--data-dir", f->overrides.data_dir, "Directory for the node's state");
  f->listen = cmd->add_option("--listen", f->overrides.listen, "P2P listen HOST:PORT (port 0: any free port)");
  f->api = cmd->add_option("--api", f->overrides.api, "HTTP API HOST:PORT (default 127.0.0.1:0)");
  f->bootstrap = cmd->add_option("--bootstrap", f->overrides.bootstrap, "Peer HOST:PORT to dial (repeatable)");
  f->roles = cmd->add_option("--role", f->overrides.roles, "relay, broadcaster, viewer, transcoder, orchestrator (repeatable)");
  f->max_peers = cmd->add_option("--max-peers", f->overrides.max_peers, "Most peer sessions at once");
  cmd->add_flag("--no-peer-exchange", f->no_peer_exchange, "Dial only the bootstrap peers (exact topologies)");
  cmd->callback([f, &runner] { runner.run = [f] { return run_node(*f); }; });
}

} // namespace openstreaming::cli
