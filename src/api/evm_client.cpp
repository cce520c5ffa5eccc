#include "api/evm_client.h"

#include "core/hex.h"
#include "ledger/evm/tx.h"

#include <thread>

namespace openstreaming::api {

using nlohmann::json;

Result<U256> parse_quantity(const json& j) {
  if (!j.is_string()) return make_error(Errc::invalid_input, "quantity: not a string");
  const std::string& s = j.get_ref<const std::string&>();
  if (s.size() < 3 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X') || s.size() > 2 + 64)
    return make_error(Errc::invalid_input, "quantity: not 0x-prefixed hex of at most 256 bits");
  U256 v = 0;
  for (std::size_t i = 2; i < s.size(); ++i) {
    const char c = s[i];
    unsigned d;
    if (c >= '0' && c <= '9')
      d = static_cast<unsigned>(c - '0');
    else if (c >= 'a' && c <= 'f')
      d = static_cast<unsigned>(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F')
      d = static_cast<unsigned>(c - 'A' + 10);
    else
      return make_error(Errc::invalid_input, "quantity: not hex");
    v = (v << 4) | d;
  }
  return v;
}

Result<Bytes> parse_data(const json& j) {
  if (!j.is_string()) return make_error(Errc::invalid_input, "data: not a string");
  const std::string& s = j.get_ref<const std::string&>();
  if (s.rfind("0x", 0) != 0) return make_error(Errc::invalid_input, "data: not 0x-prefixed");
  return core::from_hex(s);
}

std::string to_quantity(const U256& v) {
  if (v == 0) return "0x0";
  std::string out;
  U256 x = v;
  while (x > 0) {
    out.push_back("0123456789abcdef"[static_cast<unsigned>(x & 0xf)]);
    x >>= 4;
  }
  return "0x" + std::string(out.rbegin(), out.rend());
}

namespace {

Result<uint64_t> small(const Result<U256>& q, const char* what) {
  if (!q) return q.error();
  if (*q > U256(UINT64_MAX)) return make_error(Errc::invalid_input, std::string(what) + ": beyond 64 bits");
  return static_cast<uint64_t>(*q);
}

template <std::size_t N>
Result<FixedBytes<N>> fixed(const json& j, const char* what) {
  if (!j.is_string()) return make_error(Errc::invalid_input, std::string(what) + ": not a string");
  auto b = core::from_hex_fixed<N>(j.get<std::string>());
  if (!b) return make_error(Errc::invalid_input, std::string(what) + ": " + b.error().message);
  return *b;
}

json call_object(const EvmCall& c) {
  json o = json::object();
  if (c.from) o["from"] = c.from->to_checksum_hex();
  if (c.to) o["to"] = c.to->to_checksum_hex();
  if (c.value != 0) o["value"] = to_quantity(c.value);
  o["data"] = core::to_hex(c.data);
  return o;
}

} // namespace

EvmClient::EvmClient(HttpUrl url, std::chrono::milliseconds timeout) : m_conn(std::move(url)), m_timeout(timeout) {}

namespace {

// A JSON-RPC error object as our error: the node's message, or the revert
// reason decoded from its data.
Error rpc_error(const std::string& method, const json& e, std::span<const ledger::evm::abi::Function> custom) {
  std::string msg = e.is_object() && e.contains("message") && e["message"].is_string()
                        ? e["message"].get<std::string>().substr(0, 512)
                        : std::string("error");
  if (e.is_object() && e.contains("data")) {
    if (auto data = parse_data(e["data"])) {
      if (auto revert = ledger::evm::abi::decode_revert(*data, custom))
        return Error{Errc::io, method + ": " + ledger::evm::abi::describe(*revert)};
    }
  }
  return Error{Errc::io, method + ": " + msg};
}

} // namespace

Result<json> EvmClient::rpc(const std::string& method, json params) {
  json req = {{"jsonrpc", "2.0"}, {"id", ++m_id}, {"method", method}, {"params", std::move(params)}};
  auto reply = m_conn.post_json(req.dump(), m_timeout);
  if (!reply) return reply.error();
  if (reply->status != 200) return make_error(Errc::io, method + ": HTTP " + std::to_string(reply->status));
  json r = json::parse(reply->body, nullptr, false);
  if (!r.is_object()) return make_error(Errc::invalid_input, method + ": the answer is not a JSON-RPC object");
  if (r.contains("error")) return rpc_error(method, r["error"], known_errors);
  if (!r.contains("result")) return make_error(Errc::invalid_input, method + ": no result");
  return r["result"];
}

Result<std::vector<Result<json>>> EvmClient::batch(const std::vector<std::pair<std::string, json>>& calls) {
  if (calls.empty()) return std::vector<Result<json>>{};
  json req = json::array();
  const uint64_t first = m_id + 1;
  for (const auto& [method, params] : calls)
    req.push_back({{"jsonrpc", "2.0"}, {"id", ++m_id}, {"method", method}, {"params", params}});
  auto reply = m_conn.post_json(req.dump(), m_timeout);
  if (!reply) return reply.error();
  if (reply->status != 200) return make_error(Errc::io, "batch: HTTP " + std::to_string(reply->status));
  json r = json::parse(reply->body, nullptr, false);
  if (r.is_object() && r.contains("error")) return rpc_error("batch", r["error"], known_errors); // refused as a whole
  if (!r.is_array() || r.size() != calls.size())
    return make_error(Errc::invalid_input, "batch: not one answer per call");
  std::vector<std::optional<Result<json>>> slots(calls.size());
  for (auto& a : r) { // matched by id, whatever the order
    if (!a.is_object() || !a.contains("id") || !a["id"].is_number_unsigned())
      return make_error(Errc::invalid_input, "batch: an answer without its id");
    const uint64_t id = a["id"].get<uint64_t>();
    if (id < first || id - first >= calls.size() || slots[id - first])
      return make_error(Errc::invalid_input, "batch: an answer to no call, or a second answer");
    const std::size_t i = id - first;
    if (a.contains("error"))
      slots[i] = Result<json>(rpc_error(calls[i].first, a["error"], known_errors));
    else if (!a.contains("result"))
      slots[i] = Result<json>(make_error(Errc::invalid_input, calls[i].first + ": no result"));
    else
      slots[i] = Result<json>(std::move(a["result"]));
  }
  std::vector<Result<json>> out;
  out.reserve(calls.size());
  for (auto& s : slots) out.push_back(std::move(*s)); // all filled: as many distinct ids as calls
  return out;
}

Result<U256> EvmClient::chain_id() {
  if (m_chain_id) return *m_chain_id;
  auto r = rpc("eth_chainId", json::array());
  if (!r) return r.error();
  auto id = parse_quantity(*r);
  if (id) m_chain_id = *id;
  return id;
}

Result<uint64_t> EvmClient::block_number() {
  auto r = rpc("eth_blockNumber", json::array());
  if (!r) return r.error();
  return small(parse_quantity(*r), "block number");
}

Result<U256> EvmClient::balance(const core::Address& a) {
  auto r = rpc("eth_getBalance", {a.to_checksum_hex(), "latest"});
  if (!r) return r.error();
  return parse_quantity(*r);
}

Result<uint64_t> EvmClient::nonce(const core::Address& a, const std::string& block) {
  auto r = rpc("eth_getTransactionCount", {a.to_checksum_hex(), block});
  if (!r) return r.error();
  return small(parse_quantity(*r), "nonce");
}

Result<EvmFees> EvmClient::suggest_fees() {
  auto history = rpc("eth_feeHistory", {"0x1", "latest", json::array()});
  if (!history) return history.error();
  if (!history->is_object() || !(*history)["baseFeePerGas"].is_array() || (*history)["baseFeePerGas"].empty())
    return make_error(Errc::invalid_input, "eth_feeHistory: no baseFeePerGas");
  // The last entry is the next block's base fee.
  auto next_base = parse_quantity((*history)["baseFeePerGas"].back());
  if (!next_base) return next_base.error();
  auto tip = rpc("eth_maxPriorityFeePerGas", json::array());
  if (!tip) return tip.error();
  auto tip_q = parse_quantity(*tip);
  if (!tip_q) return tip_q.error();
  // Twice the next base fee: stays includable through six full blocks of +12.5 %.
  EvmFees f;
  f.max_priority_fee_per_gas = *tip_q;
  f.max_fee_per_gas = *next_base * 2 + *tip_q;
  f.next_base_fee = *next_base;
  return f;
}

Result<uint64_t> EvmClient::estimate_gas(const EvmCall& c) {
  auto r = rpc("eth_estimateGas", {call_object(c)});
  if (!r) return r.error();
  return small(parse_quantity(*r), "gas estimate");
}

Result<Bytes> EvmClient::call(const EvmCall& c, const std::string& block) {
  auto r = rpc("eth_call", {call_object(c), block});
  if (!r) return r.error();
  return parse_data(*r);
}

Result<Hash256> EvmClient::send_raw(ByteView raw) {
  auto r = rpc("eth_sendRawTransaction", {core::to_hex(raw)});
  if (!r) return r.error();
  return fixed<32>(*r, "transaction hash");
}

Result<std::optional<EvmReceipt>> EvmClient::receipt(const Hash256& tx) {
  auto r = rpc("eth_getTransactionReceipt", {core::to_hex(tx)});
  if (!r) return r.error();
  if (r->is_null()) return std::optional<EvmReceipt>{};
  if (!r->is_object()) return make_error(Errc::invalid_input, "receipt: not an object");
  const json& j = *r;
  EvmReceipt out;
  out.transaction = tx;
  auto block = small(parse_quantity(j.value("blockNumber", json())), "receipt block");
  auto status = parse_quantity(j.value("status", json()));
  auto gas = small(parse_quantity(j.value("gasUsed", json())), "receipt gas");
  if (!block || !status || !gas) return make_error(Errc::invalid_input, "receipt: bad blockNumber, status or gasUsed");
  out.block = *block;
  out.success = *status == 1;
  out.gas_used = *gas;
  if (auto p = parse_quantity(j.value("effectiveGasPrice", json()))) out.effective_gas_price = *p;
  if (j.contains("contractAddress") && j["contractAddress"].is_string()) {
    auto a = core::Address::parse(j["contractAddress"].get<std::string>());
    if (!a) return make_error(Errc::invalid_input, "receipt: bad contractAddress");
    out.contract = *a;
  }
  if (j.contains("logs") && j["logs"].is_array()) {
    for (const auto& l : j["logs"]) {
      EvmLog log;
      auto a = l.contains("address") && l["address"].is_string()
                   ? core::Address::parse(l["address"].get<std::string>())
                   : Result<core::Address>(make_error(Errc::invalid_input, "no address"));
      auto data = parse_data(l.value("data", json()));
      if (!a || !data || !l.contains("topics") || !l["topics"].is_array() || l["topics"].size() > 4)
        return make_error(Errc::invalid_input, "receipt: a malformed log");
      log.address = *a;
      log.data = std::move(*data);
      for (const auto& t : l["topics"]) {
        auto topic = fixed<32>(t, "log topic");
        if (!topic) return topic.error();
        log.topics.push_back(*topic);
      }
      out.logs.push_back(std::move(log));
    }
  }
  return std::optional<EvmReceipt>{std::move(out)};
}

Result<EvmReceipt> EvmClient::wait(const Hash256& tx, uint64_t confirmations, std::chrono::milliseconds limit,
                                   std::chrono::milliseconds poll) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    auto r = receipt(tx);
    if (!r) return r.error();
    if (*r) {
      auto head = block_number();
      if (!head) return head.error();
      if (*head + 1 >= (*r)->block + confirmations) return **r;
    }
    if (std::chrono::steady_clock::now() + poll > deadline)
      return make_error(Errc::io, "transaction " + core::to_hex(tx) + ": not confirmed within " +
                                      std::to_string(limit.count()) + " ms");
    std::this_thread::sleep_for(poll);
  }
}

Result<Hash256> EvmClient::transact(const core::PrivateKey& key, std::optional<core::Address> to, const U256& value,
                                    const Bytes& data) {
  auto id = chain_id();
  if (!id) return id.error();
  auto n = nonce(key.address());
  if (!n) return n.error();
  auto fees = suggest_fees();
  if (!fees) return fees.error();
  if (max_gas_price && fees->max_fee_per_gas > *max_gas_price) {
    if (fees->next_base_fee + fees->max_priority_fee_per_gas > *max_gas_price)
      return make_error(Errc::io, "the chain asks " + fees->next_base_fee.str() +
                                      " wei per gas (base fee) plus a tip of " + fees->max_priority_fee_per_gas.str() +
                                      ", above the cap of " + max_gas_price->str() + ": not sent");
    fees->max_fee_per_gas = *max_gas_price;
  }
  auto gas = estimate_gas(EvmCall{key.address(), to, value, data});
  if (!gas) return gas.error();
  ledger::evm::Eip1559Transaction tx;
  tx.chain_id = *id;
  tx.nonce = *n;
  tx.max_priority_fee_per_gas = fees->max_priority_fee_per_gas;
  tx.max_fee_per_gas = fees->max_fee_per_gas;
  tx.gas_limit = *gas + *gas * gas_margin_pct / 100;
  tx.to = to;
  tx.value = value;
  tx.data = data;
  return send_raw(ledger::evm::encode(ledger::evm::sign(tx, key)));
}

} // namespace openstreaming::api
