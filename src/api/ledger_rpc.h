// The embedded ledger's JSON-RPC 2.0 server (docs/ledger.md lists the methods),
// as pure functions: a request in, its response out, against a LedgerStore. No
// sockets: `openstreaming ledger` serves these over HTTP (POST /, GET /status),
// the unit tests and fuzz/ledger_rpc_fuzz.cpp call them directly. The client
// side is api::ledger_rpc (ledger_link.h).
//
// Guarantees:
//  - every request gets one JSON-RPC 2.0 response object, `{"jsonrpc": "2.0",
//    "id": …, "result": …}` or `{…, "error": {"code", "message"}}`; `id` is the
//    request's `id` when it is an object that has one, else null;
//  - only ledger_sendTransaction changes the ledger (LedgerStore::submit: applied
//    to the open block and recorded in SQLite); every other method only reads;
//  - bad requests are answered, never thrown on: not an object, a missing or
//    non-string `method` or non-object `params` (-32600 / -32602), a missing or
//    mistyped parameter (-32602, the message names it), an unknown method (-32601);
//  - a batch (a JSON array of requests, at most kMaxBatchCalls) is answered with
//    an array of responses in the order of the calls, each as if sent alone
//    (every call is answered, also one without an `id`); an empty or oversized
//    batch gets a single -32600 error. The calls of one batch run back to back
//    on the event loop, so they read one consistent state when none of them
//    is a ledger_sendTransaction.
//
// Thread-safety: none; call on the thread that owns the store (the event loop).
#pragma once

#include "ledger/store.h"

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace openstreaming::api {

// The error codes the ledger answers with: JSON-RPC 2.0's own, then the ledger's.
inline constexpr int kRpcParseError = -32700;     // the body is not JSON
inline constexpr int kRpcInvalidRequest = -32600; // not an object, or no string `method`
inline constexpr int kRpcMethodNotFound = -32601;
inline constexpr int kRpcInvalidParams = -32602;
inline constexpr int kRpcTxRefused = 1;   // ledger_sendTransaction: the state machine refused it (message: why)
inline constexpr int kRpcNoSuchRound = 2; // ledger_roundBlockHash: that round has not begun
inline constexpr int kRpcNotFound = 3;    // ledger_getChannel / ledger_getService: no such record

inline constexpr std::size_t kMaxBatchCalls = 64;       // calls in one batch
inline constexpr std::size_t kMaxAccountsPerCall = 256; // addresses in one ledger_getAccounts
inline constexpr std::size_t kMaxServicesPerCall = 256; // records in one ledger_services page

// What `ledger_status` returns and `GET /status` shows.
nlohmann::json ledger_status(const ledger::State& state);

// Answers one JSON-RPC request or batch (any JSON value).
nlohmann::json handle_ledger_rpc(ledger::LedgerStore& store, const nlohmann::json& request);

// Answers one HTTP POST body: a body that does not parse as JSON gets a -32700
// error with a null id; anything else goes to handle_ledger_rpc. Returns the
// response as sent (compact JSON, no trailing newline).
std::string handle_ledger_rpc_body(ledger::LedgerStore& store, std::string_view body);

} // namespace openstreaming::api
