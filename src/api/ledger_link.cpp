#include "api/ledger_link.h"

#include "core/hex.h"
#include "ledger/state.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace openstreaming::api {

using nlohmann::json;

Result<json> ledger_rpc(const HttpUrl& url, const std::string& method, json params, std::chrono::milliseconds timeout) {
  json req = {{"jsonrpc", "2.0"}, {"id", 1}, {"method", method}, {"params", std::move(params)}};
  auto reply = http_post_json(url, req.dump(), timeout);
  if (!reply) return reply.error();
  auto j = json::parse(reply->body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return make_error(Errc::io, "the ledger answered HTTP " + std::to_string(reply->status) + " without JSON-RPC");
  }
  if (j.contains("error"))
    return make_error(Errc::invalid_input, "ledger: " + j["error"].value("message", std::string("error")));
  return j["result"];
}

Result<json> ledger_submit(const HttpUrl& url, const core::PrivateKey& key, const std::string& kind, json args) {
  auto st = ledger_rpc(url, "ledger_status", json::object());
  if (!st) return st.error();
  auto acct = ledger_rpc(url, "ledger_getAccount", {{"address", key.address().to_checksum_hex()}});
  if (!acct) return acct.error();
  ledger::Tx tx =
      ledger::sign_tx(key, (*acct)["nonce"].get<uint64_t>(), kind, std::move(args), (*st)["chain_id"].get<uint64_t>());
  return ledger_rpc(url, "ledger_sendTransaction", {{"tx", tx.to_json()}});
}

namespace {

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

LedgerLink::LedgerLink(net::NodeRuntime& runtime, const core::PrivateKey& key, HttpUrl url,
                       std::unique_ptr<platform::SqliteWinnerStore> store, std::chrono::milliseconds poll)
    : m_runtime(runtime), m_key(key), m_url(std::move(url)), m_store(std::move(store)), m_poll(poll) {}

Result<std::unique_ptr<LedgerLink>> LedgerLink::start(net::NodeRuntime& runtime, const core::PrivateKey& key,
                                                      const std::string& url,
                                                      std::unique_ptr<platform::SqliteWinnerStore> store,
                                                      std::chrono::milliseconds poll) {
  auto u = HttpUrl::parse(url);
  if (!u) return make_error(Errc::invalid_input, "--ledger: " + u.error().message);
  auto stored = store->load();
  if (!stored) return stored.error();
  std::unique_ptr<LedgerLink> link(new LedgerLink(runtime, key, *u, std::move(store), poll));
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
  return {{"url", "http://" + m_url.host + ":" + std::to_string(m_url.port) + m_url.target},
          {"reachable", m_reachable},
          {"last_error", m_last_error},
          {"polls", m_polls},
          {"channels", m_channels}};
}

Result<agent::LedgerSnapshot> LedgerLink::fetch_snapshot(const std::vector<core::Address>& watched) {
  auto st = ledger_rpc(m_url, "ledger_status", json::object(), std::chrono::seconds(5));
  if (!st) return st.error();
  agent::LedgerSnapshot s;
  try {
    s.chain_id = (*st)["chain_id"].get<uint64_t>();
    s.round = (*st)["round"].get<uint64_t>();
    s.height = (*st)["height"].get<uint64_t>();
    s.ticket_valid_rounds = (*st)["ticket_valid_rounds"].get<uint64_t>();
    s.domain.chain_id = s.chain_id;
    auto vc = core::Address::parse((*st)["domain"]["verifyingContract"].get<std::string>());
    if (!vc) return vc.error();
    s.domain.verifying_contract = *vc;
    auto rh = hash_of((*st)["round_block_hash"]);
    if (!rh) return rh.error();
    s.round_hashes[s.round] = *rh;
  } catch (const json::exception& e) {
    return make_error(Errc::invalid_input, std::string("ledger_status: unexpected answer: ") + e.what());
  }
  // The rounds whose tickets are still accepted or redeemable. A past round's
  // hash never changes: each is asked for once, not on every poll.
  for (uint64_t back = 1; back <= s.ticket_valid_rounds && back <= s.round; ++back) {
    uint64_t r = s.round - back;
    if (!m_round_hashes.count(r)) {
      auto h = ledger_rpc(m_url, "ledger_roundBlockHash", {{"round", r}}, std::chrono::seconds(5));
      if (!h) return h.error();
      auto rh = hash_of(*h);
      if (!rh) return rh.error();
      m_round_hashes[r] = *rh;
    }
    s.round_hashes[r] = m_round_hashes[r];
  }
  while (!m_round_hashes.empty() && m_round_hashes.begin()->first + s.ticket_valid_rounds < s.round) {
    m_round_hashes.erase(m_round_hashes.begin());
  }
  for (const auto& a : watched) {
    auto acct = ledger_rpc(m_url, "ledger_getAccount", {{"address", a.to_checksum_hex()}}, std::chrono::seconds(5));
    if (!acct) return acct.error();
    auto deposit = amount_of(*acct, "deposit"), reserve = amount_of(*acct, "reserve"),
         balance = amount_of(*acct, "balance");
    if (!deposit || !reserve || !balance)
      return make_error(Errc::invalid_input, "ledger_getAccount: unexpected answer");
    pay::SenderFunds f;
    f.deposit = *deposit;
    f.reserve = *reserve;
    f.withdraw_round = acct->value("withdraw_round", uint64_t{0});
    // How many payees share the reserve this round: a payee counts only its share.
    auto shared = acct->value("reserve_recipients", uint64_t{1});
    f.reserve_recipients = std::clamp<uint64_t>(shared, 1, 1'000'000);
    s.accounts[a] = f;
    if (a == m_key.address()) s.self = {*balance, *deposit, *reserve};
  }
  return s;
}

std::vector<agent::RedeemOutcome> LedgerLink::submit(const std::vector<pay::Winner>& batch, std::string& error) {
  auto r = ledger_submit(m_url, m_key, "redeem", agent::redeem_args(batch));
  if (!r) {
    error = r.error().message;
    return {};
  }
  auto outcomes = agent::redeem_outcomes(batch, *r);
  if (!outcomes) {
    error = outcomes.error().message;
    return {};
  }
  return std::move(*outcomes);
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
      auto outcomes = submit(*batch, error);
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
    auto snap = fetch_snapshot(watched);
    auto channels = snap ? ledger_rpc(m_url, "ledger_channels", {{"address", m_key.address().to_checksum_hex()}},
                                      std::chrono::seconds(5))
                         : Result<json>(json::array());
    {
      std::lock_guard lock(m_mu);
      ++m_polls;
      bool was = m_reachable;
      m_reachable = snap.ok();
      if (channels && channels->is_array()) m_channels = *channels;
      if (!snap) {
        if (was || m_last_error != snap.error().message)
          spdlog::warn("payments: ledger {}: {}", m_url.host, snap.error().message);
        m_last_error = snap.error().message;
        continue;
      }
    }
    boost::asio::post(m_runtime.io_context(), [this, s = std::move(*snap)]() mutable {
      m_runtime.post([&](agent::Node& n) {
        n.payments().set_ledger(std::move(s));
        n.pay_due();
        std::lock_guard lock(m_mu);
        m_watched = n.payments().watched();
      });
    });
  }
}

} // namespace openstreaming::api
