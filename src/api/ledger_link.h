// LedgerLink: a node's connection to its settlement ledger (`--ledger URL`,
// JSON-RPC, docs/ledger.md). The I/O half of agent::Payments:
//
//  - a worker thread polls the ledger (status, recent round hashes, the funds
//    of every payer the node watches) every `poll` and hands the snapshot to
//    the node on its event loop;
//  - winners the node queues or settles are written to SqliteWinnerStore on
//    the event loop, before the runtime sends anything (NodeRuntime::PaymentsIo);
//  - redemption batches are signed with the node key and submitted by the
//    worker; the outcome goes back to the node.
//
// The node never waits for the ledger: an unreachable ledger means a stale
// snapshot (tickets are then judged against it) and redemptions retried later.
#pragma once

#include "api/http_client.h"
#include "net/node_runtime.h"
#include "platform/sqlite_winner_store.h"

#include <nlohmann/json.hpp>

#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

namespace openstreaming::api {

// One JSON-RPC 2.0 call; the ledger's error message becomes the error.
Result<nlohmann::json> ledger_rpc(const HttpUrl& url, const std::string& method, nlohmann::json params,
                                  std::chrono::milliseconds timeout = std::chrono::seconds(10));

// Signs a transaction of `kind` with `key`'s next nonce (read from the ledger, as
// is the chain id) and submits it; the ledger's receipt, or its refusal as the error.
Result<nlohmann::json> ledger_submit(const HttpUrl& url, const core::PrivateKey& key, const std::string& kind,
                                     nlohmann::json args);

class LedgerLink final : public net::PaymentsIo {
public:
  // Loads the stored winners into the node, then starts polling.
  static Result<std::unique_ptr<LedgerLink>> start(net::NodeRuntime& runtime, const core::PrivateKey& key,
                                                   const std::string& url,
                                                   std::unique_ptr<platform::SqliteWinnerStore> store,
                                                   std::chrono::milliseconds poll = std::chrono::milliseconds(500));
  ~LedgerLink() override; // stops and joins the worker
  LedgerLink(const LedgerLink&) = delete;
  LedgerLink& operator=(const LedgerLink&) = delete;

  void persist(const agent::Payments::StoreOp& op) override;
  void redeem(std::vector<pay::Winner> batch) override;
  // For /api/payments: reachable, and the last error talking to the ledger.
  nlohmann::json status() const;

private:
  LedgerLink(net::NodeRuntime& runtime, const core::PrivateKey& key, HttpUrl url,
             std::unique_ptr<platform::SqliteWinnerStore> store, std::chrono::milliseconds poll);
  void run();
  Result<agent::LedgerSnapshot> fetch_snapshot(const std::vector<core::Address>& watched);
  std::vector<agent::RedeemOutcome> submit(const std::vector<pay::Winner>& batch, std::string& error);

  net::NodeRuntime& m_runtime;
  core::PrivateKey m_key;
  HttpUrl m_url;
  std::unique_ptr<platform::SqliteWinnerStore> m_store;
  std::chrono::milliseconds m_poll;

  mutable std::mutex m_mu;
  std::condition_variable m_cv;
  bool m_stop = false;
  std::vector<core::Address> m_watched;            // set on the event loop, read by the worker
  std::optional<std::vector<pay::Winner>> m_batch; // to redeem
  bool m_reachable = false;
  std::string m_last_error;
  uint64_t m_polls = 0;
  nlohmann::json m_channels = nlohmann::json::array(); // this node's channels, as of the last poll
  std::map<uint64_t, Hash256> m_round_hashes;          // worker only: past rounds' block hashes
  std::thread m_worker;
};

} // namespace openstreaming::api
