// Node: the sans-I/O peer-to-peer core (docs/architecture.md).
//
// What it does: peer management as policy. It decides whom to dial (bootstrap
// list, then addresses learned by peer exchange), runs the handshake that binds
// a node address to a TLS session, keeps peers alive with pings (and measures
// RTT), limits connections, queues outgoing frames per peer with byte limits,
// and disconnects with a reason; it carries the media router (streams.h), the
// agent's modules (agent.h) and payments (payments/) on the same input/output
// discipline.
//
// What it does not do: any I/O. It never opens a socket, reads a clock, sleeps,
// starts a thread or touches a file. A runtime (src/net for the daemon, the
// simulator, or a unit test's in-memory network) drives it:
//
//   inputs   handle_start, handle_connected, handle_connect_failed, handle_accepted,
//            handle_frame, handle_framing_error, handle_sent, handle_closed,
//            handle_timeout, handle_shutdown — each with the current time `now`.
//   outputs  after any input, taken by agent::drain() (agent/drain.h) in one
//            order: winners to store (durability first), a redemption batch,
//            frames to write, connect/close requests, events, the memory
//            snapshot when due, the next timeout. Every driver uses drain().
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
#include "agent/environment.h"
#include "agent/node_options.h"
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
  uint64_t neighbours_replaced = 0; // neighbours we swapped for a new candidate (topology adaptation)
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

// Who handles each frame type of the wire protocol: one table (node.cpp),
// so a frame type the core knows is routed on purpose. A type the core does
// not know (nullopt) is an application frame the runtime registered
// (NodeOptions::app_frame_types) or a disconnect with unknown_frame_type.
// Every named type has a handler (tested).
enum class FrameHandler { session, neighbour_state, ticket_params, tickets, streams };
std::optional<FrameHandler> frame_handler(uint16_t type);

// Node serves its StreamRouter as the router's StreamHost (stream_host.h): the
// overrides below are the whole of what the router can reach.
class Node : private StreamHost {
public:
  Node(const core::PrivateKey& key, NodeOptions options, Environment& env);
  ~Node() override;
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
  bool send_app_frame(ConnId conn, core::Frame frame) override;

  // ---- Outputs (see the order above) ------------------------------------------
  std::optional<Transmit> poll_transmit();
  std::optional<Action> poll_action();
  std::optional<Event> poll_event();
  std::optional<Timestamp> poll_timeout() const;

  // ---- State --------------------------------------------------------------------
  const core::Address& address() const { return m_address; }
  const NodeOptions& options() const override { return m_options; }
  std::vector<PeerInfo> peers(Timestamp now) const;
  std::size_t established_count() const;
  // Bytes queued for `conn` and not yet handed to the runtime (0 if unknown).
  std::size_t queued_bytes(ConnId conn) const;
  std::vector<ConnId> established_conns() const override;
  bool established(ConnId conn) const override;
  double rtt_ms(ConnId conn) const override; // smoothed RTT; large if unknown
  Environment& environment() { return m_env; }
  StreamRouter& streams() { return *m_streams; }
  const StreamRouter& streams() const { return *m_streams; }
  // The media layer reports a part that failed verification (blamed on `conn`).
  void note_invalid_part(ConnId conn, const std::string& why) override;
  // A frame of `type` from `conn` that we never asked for: dropped, counted and
  // blamed (enough of them and the neighbour is shunned).
  void note_unsolicited(ConnId conn, uint16_t type, Timestamp now) override;
  Agent& agent() override { return *m_agent; }
  const Agent& agent() const { return *m_agent; }
  Payments& payments() { return *m_payments; }
  const Payments& payments() const { return *m_payments; }
  // The router's metering hooks: media bytes sent to / received from a
  // neighbour, valued once at the price agreed on subscription (payments) and
  // recorded by economics at that value, and the prices agreed.
  void meter_served(ConnId conn, uint64_t bytes) override;
  void meter_received(ConnId conn, const core::Address& from, uint64_t bytes) override;
  void agree_charge(ConnId conn, const core::Amount& price_per_mb) override;
  void agree_price(ConnId conn, const core::Amount& price_per_mb) override;
  // The router forgot a stream: state kept about it elsewhere goes too.
  void on_stream_erased(const core::StreamId& id) override;
  // A subscriber that owes us more than the credit limit (payments on only).
  bool payment_overdue(ConnId conn) const override;
  void note_overdue_refusal(ConnId conn) override;
  // Sends any tickets now owed to every payee (after a ledger update, say).
  void pay_due();
  // Whose funds the runtime's next ledger poll must read: Payments::watched()
  // over the established neighbours (bounded by max_peers and max_watched).
  std::vector<core::Address> ledger_watch() const;
  std::optional<core::Address> address_of(ConnId conn) const override;
  // True once the configured misbehaviour is active (test/demo only).
  bool misbehaving(Timestamp now) const override;
  // Disconnects `conn` as hostile; the empathy module has recorded the shunning.
  void shun_peer(ConnId conn, const std::string& why, Timestamp now) override;
  // True once per snapshot_interval: the runtime should persist agent().memory.
  bool take_snapshot_due();
  int64_t wall_ms(Timestamp now) override { return m_env.wall_clock_ms(now); }
  core::RandomSource& random() override { return m_env.random(); }
  const NodeMetrics& metrics() const { return m_metrics; }
  bool shutting_down() const { return m_shutting_down; }
  bool shutdown_complete() const { return m_shutting_down && m_peers.empty(); }

private:
  struct Peer;
  struct BookEntry;

  Peer* find(ConnId conn);
  ConnId new_conn_id() { return m_next_conn++; }
  // A new session record under a fresh id (state: dialing).
  Peer& add_peer(Direction direction, const core::Endpoint& remote, Timestamp now);
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
  struct BookCandidate {
    const core::Endpoint* endpoint;
    BookEntry* entry;
  };
  // Address-book entries we may dial now (not connected, not ourselves, not
  // shunned, not backing off), in random order.
  std::vector<BookCandidate> dial_candidates(Timestamp now);
  ConnId dial(const core::Endpoint& ep, BookEntry& entry, Timestamp now);
  void dial_more(Timestamp now);
  // `p`'s advertised endpoint is not dialled again for `d`.
  void defer_redial(const Peer& p, Duration d, Timestamp now);
  void adapt_topology(Timestamp now);
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
  Timestamp m_next_state{}, m_next_reflect{}, m_next_snapshot{}, m_last_reflect{}, m_next_topology{};
  double m_served_ratio = 1.0; // the worst on-time ratio of a wanted stream over the last reflect window
  bool m_snapshot_due = false;
  uint64_t m_state_seq = 0;
  uint64_t m_part_bytes_out_at_reflect = 0;
  struct RoutePredictions {
    std::optional<uint64_t> latency, on_time;
    std::optional<CandidateScore> taken; // how the route was scored when kept or taken
  };
  std::map<core::StreamId, RoutePredictions> m_route_predictions;
};

} // namespace openstreaming::agent
