// LedgerBackend: the one interface a node's ledger worker (LedgerLink) settles
// through, whatever the ledger is (docs/ledger.md):
//
//  - embedded: `--ledger http://HOST:PORT`, the `openstreaming ledger` process
//    (JSON-RPC ledger_* methods, ledger_rpc.h);
//  - EVM: `--ledger evm+http://HOST:PORT --contracts deployments.json`, any EVM
//    JSON-RPC endpoint with the contracts `openstreaming contracts deploy` put
//    there (evm_ledger.h).
//
// Both give the node the same two things: a snapshot of the ledger (rounds and
// their block hashes, the funds of the payers it watches, its own) and the
// redemption of a batch of winning tickets with one outcome per ticket. A
// backend is used by one thread (the worker) and may block up to its deadlines.
#pragma once

#include "agent/payments/payments.h"
#include "core/secp256k1.h"
#include "pay/winners.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace openstreaming::api {

// What one poll reads.
struct LedgerPoll {
  agent::LedgerSnapshot snapshot;                    // accounts: every address of `watched`; self: `self`'s
  nlohmann::json channels = nlohmann::json::array(); // `self`'s payment channels
};

class LedgerBackend {
public:
  virtual ~LedgerBackend() = default;
  // The ledger as it stands: rounds, ourselves and (at most the backend's
  // limit of) `watched`, read consistently (one block on a chain).
  virtual Result<LedgerPoll> poll(const core::Address& self, const std::vector<core::Address>& watched) = 0;
  // Redeems `batch` (winning tickets for the backend's key). An outcome per
  // ticket once the ledger has decided them all; an error when it has not (the
  // whole batch is then retried later: a ticket paid meanwhile comes back as
  // already redeemed, which counts as paid, so each is paid exactly once).
  virtual Result<std::vector<agent::RedeemOutcome>> redeem(const std::vector<pay::Winner>& batch) = 0;
  // "embedded" or "evm".
  virtual std::string kind() const = 0;
  // The URL given (without a secret: these URLs carry none).
  virtual std::string url() const = 0;
};

// What an EVM backend is told (the embedded ledger needs none of it).
struct LedgerBackendOptions {
  uint64_t confirmations = 2;                         // how deep a redemption's block must be before its outcomes count
  std::optional<core::U256> max_gas_price;            // wei per gas never offered above (none: no cap)
  std::chrono::milliseconds receipt_timeout{120'000}; // a redemption not confirmed by then is retried
};

// `--ledger URL [--contracts FILE]`: http://HOST:PORT is the embedded ledger;
// evm+http://HOST:PORT needs `contracts` (the deployments.json of `contracts
// deploy`); `contracts` with an embedded URL is an error. Transactions are
// signed with `key` (the node's). Nothing is contacted here: an unreachable
// ledger is the first poll's error, not a start failure.
Result<std::unique_ptr<LedgerBackend>> open_ledger_backend(const std::string& url, const std::string& contracts,
                                                           const core::PrivateKey& key,
                                                           const LedgerBackendOptions& options = {});

} // namespace openstreaming::api
