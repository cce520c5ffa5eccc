// Node: the sans-I/O peer-to-peer core (docs/architecture.md).
//
// What it does: peer management as policy. It decides whom to dial (bootstrap
// list, then addresses learned by peer exchange), runs the handshake that binds
// a node address to a TLS session, keeps peers alive with pings (and measures
// RTT), limits connections, queues outgoing frames per peer with byte limits,
// and disconnects with a reason. Later issues add media, the agent modules and
// payments on top of the same input/output discipline.
//
// What it does not do: any I/O. It never opens a socket, reads a clock, sleeps,
// starts a thread or touches a file. A runtime (src/net for the daemon, the
// simulator, or a unit test's in-memory network) drives it:
//
//   inputs   handle_start, handle_connected, handle_connect_failed, handle_accepted,
//            handle_frame, handle_framing_error, handle_sent, handle_closed,
//            handle_timeout, handle_shutdown — each with the current time `now`.
//   outputs  after any input, drain in this order:
//              1. poll_transmit() until empty   (frames to write, per connection in order)
//              2. poll_action()   until empty   (connect / close requests)
//              3. poll_event()    until empty   (for logs and APIs)
//              4. poll_timeout()                (call handle_timeout at that time)
//            Transmits come before actions so a Disconnect frame is queued
//            before the close that follows it.
//
// Backpressure: each peer has a send queue limited in bytes (options.send_queue_limit)
// and a window of bytes handed to the runtime but not yet confirmed written
// (options.send_window, confirmed through handle_sent). A frame that would
// overflow the queue is dropped and counted; a peer that stays over for a
// control frame is disconnected (send_queue_overflow). Memory is bounded by
// max_peers × (send_queue_limit + send_window).
//
// Thread safety: none. One Node is driven by one thread (the runtime's event loop).
// Complexity: every input is O(log peers) apart from the periodic tick, which is
// O(peers + address book).
#pragma once

#include "agent/agent.h"
#include "agent/payments/payments.h"
#include "agent/peer_types.h"
#include "agent/streams.h"
#include "core/random.h"
#include "core/secp256k1.h"
#include "core/time.h"

#include <array>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <vector>

namespace openstreaming::agent {

inline constexpr uint32_t kProtocolVersion = 1;
inline constexpr uint32_t kMinProtocolVersion = 1;

// What a node needs from its surroundings. Implemented once by the live
// runtime and once by the simulator. Time is not here: it is a
// parameter of every input.
class Environment {
public:
  virtual ~Environment() = default;
  virtual core::RandomSource& random() = 0;
  // Unix time in milliseconds at monotonic time `now`: stamps parts at ingest and
  // measures glass-to-glass latency. The simulator maps `now` onto a fixed epoch.
  virtual int64_t wall_clock_ms(Timestamp now) = 0;
};

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
  std::size_t target_peers = 8; // dial until this many
  std::size_t max_peers = 16;   // refuse inbound beyond this
  bool peer_exchange = true;    // learn and dial addresses from peers
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

struct PeerInfo {
  ConnId conn;
  core::Address address;
  core::Endpoint remote;       // transport-level endpoint
  std::string listen_endpoint; // what the peer advertises
  Direction direction;
  std::vector<std::string> roles;
  double rtt_ms = 0; // smoothed (RFC 6298 SRTT); 0 until the first pong
  uint64_t bytes_in = 0, bytes_out = 0;
  double connected_s = 0;
};

// Frames and bytes by wire type: a fixed array, because every frame in and out
// is counted (a map keyed by the type's name cost a string per frame).
struct FrameCounters {
  static constexpr std::size_t kSlots = 32; // wire types are below 32; the last slot counts any other
  std::array<uint64_t, kSlots> frames{}, bytes{};
  void add(uint16_t type, std::size_t size) {
    std::size_t i = std::min<std::size_t>(type, kSlots - 1);
    ++frames[i];
    bytes[i] += size;
  }
  uint64_t bytes_of(uint16_t type) const { return bytes[std::min<std::size_t>(type, kSlots - 1)]; }
  // Every type seen: its name ("unknown" for the last slot), frames, bytes.
  struct Row {
    std::string type;
    uint64_t frames = 0, bytes = 0;
  };
  std::vector<Row> rows() const;
};

// Counters for /metrics. Keys are frame type names and disconnect reason names.
struct NodeMetrics {
  FrameCounters in, out;
  std::map<std::pair<std::string, std::string>, uint64_t> disconnects; // (reason, "local"|"remote")
  std::map<std::string, uint64_t> handshake_failures;                  // by reason
  std::map<std::string, uint64_t> protocol_errors;                     // by reason, for hostile input
  uint64_t connections_inbound = 0;
  uint64_t connections_outbound = 0;
  uint64_t dials_failed = 0;
  uint64_t frames_dropped_backpressure = 0;
  uint64_t peer_records_rejected = 0;
  std::map<std::string, uint64_t> parts_invalid; // by check result: bad_hash, bad_signature, wrong_producer
  // Frames we never asked for, dropped (by frame type name): a SubscribeResult
  // without our Subscribe, a part outside our subscriptions and fetches, ticket
  // parameters from a neighbour we owe nothing, tickets from one we never charged.
  std::map<std::string, uint64_t> frames_unsolicited;
  std::map<std::string, uint64_t> frames_rate_limited; // dropped over a peer's rate limit, by frame type name
  // Neighbour states dropped unverified: seq not newer than the last verified
  // state on that connection (replayed or stale); no signature was checked.
  uint64_t states_stale = 0;
};

class Node {
public:
  Node(const core::PrivateKey& key, NodeOptions options, Environment& env);
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // ---- Inputs -----------------------------------------------------------------
  void handle_start(Timestamp now);
  void handle_connected(ConnId conn, const Hash256& tls_exporter, Timestamp now);
  void handle_connect_failed(ConnId conn, Timestamp now);
  // A peer connected to us and finished TLS. Returns the id for later calls.
  ConnId handle_accepted(const core::Endpoint& remote, const Hash256& tls_exporter, Timestamp now);
  void handle_frame(ConnId conn, core::Frame frame, Timestamp now);
  void handle_framing_error(ConnId conn, DisconnectReason reason, const std::string& detail, Timestamp now);
  void handle_sent(ConnId conn, std::size_t bytes, Timestamp now);
  void handle_closed(ConnId conn, Timestamp now);
  void handle_timeout(Timestamp now);
  void handle_shutdown(Timestamp now);
  // Queues an application frame to an established peer. False (and counted as
  // dropped) when the peer is unknown, not established, or its queue is full.
  bool send_app_frame(ConnId conn, core::Frame frame);

  // ---- Outputs (see the order above) ------------------------------------------
  std::optional<Transmit> poll_transmit();
  std::optional<Action> poll_action();
  std::optional<Event> poll_event();
  std::optional<Timestamp> poll_timeout() const;

  // ---- State --------------------------------------------------------------------
  const core::Address& address() const { return m_address; }
  const NodeOptions& options() const { return m_options; }
  std::vector<PeerInfo> peers(Timestamp now) const;
  std::size_t established_count() const;
  // Bytes queued for `conn` and not yet handed to the runtime (0 if unknown).
  std::size_t queued_bytes(ConnId conn) const;
  std::vector<ConnId> established_conns() const;
  bool established(ConnId conn) const;
  double rtt_ms(ConnId conn) const; // smoothed RTT; large if unknown
  Environment& environment() { return m_env; }
  StreamRouter& streams() { return *m_streams; }
  const StreamRouter& streams() const { return *m_streams; }
  // The media layer reports a part that failed verification (blamed on `conn`).
  void note_invalid_part(ConnId conn, const std::string& why);
  // A frame of `type` from `conn` that we never asked for: dropped, counted and
  // blamed (enough of them and the neighbour is shunned).
  void note_unsolicited(ConnId conn, uint16_t type, Timestamp now);
  Agent& agent() { return *m_agent; }
  const Agent& agent() const { return *m_agent; }
  Payments& payments() { return *m_payments; }
  const Payments& payments() const { return *m_payments; }
  // The router's metering hooks: media bytes sent to / received from a
  // neighbour, valued once at the price agreed on subscription (payments) and
  // recorded by economics at that value, and the prices agreed.
  void meter_served(ConnId conn, uint64_t bytes);
  void meter_received(ConnId conn, const core::Address& from, uint64_t bytes);
  void agree_charge(ConnId conn, const core::Amount& price_per_mb);
  void agree_price(ConnId conn, const core::Amount& price_per_mb);
  // The router forgot a stream: state kept about it elsewhere goes too.
  void on_stream_erased(const core::StreamId& id);
  // A subscriber that owes us more than the credit limit (payments on only).
  bool payment_overdue(ConnId conn) const;
  void note_overdue_refusal(ConnId conn);
  // Sends any tickets now owed to every payee (after a ledger update, say).
  void pay_due();
  // Whose funds the runtime's next ledger poll must read: Payments::watched()
  // over the established neighbours (bounded by max_peers and max_watched).
  std::vector<core::Address> ledger_watch() const;
  std::optional<core::Address> address_of(ConnId conn) const;
  // True once the configured misbehaviour is active (test/demo only).
  bool misbehaving(Timestamp now) const;
  // Disconnects `conn` as hostile; the empathy module has recorded the shunning.
  void shun_peer(ConnId conn, const std::string& why, Timestamp now);
  // True once per snapshot_interval: the runtime should persist agent().memory.
  bool take_snapshot_due();
  int64_t wall_ms(Timestamp now) { return m_env.wall_clock_ms(now); }
  const NodeMetrics& metrics() const { return m_metrics; }
  bool shutting_down() const { return m_shutting_down; }
  bool shutdown_complete() const { return m_shutting_down && m_peers.empty(); }

private:
  struct Peer;
  struct BookEntry;

  Peer* find(ConnId conn);
  ConnId new_conn_id() { return m_next_conn++; }
  void start_session(Peer& p, const Hash256& exporter, Timestamp now);
  void on_hello(Peer& p, const core::Frame& f, Timestamp now);
  void on_established_frame(Peer& p, const core::Frame& f, Timestamp now);
  // False when `f` is over the peer's rate limit for its type (dropped; the
  // peer may have been disconnected).
  bool within_rate(Peer& p, const core::Frame& f, Timestamp now);
  void disconnect(Peer& p, DisconnectReason reason, const std::string& detail, Timestamp now);
  void remove_peer(ConnId conn, Timestamp now);
  bool enqueue(Peer& p, core::Frame frame);
  template <class Msg>
  bool send(Peer& p, core::FrameType type, const Msg& msg);
  void maintain(Timestamp now);
  void send_states(Timestamp now);
  void on_state(Peer& p, const core::Frame& f, Timestamp now);
  void reflect(Timestamp now);
  void on_ticket_params(Peer& p, const core::Frame& f, Timestamp now);
  void on_tickets(Peer& p, const core::Frame& f, Timestamp now);
  void offer_ticket_params(Timestamp now);
  void send_tickets(ConnId conn, const core::Address& payee);
  void dial_more(Timestamp now);
  void learn(const core::Endpoint& ep, std::optional<core::Address> addr, bool bootstrap);
  void note_dial_result(const core::Endpoint& ep, bool established, Timestamp now);
  Duration backoff(uint32_t failures);

  core::PrivateKey m_key;
  core::Address m_address;
  NodeOptions m_options;
  Environment& m_env;
  std::optional<core::Endpoint> m_listen;

  std::map<ConnId, std::unique_ptr<Peer>> m_peers;
  std::map<core::Endpoint, BookEntry> m_book;
  uint64_t m_book_seq = 0; // insertion order of address-book entries, per node
  ConnId m_next_conn = 1;

  std::deque<ConnId> m_ready; // peers with frames to transmit and window to spare
  std::set<ConnId> m_in_ready;
  std::deque<Action> m_actions;
  std::deque<Event> m_events;

  Timestamp m_started{};
  Timestamp m_next_tick{};
  Timestamp m_next_pex{};
  bool m_started_flag = false;
  bool m_shutting_down = false;
  NodeMetrics m_metrics;
  std::unique_ptr<Agent> m_agent;
  std::unique_ptr<StreamRouter> m_streams;
  std::unique_ptr<Payments> m_payments;
  Timestamp m_next_state{}, m_next_reflect{}, m_next_snapshot{}, m_last_reflect{};
  bool m_snapshot_due = false;
  uint64_t m_state_seq = 0;
  uint64_t m_part_bytes_out_at_reflect = 0;
  Ewma m_load_ewma;
  std::optional<uint64_t> m_load_prediction;
  struct RoutePredictions {
    std::optional<uint64_t> latency, on_time;
  };
  std::map<core::StreamId, RoutePredictions> m_route_predictions;
};

} // namespace openstreaming::agent
