#include "api/ledger_link.h"

#include "api/evm_ledger.h"
#include "core/hex.h"
#include "ledger/state.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace openstreaming::api {

using nlohmann::json;

namespace {
// The message of a JSON-RPC error object, whatever shape the server gave it.
std::string message_of(const json& error) {
  if (error.is_object() && error.contains("message") && error["message"].is_string())
    return error["message"].get<std::string>();
  return "error";
}

} // namespace

Result<json> ledger_rpc(const HttpUrl& url, const std::string& method, json params, std::chrono::milliseconds timeout) {
  json req = {{"jsonrpc", "2.0"}, {"id", 1}, {"method", method}, {"params", std::move(params)}};
  auto reply = http_post_json(url, req.dump(), timeout);
  if (!reply) return reply.error();
  auto j = json::parse(reply->body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return make_error(Errc::io, "the ledger answered HTTP " + std::to_string(reply->status) + " without JSON-RPC");
  }
  if (j.contains("error")) return make_error(Errc::invalid_input, "ledger: " + message_of(j["error"]));
  return j["result"];
}

namespace {

// The chain id and our nonce in one batch, then the signed transaction.
Result<json> submit_tx(const LedgerPost& post, const core::PrivateKey& key, const std::string& kind, json args) {
  auto got = ledger_rpc_batch(
      post, {{"ledger_status", json::object()}, {"ledger_getAccount", {{"address", key.address().to_checksum_hex()}}}});
  if (!got) return got.error();
  const json& st = (*got)[0];
  const json& acct = (*got)[1];
  if (!st.contains("chain_id") || !st["chain_id"].is_number_unsigned() || !acct.contains("nonce") ||
      !acct["nonce"].is_number_unsigned())
    return make_error(Errc::invalid_input, "ledger: unexpected answer to ledger_status or ledger_getAccount");
  ledger::Tx tx =
      ledger::sign_tx(key, acct["nonce"].get<uint64_t>(), kind, std::move(args), st.at("chain_id").get<uint64_t>());
  json req = {{"jsonrpc", "2.0"}, {"id", 1}, {"method", "ledger_sendTransaction"}, {"params", {{"tx", tx.to_json()}}}};
  auto body = post(req.dump());
  if (!body) return body.error();
  auto j = json::parse(*body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return make_error(Errc::io, "the ledger answered without JSON-RPC");
  if (j.contains("error")) return make_error(Errc::invalid_input, "ledger: " + message_of(j["error"]));
  return j["result"];
}

Result<core::Amount> amount_of(const json& j, const char* key) {
  if (!j.contains(key) || !j[key].is_string())
    return make_error(Errc::invalid_input, std::string("ledger account without ") + key);
  return core::Amount::from_decimal_wei(j[key].get<std::string>());
}

Result<Hash256> hash_of(const json& j) {
  if (!j.is_string()) return make_error(Errc::invalid_input, "ledger: a hash is not a string");
  auto h = core::from_hex_fixed<32>(j.get<std::string>());
  if (!h) return h.error();
  Hash256 out{};
  std::copy(h->begin(), h->end(), out.begin());
  return out;
}

} // namespace

Result<json> ledger_submit(const HttpUrl& url, const core::PrivateKey& key, const std::string& kind, json args) {
  HttpConnection conn(url);
  return submit_tx(
      [&](const std::string& body) -> Result<std::string> {
        auto reply = conn.post_json(body);
        if (!reply) return reply.error();
        return std::move(reply->body);
      },
      key, kind, std::move(args));
}

namespace {

// The embedded ledger (`openstreaming ledger`) over its JSON-RPC.
class EmbeddedLedger final : public LedgerBackend {
public:
  EmbeddedLedger(HttpUrl url, std::string text, const core::PrivateKey& key)
      : m_conn(std::move(url)), m_text(std::move(text)), m_key(key) {}

  Result<LedgerPoll> poll(const core::Address& self, const std::vector<core::Address>& watched) override {
    return poll_ledger([this](const std::string& body) { return post(body); }, self, watched);
  }
  Result<std::vector<agent::RedeemOutcome>> redeem(const std::vector<pay::Winner>& batch) override {
    auto r =
        submit_tx([this](const std::string& body) { return post(body); }, m_key, "redeem", agent::redeem_args(batch));
    if (!r) return r.error();
    return agent::redeem_outcomes(batch, *r);
  }
  std::string kind() const override { return "embedded"; }
  std::string url() const override { return m_text; }

private:
  Result<std::string> post(const std::string& body) {
    auto reply = m_conn.post_json(body, std::chrono::seconds(5));
    if (!reply) return reply.error();
    return std::move(reply->body);
  }

  HttpConnection m_conn;
  std::string m_text;
  core::PrivateKey m_key;
};

} // namespace

Result<std::unique_ptr<LedgerBackend>> open_ledger_backend(const std::string& url, const std::string& contracts,
                                                           const core::PrivateKey& key,
                                                           const LedgerBackendOptions& options) {
  static constexpr std::string_view kEvm = "evm+";
  const bool evm = url.rfind(kEvm, 0) == 0;
  const std::string plain = evm ? url.substr(kEvm.size()) : url;
  auto u = HttpUrl::parse(plain);
  if (!u) return make_error(Errc::invalid_input, "--ledger: " + u.error().message);
  if (!evm) {
    if (!contracts.empty())
      return make_error(Errc::invalid_input, "--contracts is for an EVM ledger (--ledger evm+http://HOST:PORT)");
    return std::unique_ptr<LedgerBackend>(std::make_unique<EmbeddedLedger>(*u, url, key));
  }
  if (contracts.empty())
    return make_error(Errc::invalid_input,
                      "--ledger " + url +
                          " needs --contracts deployments.json (from `openstreaming contracts deploy`)");
  auto d = load_deployment(contracts);
  if (!d) return make_error(d.error().code, "--contracts " + d.error().message);
  if (!d->find("TicketBroker"))
    return make_error(Errc::invalid_input, "--contracts " + contracts + ": no TicketBroker");
  if (d->chain_id > U256(UINT64_MAX))
    return make_error(Errc::invalid_input, "--contracts " + contracts + ": chain id beyond 64 bits");
  EvmLedgerOptions o;
  o.confirmations = std::max<uint64_t>(1, options.confirmations);
  o.max_gas_price = options.max_gas_price;
  o.receipt_timeout = options.receipt_timeout;
  return std::unique_ptr<LedgerBackend>(std::make_unique<EvmLedger>(*u, url, std::move(*d), key, o));
}

LedgerLink::LedgerLink(net::NodeRuntime& runtime, const core::PrivateKey& key, std::unique_ptr<LedgerBackend> backend,
                       std::unique_ptr<platform::SqliteWinnerStore> store, std::chrono::milliseconds poll)
    : m_runtime(runtime), m_key(key), m_backend(std::move(backend)), m_store(std::move(store)), m_poll(poll) {}

Result<std::unique_ptr<LedgerLink>> LedgerLink::start(net::NodeRuntime& runtime, const core::PrivateKey& key,
                                                      std::unique_ptr<LedgerBackend> backend,
                                                      std::unique_ptr<platform::SqliteWinnerStore> store,
                                                      std::chrono::milliseconds poll) {
  auto stored = store->load();
  if (!stored) return stored.error();
  std::unique_ptr<LedgerLink> link(new LedgerLink(runtime, key, std::move(backend), std::move(store), poll));
  if (!stored->empty())
    spdlog::info("payments: {} winning ticket(s) from before the restart still to redeem", stored->size());
  runtime.post([&](agent::Node& n) { n.payments().restore(*stored); });
  runtime.set_payments_io(link.get());
  link->m_watched = {key.address()};
  link->m_worker = std::thread([l = link.get()] { l->run(); });
  return link;
}

LedgerLink::~LedgerLink() {
  m_runtime.set_payments_io(nullptr);
  {
    std::lock_guard lock(m_mu);
    m_stop = true;
  }
  m_cv.notify_all();
  if (m_worker.joinable()) m_worker.join();
}

void LedgerLink::persist(const agent::Payments::StoreOp& op) {
  auto r = op.add ? m_store->add(op.winner) : m_store->remove(op.winner.hash);
  if (!r) spdlog::error("payments: {}", r.error().message);
}

void LedgerLink::redeem(std::vector<pay::Winner> batch) {
  {
    std::lock_guard lock(m_mu);
    m_batch = std::move(batch);
  }
  m_cv.notify_all();
}

json LedgerLink::status() const {
  std::lock_guard lock(m_mu);
  return {{"url", m_backend->url()},  {"backend", m_backend->kind()},
          {"reachable", m_reachable}, {"last_error", m_last_error},
          {"polls", m_polls},         {"channels", m_channels}};
}

Result<std::vector<json>> ledger_rpc_batch(const LedgerPost& post,
                                           const std::vector<std::pair<std::string, json>>& calls) {
  json req = json::array();
  for (std::size_t i = 0; i < calls.size(); ++i)
    req.push_back({{"jsonrpc", "2.0"}, {"id", i}, {"method", calls[i].first}, {"params", calls[i].second}});
  auto body = post(req.dump());
  if (!body) return body.error();
  auto j = json::parse(*body, nullptr, false);
  if (j.is_object() && j.contains("error")) // the batch itself refused
    return make_error(Errc::invalid_input, "ledger: " + message_of(j["error"]));
  if (!j.is_array() || j.size() != calls.size())
    return make_error(Errc::io, "the ledger did not answer the batch with one response per call");
  std::vector<json> out(calls.size());
  std::vector<bool> seen(calls.size(), false);
  for (auto& r : j) { // answers are matched by id, whatever their order
    if (!r.is_object() || !r.contains("id") || !r["id"].is_number_unsigned())
      return make_error(Errc::io, "the ledger answered a batch call without its id");
    auto i = r["id"].get<std::size_t>();
    if (i >= calls.size() || seen[i]) return make_error(Errc::io, "the ledger answered a batch call twice");
    seen[i] = true;
    if (r.contains("error"))
      return make_error(Errc::invalid_input, "ledger: " + calls[i].first + ": " + message_of(r["error"]));
    out[i] = std::move(r["result"]);
  }
  return out;
}

Result<LedgerPoll> poll_ledger(const LedgerPost& post, const core::Address& self,
                               const std::vector<core::Address>& watched) {
  // Ourselves first, then the others once each, within what one call may ask.
  std::vector<core::Address> addresses{self};
  for (const auto& a : watched) {
    if (addresses.size() == kMaxAccountsPerCall) break;
    if (std::find(addresses.begin(), addresses.end(), a) == addresses.end()) addresses.push_back(a);
  }
  json list = json::array();
  for (const auto& a : addresses) list.push_back(a.to_checksum_hex());
  auto results = ledger_rpc_batch(post, {{"ledger_status", json::object()},
                                         {"ledger_roundBlockHashes", json::object()},
                                         {"ledger_getAccounts", {{"addresses", list}}},
                                         {"ledger_channels", {{"address", self.to_checksum_hex()}}}});
  if (!results) return results.error();
  const json& st = (*results)[0];
  LedgerPoll out;
  agent::LedgerSnapshot& s = out.snapshot;
  try {
    s.chain_id = st.at("chain_id").get<uint64_t>();
    s.round = st.at("round").get<uint64_t>();
    s.height = st.at("height").get<uint64_t>();
    s.ticket_valid_rounds = st.at("ticket_valid_rounds").get<uint64_t>();
    s.domain.chain_id = s.chain_id;
    auto vc = core::Address::parse(st.at("domain").at("verifyingContract").get<std::string>());
    if (!vc) return vc.error();
    s.domain.verifying_contract = *vc;
    auto rh = hash_of(st.at("round_block_hash"));
    if (!rh) return rh.error();
    s.round_hashes[s.round] = *rh;
    // The rounds whose tickets are still accepted or redeemable.
    for (const auto& e : (*results)[1]) {
      auto r = e.at("round").get<uint64_t>();
      auto h = hash_of(e.at("hash"));
      if (!h) return h.error();
      if (r <= s.round && r + s.ticket_valid_rounds >= s.round) s.round_hashes[r] = *h;
    }
  } catch (const json::exception& e) {
    return make_error(Errc::invalid_input, std::string("ledger_status: unexpected answer: ") + e.what());
  }
  const json& accounts = (*results)[2];
  if (!accounts.is_array() || accounts.size() != addresses.size())
    return make_error(Errc::invalid_input, "ledger_getAccounts: not one account per address");
  for (std::size_t i = 0; i < addresses.size(); ++i) {
    const json& acct = accounts[i];
    if (!acct.is_object()) return make_error(Errc::invalid_input, "ledger_getAccounts: unexpected answer");
    auto deposit = amount_of(acct, "deposit"), reserve = amount_of(acct, "reserve"),
         balance = amount_of(acct, "balance");
    if (!deposit || !reserve || !balance)
      return make_error(Errc::invalid_input, "ledger_getAccounts: unexpected answer");
    auto number = [&](const char* key, uint64_t absent) {
      return acct.contains(key) && acct[key].is_number_unsigned() ? acct[key].get<uint64_t>() : absent;
    };
    pay::SenderFunds f;
    f.deposit = *deposit;
    f.reserve = *reserve;
    f.withdraw_round = number("withdraw_round", 0);
    // How many payees share the reserve this round: a payee counts only its share.
    f.reserve_recipients = std::clamp<uint64_t>(number("reserve_recipients", 1), 1, 1'000'000);
    s.accounts[addresses[i]] = f;
    if (addresses[i] == self) s.self = {*balance, *deposit, *reserve};
  }
  out.channels = (*results)[3].is_array() ? (*results)[3] : json::array();
  return out;
}

void LedgerLink::run() {
  auto next_poll = std::chrono::steady_clock::now();
  for (;;) {
    std::optional<std::vector<pay::Winner>> batch;
    std::vector<core::Address> watched;
    {
      std::unique_lock lock(m_mu);
      m_cv.wait_until(lock, next_poll, [&] { return m_stop || m_batch.has_value(); });
      if (m_stop) return;
      batch = std::exchange(m_batch, std::nullopt);
      watched = m_watched;
    }
    if (batch) {
      std::string error;
      std::vector<agent::RedeemOutcome> outcomes;
      if (auto r = m_backend->redeem(*batch))
        outcomes = std::move(*r);
      else
        error = r.error().message;
      uint64_t paid = 0;
      for (const auto& o : outcomes) paid += o.paid ? 1 : 0;
      if (error.empty())
        spdlog::info("payments: redeemed {} of {} winning ticket(s)", paid, batch->size());
      else
        spdlog::warn("payments: redemption failed, will retry: {}", error);
      boost::asio::post(m_runtime.io_context(), [this, outcomes = std::move(outcomes), error] {
        m_runtime.post([&](agent::Node& n) {
          if (error.empty())
            n.payments().on_redeemed(outcomes);
          else
            n.payments().on_redeem_failed(error);
        });
      });
      if (!error.empty()) next_poll = std::chrono::steady_clock::now() + m_poll; // back off before the retry
      continue;
    }
    next_poll = std::chrono::steady_clock::now() + m_poll;
    auto snap = m_backend->poll(m_key.address(), watched);
    {
      std::lock_guard lock(m_mu);
      ++m_polls;
      bool was = m_reachable;
      m_reachable = snap.ok();
      if (snap) m_channels = snap->channels;
      if (!snap) {
        if (was || m_last_error != snap.error().message)
          spdlog::warn("payments: ledger {}: {}", m_backend->url(), snap.error().message);
        m_last_error = snap.error().message;
        continue;
      }
    }
    boost::asio::post(m_runtime.io_context(), [this, s = std::move(snap->snapshot)]() mutable {
      m_runtime.post([&](agent::Node& n) {
        n.payments().set_ledger(std::move(s));
        n.pay_due();
        std::lock_guard lock(m_mu);
        m_watched = n.ledger_watch();
      });
    });
  }
}

} // namespace openstreaming::api
