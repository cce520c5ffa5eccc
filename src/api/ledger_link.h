// LedgerLink: a node's connection to its settlement ledger (`--ledger URL`,
// docs/ledger.md), through a LedgerBackend (the embedded ledger or an EVM
// chain). The I/O half of agent::Payments:
//
//  - a worker thread polls the ledger (status, recent round hashes, the funds
//    of every payer the node watches, this node's channels) every `poll` and
//    hands the snapshot to the node on its event loop. A poll is one or two
//    HTTP requests (JSON-RPC batches) over one kept-alive connection, whatever
//    the number of watched payers; the watch set is Node::ledger_watch():
//    ourselves and the connected payers, at most PaymentOptions::max_watched;
//  - winners the node queues or settles are written to SqliteWinnerStore on
//    the event loop, before the runtime sends anything (NodeRuntime::PaymentsIo);
//  - redemption batches are signed with the node key and submitted by the
//    worker; the outcome goes back to the node.
//
// The node never waits for the ledger: an unreachable ledger means a stale
// snapshot (tickets are then judged against it) and redemptions retried later.
#pragma once

#include "api/http_client.h"
#include "api/ledger_backend.h"
#include "api/ledger_rpc.h"
#include "net/node_runtime.h"
#include "platform/sqlite_winner_store.h"

#include <nlohmann/json.hpp>

#include <condition_variable>
#include <functional>
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

// Sends one JSON-RPC body (a request or a batch) to the ledger and returns the
// body of its answer.
using LedgerPost = std::function<Result<std::string>(const std::string& body)>;

// A batch of calls, as (method, params), in one request: their results in order,
// or the first error (a call the ledger refused, or a transport error).
Result<std::vector<nlohmann::json>> ledger_rpc_batch(const LedgerPost& post,
                                                     const std::vector<std::pair<std::string, nlohmann::json>>& calls);

// One poll of the embedded ledger: ledger_status, ledger_roundBlockHashes,
// ledger_getAccounts (self and `watched`, at most kMaxAccountsPerCall) and
// ledger_channels in one batch, so exactly one call of `post` however many
// addresses are watched.
Result<LedgerPoll> poll_ledger(const LedgerPost& post, const core::Address& self,
                               const std::vector<core::Address>& watched);

class LedgerLink final : public net::PaymentsIo {
public:
  // Loads the stored winners into the node, then starts polling.
  static Result<std::unique_ptr<LedgerLink>> start(net::NodeRuntime& runtime, const core::PrivateKey& key,
                                                   std::unique_ptr<LedgerBackend> backend,
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
  LedgerLink(net::NodeRuntime& runtime, const core::PrivateKey& key, std::unique_ptr<LedgerBackend> backend,
             std::unique_ptr<platform::SqliteWinnerStore> store, std::chrono::milliseconds poll);
  void run();

  net::NodeRuntime& m_runtime;
  core::PrivateKey m_key;
  std::unique_ptr<LedgerBackend> m_backend; // worker only (kind() and url() are constant)
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
  std::thread m_worker;
};

} // namespace openstreaming::api
