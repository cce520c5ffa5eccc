// The node's HTTP API (docs/api.md): /api/status, /api/peers, /metrics, HLS, and
// the authenticated POST /api/watch and /api/unwatch.
#pragma once

#include "api/http_server.h"
#include "net/node_runtime.h"

#include <atomic>
#include <string>
#include <vector>

namespace openstreaming::api {

class LedgerLink;

class NostrPublisher;

struct NodeApiInfo {
  std::string version;
  std::vector<std::string> roles;
  std::string p2p_endpoint;
  std::string api_endpoint;
  const LedgerLink* ledger = nullptr; // set when the node pays and is paid
  // State-changing requests (POST /api/watch, /api/unwatch) must carry
  // "Authorization: Bearer <api_token>"; empty: every such request is refused.
  std::string api_token;
  const std::atomic<uint64_t>* ingest_refused = nullptr; // pushes refused for a wrong stream key
  const NostrPublisher* nostr = nullptr;                 // a broadcaster's announcements on Nostr relays
};

// Builds the request handler over a running node. The runtime must outlive it.
Handler make_node_api(net::NodeRuntime& runtime, const NodeApiInfo& info);

// Prometheus text exposition (version 0.0.4) of node and transport counters.
std::string prometheus_metrics(net::NodeRuntime& runtime);

} // namespace openstreaming::api
