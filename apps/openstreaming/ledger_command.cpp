// openstreaming ledger: the embedded settlement ledger as a JSON-RPC service
// (docs/ledger.md). One event loop: HTTP requests and the block timer. The
// methods are api::handle_ledger_rpc (src/api/ledger_rpc.h); this file parses
// flags, opens the store and serves them.
#include "api/http_server.h"
#include "api/ledger_rpc.h"
#include "apps/openstreaming/cli.h"
#include "core/endpoint.h"
#include "ledger/store.h"
#include "platform/files.h"

#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>
#include <memory>

namespace openstreaming::cli {

namespace {

using ledger::json;

struct LedgerFlags {
  std::string data_dir = "openstreaming-ledger";
  std::string listen = "127.0.0.1:0";
  std::string genesis;
};

int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int run_ledger(const LedgerFlags& f) {
  if (f.genesis.empty()) return fail(make_error(Errc::invalid_input, "--genesis FILE is required"));
  auto text = platform::read_file(f.genesis, 16 << 20);
  if (!text) return fail(text.error());
  auto j = json::parse(*text, nullptr, false);
  if (j.is_discarded()) return fail(make_error(Errc::invalid_input, f.genesis + ": not JSON"));
  auto genesis = ledger::Genesis::from_json(j);
  if (!genesis) return fail(make_error(Errc::invalid_input, f.genesis + ": " + genesis.error().message));
  auto ep = core::Endpoint::parse(f.listen, true);
  if (!ep) return fail(make_error(Errc::invalid_input, "--listen: " + ep.error().message));
  std::error_code ec;
  std::filesystem::create_directories(f.data_dir, ec);
  if (ec) return fail(make_error(Errc::io, "--data-dir " + f.data_dir + ": " + ec.message()));
  auto store = ledger::LedgerStore::open((std::filesystem::path(f.data_dir) / "ledger.sqlite").string(), *genesis);
  if (!store) {
    std::cerr << "error: " << store.error().message << "\n";
    return store.error().code == Errc::io ? kCheckFailed : kBadInput;
  }
  ledger::LedgerStore& ls = **store;

  boost::asio::io_context io;
  api::Handler handler = [&](const api::HttpRequest& r) -> api::HttpResponse {
    if (r.method == "GET" && r.path == "/status")
      return {200, "application/json", api::ledger_status(ls.state()).dump() + "\n"};
    if (r.method != "POST") return {405, "application/json", R"({"error":"POST a JSON-RPC 2.0 request"})"};
    return {200, "application/json", api::handle_ledger_rpc_body(ls, r.body)};
  };
  api::HttpServer http(io, handler, 256, 1 << 20);
  auto bound = http.listen(ep->host, ep->port);
  if (!bound) {
    std::cerr << "error: " << bound.error().message << "\n";
    return kCheckFailed;
  }
  std::cout << "listening rpc " << core::Endpoint{bound->address().to_string(), bound->port()}.to_string() << "\n"
            << std::flush;
  spdlog::info("ledger chain {} at height {} (round {}), blocks every {} ms", genesis->chain_id, ls.state().height(),
               ls.state().round(), genesis->block_ms);

  boost::asio::steady_timer timer(io);
  std::function<void()> tick = [&] {
    timer.expires_after(std::chrono::milliseconds(genesis->block_ms));
    timer.async_wait([&](boost::system::error_code tec) {
      if (tec) return;
      ls.seal_block(unix_ms());
      tick();
    });
  };
  tick();
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code, int) {
    timer.cancel();
    http.stop();
    io.stop();
  });
  io.run();
  ls.seal_block(unix_ms()); // the transactions of the open block become durable
  spdlog::info("ledger stopped at height {}", ls.state().height());
  return kOk;
}

} // namespace

void add_ledger_command(CLI::App& app, Runner& runner) {
  auto f = std::make_shared<LedgerFlags>();
  CLI::App* cmd = app.add_subcommand("ledger", "Run the embedded settlement ledger (JSON-RPC over HTTP)");
  cmd->add_option("--data-dir", f->data_dir, "Directory for ledger.sqlite")->capture_default_str();
  cmd->add_option("--listen", f->listen, "RPC HOST:PORT (port 0: any free port)")->capture_default_str();
  cmd->add_option("--genesis", f->genesis, "Genesis JSON: {\"chain_id\", \"block_ms\", \"round_blocks\", \"accounts\"}")
      ->required();
  cmd->callback([f, &runner] { runner.run = [f] { return run_ledger(*f); }; });
}

} // namespace openstreaming::cli
