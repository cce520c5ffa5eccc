#include "api/ledger_rpc.h"

#include "core/hex.h"

#include <algorithm>

namespace openstreaming::api {

namespace {

using ledger::json;

json rpc_error(const json& id, int code, const std::string& message) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"error", {{"code", code}, {"message", message}}}};
}

json account_json(const ledger::State& st, const core::Address& a) {
  json j = st.account(a).to_json();
  j["address"] = a.to_checksum_hex();
  // The reserve's split this round: what each payee may count on.
  j["reserve_recipients"] = st.reserve_recipients(a);
  j["reserve_share"] = st.reserve_share(a).to_wei_string();
  return j;
}

} // namespace

json ledger_status(const ledger::State& st) {
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
          {"challenge_blocks", st.params().challenge_blocks},
          {"unbonding_blocks", st.params().unbonding_blocks},
          {"domain", st.ticket_domain().to_json()}};
}

json handle_ledger_rpc(ledger::LedgerStore& store, const json& req) {
  if (req.is_array()) { // a batch: one answer per call, in order
    if (req.empty()) return rpc_error(nullptr, kRpcInvalidRequest, "empty batch");
    if (req.size() > kMaxBatchCalls)
      return rpc_error(nullptr, kRpcInvalidRequest,
                       "batch of " + std::to_string(req.size()) + " calls, at most " + std::to_string(kMaxBatchCalls));
    json out = json::array();
    for (const auto& call : req) {
      // A call inside a batch is never a batch itself.
      out.push_back(call.is_array() ? rpc_error(nullptr, kRpcInvalidRequest, "invalid request")
                                    : handle_ledger_rpc(store, call));
    }
    return out;
  }
  // `contains` is false for anything but an object, so `id` is null for arrays and scalars.
  json id = req.contains("id") ? req["id"] : json(nullptr);
  if (!req.is_object() || !req.contains("method") || !req["method"].is_string())
    return rpc_error(id, kRpcInvalidRequest, "invalid request");
  std::string method = req["method"];
  json params = req.contains("params") ? req["params"] : json::object();
  if (!params.is_object()) return rpc_error(id, kRpcInvalidParams, "params must be an object");
  ledger::State& st = store.state();
  auto ok = [&](json result) { return json{{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}}; };
  auto address = [&]() -> Result<core::Address> {
    if (!params.contains("address") || !params["address"].is_string())
      return make_error(Errc::invalid_input, "'address' required");
    return core::Address::parse(params["address"].get<std::string>());
  };
  if (method == "ledger_status") return ok(ledger_status(st));
  if (method == "ledger_getAccount") {
    auto a = address();
    if (!a) return rpc_error(id, kRpcInvalidParams, a.error().message);
    return ok(account_json(st, *a));
  }
  if (method == "ledger_getAccounts") { // many accounts in one call: a node's watch set
    if (!params.contains("addresses") || !params["addresses"].is_array())
      return rpc_error(id, kRpcInvalidParams, "'addresses' (an array) required");
    const json& list = params["addresses"];
    if (list.size() > kMaxAccountsPerCall)
      return rpc_error(id, kRpcInvalidParams,
                       "'addresses': " + std::to_string(list.size()) + " addresses, at most " +
                           std::to_string(kMaxAccountsPerCall) + " per call");
    json out = json::array();
    for (const auto& e : list) {
      auto a = e.is_string() ? core::Address::parse(e.get<std::string>())
                             : Result<core::Address>(make_error(Errc::invalid_input, "not a string"));
      if (!a) return rpc_error(id, kRpcInvalidParams, "'addresses': " + a.error().message);
      out.push_back(account_json(st, *a));
    }
    return ok(out);
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
    if (!params.contains("tx")) return rpc_error(id, kRpcInvalidParams, "'tx' required");
    auto tx = ledger::Tx::from_json(params["tx"]);
    if (!tx) return rpc_error(id, kRpcInvalidParams, tx.error().message);
    auto r = store.submit(*tx);
    if (!r) return rpc_error(id, kRpcTxRefused, r.error().message);
    json out = *r;
    out["height"] = st.height();
    return ok(out);
  }
  if (method == "ledger_roundBlockHash") {
    if (!params.contains("round") || !params["round"].is_number_unsigned())
      return rpc_error(id, kRpcInvalidParams, "'round' required");
    auto h = st.round_block_hash(params["round"].get<uint64_t>());
    if (!h) return rpc_error(id, kRpcNoSuchRound, "no such round yet");
    return ok(core::to_hex(*h));
  }
  if (method == "ledger_roundBlockHashes") { // the rounds whose tickets are still honoured
    json out = json::array();
    const uint64_t valid = st.params().ticket_valid_rounds;
    for (uint64_t back = 0; back <= valid && back <= st.round(); ++back) {
      uint64_t r = st.round() - back;
      if (auto h = st.round_block_hash(r)) out.push_back({{"round", r}, {"hash", core::to_hex(*h)}});
    }
    return ok(out);
  }
  if (method == "ledger_tickets") {
    auto a = address();
    if (!a) return rpc_error(id, kRpcInvalidParams, a.error().message);
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
    if (!a) return rpc_error(id, kRpcInvalidParams, a.error().message);
    json list = json::array();
    for (const auto& [cid, ch] : st.channels()) {
      if (ch.payer == *a || ch.payee == *a) list.push_back(ch.to_json());
    }
    return ok(list);
  }
  if (method == "ledger_getChannel") {
    if (!params.contains("channel") || !params["channel"].is_string())
      return rpc_error(id, kRpcInvalidParams, "'channel' required");
    auto cid = core::from_hex_fixed<32>(params["channel"].get<std::string>());
    if (!cid) return rpc_error(id, kRpcInvalidParams, "'channel' must be 32 bytes of hex");
    auto it = st.channels().find(*cid);
    if (it == st.channels().end()) return rpc_error(id, kRpcNotFound, "no such channel");
    return ok(it->second.to_json());
  }
  if (method == "ledger_getStake") {
    auto a = address();
    if (!a) return rpc_error(id, kRpcInvalidParams, a.error().message);
    return ok(st.account(*a).stake_json());
  }
  if (method == "ledger_services") { // a page of the registered operators' records, by address
    uint64_t start = 0, limit = kMaxServicesPerCall;
    for (auto [k, out] : {std::pair<const char*, uint64_t*>{"start", &start}, {"limit", &limit}}) {
      if (!params.contains(k)) continue;
      if (!params[k].is_number_unsigned())
        return rpc_error(id, kRpcInvalidParams, std::string("'") + k + "' must be a count");
      *out = params[k].get<uint64_t>();
    }
    limit = std::min<uint64_t>(limit, kMaxServicesPerCall);
    json list = json::array();
    auto it = st.services().begin();
    for (uint64_t i = 0; i < start && it != st.services().end(); ++i) ++it;
    for (; it != st.services().end() && list.size() < limit; ++it) {
      const auto& [op, svc] = *it;
      json j = svc.to_json();
      j["operator"] = op.to_checksum_hex();
      list.push_back(std::move(j));
    }
    return ok(list);
  }
  if (method == "ledger_getService") {
    auto a = address();
    if (!a) return rpc_error(id, kRpcInvalidParams, a.error().message);
    auto it = st.services().find(*a);
    if (it == st.services().end()) return rpc_error(id, kRpcNotFound, "not registered");
    json j = it->second.to_json();
    j["operator"] = a->to_checksum_hex();
    return ok(j);
  }
  if (method == "ledger_genesis") return ok(st.genesis().to_json());
  return rpc_error(id, kRpcMethodNotFound, "unknown method '" + method + "'");
}

std::string handle_ledger_rpc_body(ledger::LedgerStore& store, std::string_view body) {
  auto req = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (req.is_discarded()) return rpc_error(nullptr, kRpcParseError, "parse error").dump();
  return handle_ledger_rpc(store, req).dump();
}

} // namespace openstreaming::api
