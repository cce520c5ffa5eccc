// openstreaming ledger: the embedded settlement ledger as a JSON-RPC service
// (docs/ledger.md). One event loop: HTTP requests and the block timer.
#include "api/http_server.h"
#include "apps/openstreaming/cli.h"
#include "core/endpoint.h"
#include "core/hex.h"
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

json rpc_error(const json& id, int code, const std::string& message) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"error", {{"code", code}, {"message", message}}}};
}

json status_of(ledger::State& st) {
  return {{"chain_id", st.genesis().chain_id},
          {"height", st.height()},
          {"round", st.round()},
          {"block_hash", core::to_hex(st.last_hash())},
          {"round_block_hash", core::to_hex(*st.round_block_hash(st.round()))},
          {"block_ms", st.genesis().block_ms},
          {"round_blocks", st.genesis().round_blocks},
          {"supply", core::Amount(st.genesis().supply()).to_wei_string()},
          {"ticket_valid_rounds", st.params().ticket_valid_rounds},
          {"unlock_rounds", st.params().unlock_rounds},
          {"domain", st.ticket_domain().to_json()}};
}

// JSON-RPC 2.0 over HTTP POST (docs/ledger.md lists the methods).
json handle_rpc(ledger::LedgerStore& store, const json& req) {
  json id = req.contains("id") ? req["id"] : json(nullptr);
  if (!req.is_object() || !req.contains("method") || !req["method"].is_string())
    return rpc_error(id, -32600, "invalid request");
  std::string method = req["method"];
  json params = req.contains("params") ? req["params"] : json::object();
  if (!params.is_object()) return rpc_error(id, -32602, "params must be an object");
  ledger::State& st = store.state();
  auto ok = [&](json result) { return json{{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}}; };
  auto address = [&]() -> Result<core::Address> {
    if (!params.contains("address") || !params["address"].is_string())
      return make_error(Errc::invalid_input, "'address' required");
    return core::Address::parse(params["address"].get<std::string>());
  };
  if (method == "ledger_status") return ok(status_of(st));
  if (method == "ledger_getAccount") {
    auto a = address();
    if (!a) return rpc_error(id, -32602, a.error().message);
    json j = st.account(*a).to_json();
    j["address"] = a->to_checksum_hex();
    return ok(j);
  }
  if (method == "ledger_accounts") {
    json list = json::array();
    for (const auto& [a, acc] : st.accounts()) {
      json j = acc.to_json();
      j["address"] = a.to_checksum_hex();
      list.push_back(j);
    }
    return ok(list);
  }
  if (method == "ledger_sendTransaction") {
    if (!params.contains("tx")) return rpc_error(id, -32602, "'tx' required");
    auto tx = ledger::Tx::from_json(params["tx"]);
    if (!tx) return rpc_error(id, -32602, tx.error().message);
    auto r = store.submit(*tx);
    if (!r) return rpc_error(id, 1, r.error().message);
    json out = *r;
    out["height"] = st.height();
    return ok(out);
  }
  if (method == "ledger_roundBlockHash") {
    if (!params.contains("round") || !params["round"].is_number_unsigned())
      return rpc_error(id, -32602, "'round' required");
    auto h = st.round_block_hash(params["round"].get<uint64_t>());
    if (!h) return rpc_error(id, 2, "no such round yet");
    return ok(core::to_hex(*h));
  }
  if (method == "ledger_tickets") {
    auto a = address();
    if (!a) return rpc_error(id, -32602, a.error().message);
    json list = json::array();
    for (const auto& r : st.redemptions()) {
      if (r["recipient"] != a->to_checksum_hex()) continue;
      json t = r["ticket"];
      t["signature"] = r["signature"];
      t["won"] = true;
      t["redeemed"] = true;
      t["ticket_hash"] = r["ticket_hash"];
      t["redeemed_round"] = r["round"];
      list.push_back(t);
    }
    return ok(json{{"domain", st.ticket_domain().to_json()}, {"tickets", list}});
  }
  if (method == "ledger_channels") { // the channels where `address` pays or is paid
    auto a = address();
    if (!a) return rpc_error(id, -32602, a.error().message);
    json list = json::array();
    for (const auto& [cid, ch] : st.channels()) {
      if (ch.payer == *a || ch.payee == *a) list.push_back(ch.to_json());
    }
    return ok(list);
  }
  if (method == "ledger_genesis") return ok(st.genesis().to_json());
  return rpc_error(id, -32601, "unknown method '" + method + "'");
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
    if (r.method == "GET" && r.path == "/status") return {200, "application/json", status_of(ls.state()).dump() + "\n"};
    if (r.method != "POST") return {405, "application/json", R"({"error":"POST a JSON-RPC 2.0 request"})"};
    auto req = json::parse(r.body, nullptr, false);
    if (req.is_discarded()) return {200, "application/json", rpc_error(nullptr, -32700, "parse error").dump()};
    return {200, "application/json", handle_rpc(ls, req).dump()};
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
