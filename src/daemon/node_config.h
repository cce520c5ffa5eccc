// Configuration of `openstreaming node`: a TOML file, then flags on top
// (docs/config.md), checked and mapped to agent::NodeOptions. Unknown keys are
// errors, so a typo never silently falls back to a default. Part of the
// daemon's composition (src/daemon): no I/O here, the caller reads the file;
// tests/unit/daemon/node_config_test.cpp covers it.
#pragma once

#include "agent/node.h"
#include "core/result.h"

#include <optional>
#include <string>
#include <vector>

namespace openstreaming::daemon {

// [agent] (docs/config.md, docs/agent.md). Amounts are text: "1gwei", "1000000000wei".
struct AgentConfig {
  bool enabled = true;
  int64_t upload_capacity_kbps = 0; // 0: not limited (and not claimed)
  std::string cost_per_mb = "1gwei";
  std::string cpu_cost_per_mb = "0wei";
  std::string max_price_per_mb; // empty: the agent's default (agent::AgentOptions::max_price_wei_per_mb)
  double w_latency = 0.3, w_bandwidth = 0.3, w_economics = 0.2, w_empathy = 0.2;
  double hysteresis = 0.1;
  bool dual_feed = true; // docs/agent.md: the same default as the simulator's
  int64_t reflect_interval_ms = 2000;
  int64_t state_interval_ms = 2000;
  // Local topology adaptation (agent::TopologyOptions, docs/agent.md).
  bool learn_weights = false; // the route score's weights adapt from outcomes (docs/agent.md)
  bool adapt_topology = false;
  int64_t topology_interval_ms = 20'000;
  int64_t topology_min_age_ms = 60'000;
  int64_t diverse_peers = 2;
};

// [payments] (docs/config.md, docs/payments.md). Amounts are text.
struct PaymentsConfig {
  std::string redeem_cost = "0.001ether";       // a ticket's face value is 100 x this
  int64_t ticket_kb = 256;                      // one ticket's expected value pays for this much media
  std::string max_face_value = "1ether";        // refuse parameters above this
  int64_t poll_ms = 500;                        // how often the ledger is read
  std::string max_spend_per_round = "0.1ether"; // as a payer: expected value signed per relationship per round
  int64_t credit_kb = 8192;                     // as a payee: media a payer may owe before it is refused
  int64_t confirmations = 2;                    // EVM ledger: blocks deep before a redemption counts
  std::string max_gas_price;                    // EVM ledger: never offer more per gas (e.g. "200gwei"); "": no cap
};

struct NodeConfig {
  std::string key;           // keystore file (required)
  std::string password_file; // optional; else OPENSTREAMING_PASSWORD, else a prompt
  std::string data_dir = "openstreaming-data";
  std::string listen = "127.0.0.1:0";
  std::string api = "127.0.0.1:0";
  // The bearer token state-changing API requests must carry (docs/api.md); empty:
  // a fresh one in DATA_DIR/api-token at each start (loopback --api only).
  std::string api_token_file;
  std::vector<std::string> bootstrap;
  std::vector<std::string> roles = {"relay"};
  int64_t max_peers = 16;
  int64_t target_peers = 8;
  bool peer_exchange = true;
  // Media (docs/config.md): a broadcaster ingests `ingest` (testsrc, a file or a URL)
  // or listens for RTMP/SRT pushes; any node may watch streams by id or name.
  std::string ingest;
  std::string stream;
  std::string rtmp_listen;
  std::string srt_listen;
  std::string stream_key_file; // RTMP/SRT pushes must present this key (docs/cli.md)
  std::vector<std::string> watch;
  // Nostr relays (ws:// or wss://): a broadcaster publishes its announcements
  // there; a node watching by name with no bootstrap peer finds the
  // broadcaster's endpoint there (docs/nostr.md).
  std::vector<std::string> nostr_relays;
  AgentConfig agent;
  std::string ledger;    // JSON-RPC URL of the settlement ledger; empty: no payments
  std::string contracts; // deployments.json of an EVM ledger (--ledger evm+http://...)
  PaymentsConfig payments;
  // [timing], in milliseconds; defaults suit real networks, tests shorten them.
  int64_t ping_interval_ms = 5000;
  int64_t idle_timeout_ms = 20000;
  int64_t handshake_timeout_ms = 10000;
  int64_t reconnect_base_ms = 1000;
  int64_t reconnect_max_ms = 60000;
  int64_t stream_stall_ms = 10000;    // a flowing stream silent this long ends (killed broadcaster)
  int64_t pex_interval_ms = 30000;    // how often a neighbour is asked for peers (peer exchange)
  int64_t nostr_discovery_ms = 30000; // how long a viewer looks on the Nostr relays for its broadcaster
};

inline const std::vector<std::string>& known_roles() {
  static const std::vector<std::string> roles = {"relay", "broadcaster", "viewer", "transcoder", "orchestrator"};
  return roles;
}

// Parses TOML text into `config` (fields absent from the text keep their values).
Result<void> parse_node_config(std::string_view toml_text, const std::string& source_name, NodeConfig& config);
// Checks the final configuration (after flags) and fills node options.
Result<agent::NodeOptions> to_node_options(const NodeConfig& config);

} // namespace openstreaming::daemon
