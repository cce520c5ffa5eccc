// NodeOptions: a node's configuration — peers, limits, media timeouts and caps,
// the agent's options, fault injection, payments, and the hooks that replace
// the crypto checks (the simulator's cost model). Read by Node and, through
// StreamHost::options(), by the stream router.
#pragma once

#include "agent/agent.h"
#include "agent/payments/payments.h"
#include "core/endpoint.h"
#include "core/nostr.h"
#include "core/part.h"
#include "core/result.h"
#include "core/secp256k1.h"
#include "core/time.h"

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <vector>

namespace openstreaming::agent {

inline constexpr uint32_t kProtocolVersion = 1;
inline constexpr uint32_t kMinProtocolVersion = 1;

// A token bucket's shape: `per_s` frames a second on average, `burst` at once.
struct RateLimit {
  double per_s = 0;
  double burst = 0;
};
// Per-peer limits on the control frames a neighbour can make us work for
// (each costs a parse, a map look-up, often a signature check). A frame over
// its limit is dropped and counted; a peer that keeps it up for
// `disconnect_after` dropped frames within `window` is disconnected
// (rate_limited). Parts are not
// limited here: they flow only inside subscriptions we asked for.
// The figures are far above what an honest node sends (states every 2 s,
// announcements every 10 s per stream, a few subscriptions per re-route).
struct RateLimits {
  RateLimit announcements{50, 200};
  RateLimit subscriptions{20, 100}; // subscribe, unsubscribe, subscribe_result
  RateLimit fetches{100, 200};
  RateLimit haves{200, 1000};
  RateLimit states{5, 20};
  RateLimit ticket_params{10, 40};
  RateLimit tickets{100, 400};
  RateLimit peer_requests{1, 5}; // get_peers, peers
  RateLimit pings{5, 20};        // ping, pong
  uint64_t disconnect_after = 256;
  Duration window = 10s;
};

struct NodeOptions {
  std::string listen_endpoint;    // advertised to peers ("host:port"); empty: we accept no one
  std::vector<std::string> roles; // relay, broadcaster, viewer, transcoder, orchestrator
  std::vector<core::Endpoint> bootstrap;
  std::size_t target_peers = 8;             // dial until this many
  std::size_t max_peers = 16;               // refuse inbound beyond this
  bool peer_exchange = true;                // learn and dial addresses from peers
  std::string user_agent = "openstreaming"; // sent in the Hello
  // Wire protocol versions this node speaks; tests override them to check negotiation.
  uint32_t version = kProtocolVersion;
  uint32_t min_version = kMinProtocolVersion;

  Duration tick = 250ms; // periodic maintenance cadence
  Duration handshake_timeout = 10s;
  Duration ping_interval = 5s;
  Duration idle_timeout = 20s;  // nothing received for this long: disconnect
  Duration reconnect_base = 1s; // backoff after the first failure; doubles per failure
  Duration reconnect_max = 60s;
  Duration pex_interval = 30s;
  std::size_t max_concurrent_dials = 4;
  std::size_t max_pending_inbound = 32;   // handshakes in progress beyond max_peers
  std::size_t send_queue_limit = 8 << 20; // bytes queued per peer
  std::size_t send_window = 1 << 20;      // bytes with the runtime, not yet written
  std::size_t address_book_limit = 1000;
  RateLimits rate_limits;
  // Media: a stream that delivered parts and then none for this long ends here
  // (killed broadcaster); an upstream silent for `upstream_silence` is left for the backup.
  Duration stream_stall_timeout = 10s;
  Duration upstream_silence = 3s;
  // Streams kept at most, and per broadcaster key: announcements beyond them
  // are dropped unless a stream nobody here needs can be forgotten instead.
  std::size_t max_streams = 256;
  std::size_t max_streams_per_broadcaster = 8;
  // Neighbour profiles the memory keeps (the least recently seen go first).
  std::size_t max_profiles = 4096;
  // Application frame types (>= core::kFirstAppFrameType) delivered as AppFrame
  // events; any other unknown type disconnects the sender.
  std::set<uint16_t> app_frame_types;
  // The four modules : weights, thresholds, cost model, capacity.
  AgentOptions agent_config;
  // Test and demo fault injection (--misbehave SPEC). Honest nodes must cope.
  Misbehaviour misbehave;
  // Payments : enabled when the node has a ledger.
  PaymentOptions payments;
  // How a part is checked (hash and producer signature): core::verify_part unless
  // set. The simulator's cost model replaces it for very large runs (src/sim).
  std::function<core::PartCheck(const core::PartInfo&, ByteView payload, ByteView signature,
                                const core::Address& producer)>
      part_verifier;
  // How neighbour states are signed and their signer recovered, and how stream
  // announcements are checked: core::sign_hash, core::recover_public_key and
  // core::verify_event unless set. The simulator's crypto cost model sets them
  // (states signed with table tokens, a repeated announcement answered from a table).
  std::function<core::RecoverableSignature(const Hash256& digest)> state_signer;
  std::function<Result<core::Address>(const Hash256& digest, const core::RecoverableSignature& signature)>
      state_recover;
  std::function<bool(const core::NostrEvent& event)> event_verifier;
};

} // namespace openstreaming::agent
