#include "agent/node.h"

#include "agent/identity.h"
#include "agent/payments/payment_frames.h"
#include "core/hex.h"
#include "core/keccak.h"

#include <algorithm>
#include <cstring>
#include <wire.pb.h>

namespace openstreaming::agent {

namespace wire = openstreaming::wire::v1;
using core::Frame;
using core::FrameType;

const char* reason_name(DisconnectReason r) {
  switch (r) {
  case DisconnectReason::none:
    return "none";
  case DisconnectReason::shutdown:
    return "shutdown";
  case DisconnectReason::protocol_error:
    return "protocol_error";
  case DisconnectReason::oversized_frame:
    return "oversized_frame";
  case DisconnectReason::bad_frame:
    return "bad_frame";
  case DisconnectReason::unknown_frame_type:
    return "unknown_frame_type";
  case DisconnectReason::incompatible_version:
    return "incompatible_version";
  case DisconnectReason::identity_proof_failed:
    return "identity_proof_failed";
  case DisconnectReason::handshake_timeout:
    return "handshake_timeout";
  case DisconnectReason::idle_timeout:
    return "idle_timeout";
  case DisconnectReason::too_many_peers:
    return "too_many_peers";
  case DisconnectReason::duplicate_connection:
    return "duplicate_connection";
  case DisconnectReason::self_connection:
    return "self_connection";
  case DisconnectReason::send_queue_overflow:
    return "send_queue_overflow";
  case DisconnectReason::transport_closed:
    return "transport_closed";
  case DisconnectReason::truncated_frame:
    return "truncated_frame";
  case DisconnectReason::connect_failed:
    return "connect_failed";
  case DisconnectReason::shunned:
    return "shunned";
  case DisconnectReason::rate_limited:
    return "rate_limited";
  }
  return "unknown";
}

DisconnectReason reason_from_wire(uint32_t v) {
  if (v <= static_cast<uint32_t>(DisconnectReason::rate_limited)) return static_cast<DisconnectReason>(v);
  return DisconnectReason::protocol_error;
}

namespace {

constexpr std::size_t kMaxPeerRecords = 32;
constexpr std::size_t kMaxHelloStrings = 16;
constexpr Duration kCloseGrace = 10s;

bool is_hostile(DisconnectReason r) {
  switch (r) {
  case DisconnectReason::protocol_error:
  case DisconnectReason::oversized_frame:
  case DisconnectReason::bad_frame:
  case DisconnectReason::unknown_frame_type:
  case DisconnectReason::identity_proof_failed:
  case DisconnectReason::truncated_frame:
  case DisconnectReason::rate_limited:
    return true;
  default:
    return false;
  }
}

core::Address address_from(const std::string& bytes) {
  FixedBytes<20> a{};
  std::memcpy(a.data(), bytes.data(), 20);
  return core::Address(a);
}

} // namespace

namespace {

// A token bucket (RateLimits): refilled at per_s, capped at burst.
struct Bucket {
  double tokens = -1; // < 0: full, not yet used
  Timestamp last{};
  bool take(const RateLimit& l, Timestamp now) {
    if (l.per_s <= 0) return true; // no limit configured
    if (tokens < 0) tokens = l.burst;
    tokens = std::min(l.burst, tokens + to_seconds(now - last) * l.per_s);
    last = now;
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  }
};

enum class RateClass {
  announcements,
  subscriptions,
  fetches,
  haves,
  states,
  ticket_params,
  tickets,
  peer_requests,
  pings,
  none
};
constexpr std::size_t kRateClasses = static_cast<std::size_t>(RateClass::none);

RateClass rate_class(uint16_t type) {
  using core::MediaFrameType;
  switch (type) {
  case static_cast<uint16_t>(MediaFrameType::announcement):
    return RateClass::announcements;
  case static_cast<uint16_t>(MediaFrameType::subscribe):
  case static_cast<uint16_t>(MediaFrameType::unsubscribe):
  case static_cast<uint16_t>(MediaFrameType::subscribe_result):
    return RateClass::subscriptions;
  case static_cast<uint16_t>(MediaFrameType::fetch):
    return RateClass::fetches;
  case static_cast<uint16_t>(MediaFrameType::have):
    return RateClass::haves;
  case static_cast<uint16_t>(MediaFrameType::neighbour_state):
    return RateClass::states;
  case static_cast<uint16_t>(MediaFrameType::ticket_params):
    return RateClass::ticket_params;
  case static_cast<uint16_t>(MediaFrameType::tickets):
    return RateClass::tickets;
  case static_cast<uint16_t>(FrameType::get_peers):
  case static_cast<uint16_t>(FrameType::peers):
    return RateClass::peer_requests;
  case static_cast<uint16_t>(FrameType::ping):
  case static_cast<uint16_t>(FrameType::pong):
    return RateClass::pings;
  default:
    return RateClass::none;
  }
}

const RateLimit& limit_of(const RateLimits& l, RateClass c) {
  static const RateLimit kNone{};
  switch (c) {
  case RateClass::announcements:
    return l.announcements;
  case RateClass::subscriptions:
    return l.subscriptions;
  case RateClass::fetches:
    return l.fetches;
  case RateClass::haves:
    return l.haves;
  case RateClass::states:
    return l.states;
  case RateClass::ticket_params:
    return l.ticket_params;
  case RateClass::tickets:
    return l.tickets;
  case RateClass::peer_requests:
    return l.peer_requests;
  case RateClass::pings:
    return l.pings;
  case RateClass::none:
    break;
  }
  return kNone;
}

} // namespace

struct Node::Peer {
  enum class State { dialing, handshaking, established, closing };
  std::array<Bucket, kRateClasses> buckets{};
  uint64_t over_limit = 0; // frames dropped over a limit in the window that began at over_since
  Timestamp over_since{};
  ConnId conn = 0;
  Direction direction = Direction::outbound;
  core::Endpoint remote;
  State state = State::dialing;
  bool was_established = false;
  Hash256 exporter{};
  Timestamp created{}, established_at{}, last_recv{}, handshake_deadline{}, close_requested_at{};
  std::optional<core::Address> address;
  std::string listen_endpoint;
  std::vector<std::string> roles;
  uint32_t version = 0;
  // keepalive and RTT (RFC 6298 smoothing)
  Timestamp next_ping{};
  uint64_t ping_nonce = 0;
  std::optional<Timestamp> ping_sent;
  Duration srtt{0};
  // send path
  std::deque<Frame> queue;
  std::size_t queued_bytes = 0;
  std::size_t in_flight = 0;
  uint64_t bytes_in = 0, bytes_out = 0;
  uint64_t state_seq = 0; // seq of the last neighbour state whose signature checked out

  bool closing() const { return state == State::closing; }
  std::string advertised() const {
    if (!listen_endpoint.empty()) return listen_endpoint;
    return direction == Direction::outbound ? remote.to_string() : std::string();
  }
};

struct Node::BookEntry {
  std::optional<core::Address> address;
  bool bootstrap = false;
  uint32_t failures = 0;
  Timestamp next_attempt{};
  uint64_t seq = 0; // insertion order, for eviction
};

Node::Node(const core::PrivateKey& key, NodeOptions options, Environment& env)
    : m_key(key), m_address(key.address()), m_options(std::move(options)), m_env(env) {
  if (!m_options.listen_endpoint.empty()) {
    if (auto ep = core::Endpoint::parse(m_options.listen_endpoint)) m_listen = *ep;
  }
  m_options.max_peers = std::max<std::size_t>(m_options.max_peers, 1);
  m_agent = std::make_unique<Agent>(m_options.agent_config);
  m_streams = std::make_unique<StreamRouter>(static_cast<StreamHost&>(*this), m_key);
  m_payments = std::make_unique<Payments>(m_key, m_options.payments);
  if (m_options.agent_config.enabled) m_streams->set_policy(m_agent->propagation);
  m_options.target_peers = std::min(m_options.target_peers, m_options.max_peers);
}

Node::~Node() = default;

Node::Peer* Node::find(ConnId conn) {
  auto it = m_peers.find(conn);
  return it == m_peers.end() ? nullptr : it->second.get();
}

std::size_t Node::established_count() const {
  return static_cast<std::size_t>(std::count_if(
      m_peers.begin(), m_peers.end(), [](const auto& kv) { return kv.second->state == Peer::State::established; }));
}

// ---- Inputs -------------------------------------------------------------------

void Node::handle_start(Timestamp now) {
  m_started = now;
  m_started_flag = true;
  for (const auto& ep : m_options.bootstrap) learn(ep, std::nullopt, /*bootstrap=*/true);
  m_next_pex = now + m_options.pex_interval;
  m_next_state = now + 200ms;
  m_next_reflect = now + m_options.agent_config.reflect_interval;
  m_next_snapshot = now + m_options.agent_config.snapshot_interval;
  m_last_reflect = now;
  m_agent->economics.update_quote();
  maintain(now);
}

void Node::handle_connected(ConnId conn, const Hash256& tls_exporter, Timestamp now) {
  Peer* p = find(conn);
  if (!p || p->state != Peer::State::dialing) {
    // Unknown or no longer wanted (e.g. shutdown began while dialing): close it.
    m_actions.push_back(CloseRequest{conn, DisconnectReason::shutdown});
    return;
  }
  ++m_metrics.connections_outbound;
  start_session(*p, tls_exporter, now);
}

void Node::handle_connect_failed(ConnId conn, Timestamp now) {
  Peer* p = find(conn);
  if (!p) return;
  ++m_metrics.dials_failed;
  note_dial_result(p->remote, false, now);
  m_events.push_back(PeerClosed{conn, std::nullopt, DisconnectReason::connect_failed, false, p->remote.to_string()});
  m_peers.erase(conn);
}

ConnId Node::handle_accepted(const core::Endpoint& remote, const Hash256& tls_exporter, Timestamp now) {
  ConnId conn = new_conn_id();
  auto peer = std::make_unique<Peer>();
  peer->conn = conn;
  peer->direction = Direction::inbound;
  peer->remote = remote;
  peer->created = now;
  Peer& p = *peer;
  m_peers.emplace(conn, std::move(peer));
  ++m_metrics.connections_inbound;
  std::size_t live = static_cast<std::size_t>(
      std::count_if(m_peers.begin(), m_peers.end(), [](const auto& kv) { return !kv.second->closing(); }));
  p.state = Peer::State::handshaking;
  if (m_shutting_down) {
    disconnect(p, DisconnectReason::shutdown, "node is stopping", now);
  } else if (live > m_options.max_peers + m_options.max_pending_inbound) {
    disconnect(p, DisconnectReason::too_many_peers, "connection limit reached", now);
  } else {
    start_session(p, tls_exporter, now);
  }
  return conn;
}

void Node::start_session(Peer& p, const Hash256& exporter, Timestamp now) {
  p.state = Peer::State::handshaking;
  p.exporter = exporter;
  p.created = now;
  p.last_recv = now;
  p.handshake_deadline = now + m_options.handshake_timeout;
  wire::Hello hello;
  hello.set_version(m_options.version);
  hello.set_min_version(m_options.min_version);
  hello.add_capabilities("pex/1");
  hello.set_address(std::string(m_address.bytes().begin(), m_address.bytes().end()));
  TlsSide side = p.direction == Direction::outbound ? TlsSide::client : TlsSide::server;
  auto proof = prove_identity(m_key, side, exporter);
  hello.set_identity_proof(std::string(proof.bytes().begin(), proof.bytes().end()));
  hello.set_listen_endpoint(m_options.listen_endpoint);
  hello.set_agent(m_options.user_agent);
  for (const auto& r : m_options.roles) hello.add_roles(r);
  send(p, FrameType::hello, hello);
}

std::vector<FrameCounters::Row> FrameCounters::rows() const {
  std::vector<Row> out;
  for (std::size_t i = 0; i < kSlots; ++i) {
    if (frames[i] == 0) continue;
    out.push_back({i + 1 == kSlots ? "unknown" : core::frame_type_name(static_cast<uint16_t>(i)), frames[i], bytes[i]});
  }
  return out;
}

void Node::handle_frame(ConnId conn, Frame frame, Timestamp now) {
  Peer* p = find(conn);
  if (!p || p->closing() || p->state == Peer::State::dialing) return;
  const std::size_t size = frame.wire_size();
  m_metrics.in.add(frame.type, size);
  p->bytes_in += size;
  p->last_recv = now;

  if (frame.type == static_cast<uint16_t>(FrameType::disconnect)) {
    wire::Disconnect d;
    DisconnectReason reason = d.ParseFromArray(frame.header.data(), static_cast<int>(frame.header.size()))
                                  ? reason_from_wire(d.reason())
                                  : DisconnectReason::protocol_error;
    ++m_metrics.disconnects[{reason_name(reason), "remote"}];
    std::string detail = d.detail().substr(0, 200);
    m_events.push_back(PeerClosed{conn, p->address, reason, true, detail});
    if (p->direction == Direction::outbound && !p->was_established) note_dial_result(p->remote, false, now);
    p->state = Peer::State::closing;
    p->close_requested_at = now;
    p->queue.clear();
    p->queued_bytes = 0;
    m_actions.push_back(CloseRequest{conn, reason});
    return;
  }
  if (p->state == Peer::State::handshaking) {
    if (frame.type != static_cast<uint16_t>(FrameType::hello)) {
      disconnect(*p, DisconnectReason::protocol_error,
                 std::string("expected hello, got ") + core::frame_type_name(frame.type), now);
      return;
    }
    on_hello(*p, frame, now);
    return;
  }
  if (!within_rate(*p, frame, now)) return;
  on_established_frame(*p, frame, now);
}

bool Node::within_rate(Peer& p, const Frame& f, Timestamp now) {
  RateClass c = rate_class(f.type);
  if (c == RateClass::none) return true;
  if (p.buckets[static_cast<std::size_t>(c)].take(limit_of(m_options.rate_limits, c), now)) return true;
  ++m_metrics.frames_rate_limited[core::frame_type_name(f.type)];
  // Drops are counted per window: a peer at twice the limit passes every
  // other frame, and must still be told to stop.
  if (p.over_limit == 0 || now - p.over_since > m_options.rate_limits.window) {
    p.over_since = now;
    p.over_limit = 0;
  }
  if (++p.over_limit >= m_options.rate_limits.disconnect_after) {
    disconnect(p, DisconnectReason::rate_limited,
               std::to_string(p.over_limit) + " frames over the rate limit within " +
                   std::to_string(static_cast<int64_t>(to_seconds(m_options.rate_limits.window))) +
                   " s (last: " + core::frame_type_name(f.type) + ")",
               now);
  }
  return false;
}

void Node::on_hello(Peer& p, const Frame& f, Timestamp now) {
  wire::Hello hello;
  if (!hello.ParseFromArray(f.header.data(), static_cast<int>(f.header.size()))) {
    disconnect(p, DisconnectReason::protocol_error, "malformed hello", now);
    return;
  }
  uint32_t lo = std::max(hello.min_version(), m_options.min_version);
  uint32_t hi = std::min(hello.version(), m_options.version);
  if (hello.min_version() > hello.version() || lo > hi) {
    disconnect(p, DisconnectReason::incompatible_version,
               "we speak versions " + std::to_string(m_options.min_version) + ".." + std::to_string(m_options.version) +
                   ", peer speaks " + std::to_string(hello.min_version()) + ".." + std::to_string(hello.version()),
               now);
    return;
  }
  if (hello.address().size() != 20) {
    disconnect(p, DisconnectReason::identity_proof_failed, "address must be 20 bytes", now);
    return;
  }
  core::Address claimed = address_from(hello.address());
  TlsSide peer_side = p.direction == Direction::outbound ? TlsSide::server : TlsSide::client;
  auto proven = verify_identity(as_bytes(hello.identity_proof()), peer_side, p.exporter);
  if (!proven || *proven != claimed) {
    disconnect(p, DisconnectReason::identity_proof_failed,
               "identity proof does not match claimed address " + claimed.to_checksum_hex() +
                   (proven ? "" : " (" + proven.error().message + ")"),
               now);
    return;
  }
  if (claimed == m_address) {
    if (p.direction == Direction::outbound) {
      // We dialed ourselves (our own address came back through peer exchange): never again.
      if (auto it = m_book.find(p.remote); it != m_book.end() && !it->second.bootstrap) m_book.erase(it);
    }
    disconnect(p, DisconnectReason::self_connection, "connected to ourselves", now);
    return;
  }
  if (hello.capabilities_size() > static_cast<int>(kMaxHelloStrings) ||
      hello.roles_size() > static_cast<int>(kMaxHelloStrings) || hello.listen_endpoint().size() > 300 ||
      hello.agent().size() > 200) {
    disconnect(p, DisconnectReason::protocol_error, "hello fields too large", now);
    return;
  }
  // Duplicate: keep the connection dialed by the lower address, so both ends
  // independently keep the same one; with the same dialer keep the newer.
  for (auto& [id, other] : m_peers) {
    if (id == p.conn || other->state != Peer::State::established || other->address != claimed) continue;
    const core::Address& dialer_new = p.direction == Direction::outbound ? m_address : claimed;
    const core::Address& dialer_old = other->direction == Direction::outbound ? m_address : claimed;
    bool keep_new = dialer_new == dialer_old || dialer_new == std::min(m_address, claimed);
    if (!keep_new) {
      disconnect(p, DisconnectReason::duplicate_connection, "already connected to " + claimed.to_checksum_hex(), now);
      return;
    }
    disconnect(*other, DisconnectReason::duplicate_connection, "replaced by a newer connection", now);
    break;
  }
  if (m_agent->empathy.shunned(claimed, wall_ms(now))) {
    disconnect(p, DisconnectReason::shunned,
               claimed.to_checksum_hex() + " is shunned: " + m_agent->memory.find(claimed)->reason, now);
    return;
  }
  if (p.direction == Direction::inbound && established_count() >= m_options.max_peers) {
    disconnect(p, DisconnectReason::too_many_peers, "peer limit reached", now);
    return;
  }

  p.state = Peer::State::established;
  p.was_established = true;
  p.established_at = now;
  p.address = claimed;
  p.version = hi;
  p.listen_endpoint = hello.listen_endpoint();
  p.roles.assign(hello.roles().begin(), hello.roles().end());
  p.next_ping = now; // first RTT sample right away
  m_events.push_back(PeerEstablished{p.conn, claimed, p.remote, p.direction});
  if (p.direction == Direction::outbound) {
    learn(p.remote, claimed, false);
    note_dial_result(p.remote, true, now);
  } else if (m_options.peer_exchange && !p.listen_endpoint.empty()) {
    if (auto ep = core::Endpoint::parse(p.listen_endpoint); ep && *ep != m_listen) learn(*ep, claimed, false);
  }
  if (m_options.peer_exchange) {
    wire::GetPeers gp;
    gp.set_max(kMaxPeerRecords);
    send(p, FrameType::get_peers, gp);
  }
  m_streams->on_peer_up(p.conn, now);
}

std::optional<FrameHandler> frame_handler(uint16_t type) {
  switch (static_cast<FrameType>(type)) {
  case FrameType::hello:
  case FrameType::ping:
  case FrameType::pong:
  case FrameType::get_peers:
  case FrameType::peers:
  case FrameType::disconnect:
    return FrameHandler::session;
  }
  switch (static_cast<core::MediaFrameType>(type)) {
  case core::MediaFrameType::neighbour_state:
    return FrameHandler::neighbour_state;
  case core::MediaFrameType::ticket_params:
    return FrameHandler::ticket_params;
  case core::MediaFrameType::tickets:
    return FrameHandler::tickets;
  case core::MediaFrameType::part:
  case core::MediaFrameType::announcement:
  case core::MediaFrameType::subscribe:
  case core::MediaFrameType::unsubscribe:
  case core::MediaFrameType::have:
  case core::MediaFrameType::subscribe_result:
  case core::MediaFrameType::fetch:
    return FrameHandler::streams;
  }
  return std::nullopt;
}

void Node::on_established_frame(Peer& p, const Frame& f, Timestamp now) {
  auto parse = [&](auto& msg) {
    if (msg.ParseFromArray(f.header.data(), static_cast<int>(f.header.size()))) return true;
    disconnect(p, DisconnectReason::protocol_error, std::string("malformed ") + core::frame_type_name(f.type), now);
    return false;
  };
  switch (static_cast<FrameType>(f.type)) {
  case FrameType::ping: {
    wire::Ping ping;
    if (!parse(ping)) return;
    wire::Pong pong;
    pong.set_nonce(ping.nonce());
    send(p, FrameType::pong, pong);
    return;
  }
  case FrameType::pong: {
    wire::Pong pong;
    if (!parse(pong)) return;
    if (p.ping_sent && pong.nonce() == p.ping_nonce) {
      Duration sample = now - *p.ping_sent;
      p.srtt = p.srtt.count() == 0 ? sample : (p.srtt * 7 + sample) / 8;
      p.ping_sent.reset();
      m_agent->empathy.on_rtt(*p.address, to_ms(sample));
    }
    return;
  }
  case FrameType::get_peers: {
    wire::GetPeers gp;
    if (!parse(gp)) return;
    std::vector<Peer*> candidates;
    for (auto& [id, other] : m_peers) {
      if (id != p.conn && other->state == Peer::State::established && !other->advertised().empty()) {
        candidates.push_back(other.get());
      }
    }
    // Fisher-Yates with the injected random source: no peer learns our whole view in order.
    for (std::size_t i = candidates.size(); i > 1; --i) {
      std::swap(candidates[i - 1], candidates[m_env.random().uniform(i)]);
    }
    wire::Peers reply;
    std::size_t limit = std::min<std::size_t>(gp.max() == 0 ? kMaxPeerRecords : gp.max(), kMaxPeerRecords);
    for (std::size_t i = 0; i < candidates.size() && i < limit; ++i) {
      auto* rec = reply.add_peers();
      rec->set_address(std::string(candidates[i]->address->bytes().begin(), candidates[i]->address->bytes().end()));
      rec->set_endpoint(candidates[i]->advertised());
    }
    send(p, FrameType::peers, reply);
    return;
  }
  case FrameType::peers: {
    wire::Peers peers;
    if (!parse(peers)) return;
    int n = 0;
    for (const auto& rec : peers.peers()) {
      if (++n > static_cast<int>(kMaxPeerRecords) || !m_options.peer_exchange) {
        ++m_metrics.peer_records_rejected;
        continue;
      }
      auto ep = core::Endpoint::parse(rec.endpoint());
      if (rec.address().size() != 20 || !ep) {
        ++m_metrics.peer_records_rejected;
        continue;
      }
      core::Address a = address_from(rec.address());
      if (a == m_address || *ep == m_listen) continue;
      learn(*ep, a, false);
    }
    return;
  }
  case FrameType::hello:
    disconnect(p, DisconnectReason::protocol_error, "second hello", now);
    return;
  case FrameType::disconnect: // handled in handle_frame
    return;
  }
  switch (frame_handler(f.type).value_or(FrameHandler::session)) {
  case FrameHandler::neighbour_state:
    on_state(p, f, now);
    return;
  case FrameHandler::ticket_params:
    on_ticket_params(p, f, now);
    return;
  case FrameHandler::tickets:
    on_tickets(p, f, now);
    return;
  case FrameHandler::streams:
    if (!m_streams->on_frame(p.conn, *p.address, f, now)) {
      disconnect(p, DisconnectReason::protocol_error, std::string("malformed ") + core::frame_type_name(f.type), now);
    }
    return;
  case FrameHandler::session: // handled above, or not ours
    break;
  }
  if (m_options.app_frame_types.count(f.type)) {
    m_events.push_back(AppFrame{p.conn, *p.address, f});
    return;
  }
  disconnect(p, DisconnectReason::unknown_frame_type, "frame type " + std::to_string(f.type), now);
}

void Node::handle_framing_error(ConnId conn, DisconnectReason reason, const std::string& detail, Timestamp now) {
  Peer* p = find(conn);
  if (!p || p->closing()) return;
  disconnect(*p, reason, detail, now);
}

void Node::handle_sent(ConnId conn, std::size_t bytes, Timestamp /*now*/) {
  Peer* p = find(conn);
  if (!p) return;
  p->in_flight -= std::min(bytes, p->in_flight);
  if (!p->queue.empty() && p->in_flight < m_options.send_window && m_in_ready.insert(conn).second) {
    m_ready.push_back(conn);
  }
}

namespace {
// The addresses of the established sessions among `peers`.
template <typename Peers>
std::vector<core::Address> established_addresses(const Peers& peers) {
  std::vector<core::Address> connected;
  for (const auto& [id, p] : peers) {
    if (p->state == std::remove_cvref_t<decltype(*p)>::State::established && p->address)
      connected.push_back(*p->address);
  }
  return connected;
}
} // namespace

void Node::handle_closed(ConnId conn, Timestamp now) {
  Peer* p = find(conn);
  if (!p) return;
  if (!p->closing()) {
    ++m_metrics.disconnects[{reason_name(DisconnectReason::transport_closed), "remote"}];
    m_events.push_back(PeerClosed{conn, p->address, DisconnectReason::transport_closed, true, {}});
    if (p->direction == Direction::outbound && !p->was_established) note_dial_result(p->remote, false, now);
  }
  remove_peer(conn, now);
}

void Node::remove_peer(ConnId conn, Timestamp now) {
  Peer* p = find(conn);
  if (!p) return;
  bool was_up = p->was_established;
  if (p->direction == Direction::outbound && p->was_established) {
    // It worked before: try again soon rather than after a long backoff.
    if (auto it = m_book.find(p->remote); it != m_book.end()) {
      it->second.next_attempt = now + backoff(1);
    }
  }
  m_in_ready.erase(conn);
  m_peers.erase(conn);
  if (was_up) m_streams->on_peer_down(conn, now);
  // Payment relationships of departed payers are bounded (a flood of throwaway
  // identities cannot grow them); connected ones are kept.
  if (m_payments->relations().size() > m_payments->options().max_relations)
    m_payments->forget_disconnected(established_addresses(m_peers));
}

void Node::handle_timeout(Timestamp now) {
  m_streams->release_delayed(now);
  if (!m_started_flag || now < m_next_tick) return;
  maintain(now);
}

void Node::handle_shutdown(Timestamp now) {
  if (m_shutting_down) return;
  m_shutting_down = true;
  std::vector<ConnId> ids;
  for (auto& [id, p] : m_peers) ids.push_back(id);
  for (ConnId id : ids) {
    Peer* p = find(id);
    if (!p || p->closing()) continue;
    if (p->state == Peer::State::dialing) {
      p->state = Peer::State::closing;
      p->close_requested_at = now;
      m_actions.push_back(CloseRequest{id, DisconnectReason::shutdown});
    } else {
      disconnect(*p, DisconnectReason::shutdown, "node is stopping", now);
    }
  }
}

bool Node::send_app_frame(ConnId conn, Frame frame) {
  Peer* p = find(conn);
  if (!p || p->state != Peer::State::established || frame.type < core::kFirstAppFrameType) {
    ++m_metrics.frames_dropped_backpressure;
    return false;
  }
  return enqueue(*p, std::move(frame));
}

bool Node::established(ConnId conn) const {
  auto it = m_peers.find(conn);
  return it != m_peers.end() && it->second->state == Peer::State::established;
}

std::vector<ConnId> Node::established_conns() const {
  std::vector<ConnId> out;
  for (const auto& [id, p] : m_peers) {
    if (p->state == Peer::State::established) out.push_back(id);
  }
  return out;
}

double Node::rtt_ms(ConnId conn) const {
  auto it = m_peers.find(conn);
  if (it == m_peers.end() || it->second->srtt.count() == 0) return 1e9;
  return to_ms(it->second->srtt);
}

void Node::note_invalid_part(ConnId conn, const std::string& why) {
  uint64_t total = ++m_metrics.parts_invalid[why];
  for (const auto& [r, n] : m_metrics.parts_invalid) total += r == why ? 0 : n;
  Peer* p = find(conn);
  if (p && p->address) m_events.push_back(InvalidPart{conn, *p->address, why, total});
}

std::size_t Node::queued_bytes(ConnId conn) const {
  auto it = m_peers.find(conn);
  return it == m_peers.end() ? 0 : it->second->queued_bytes;
}

// ---- Outputs ------------------------------------------------------------------

std::optional<Transmit> Node::poll_transmit() {
  while (!m_ready.empty()) {
    ConnId conn = m_ready.front();
    m_ready.pop_front();
    m_in_ready.erase(conn);
    Peer* p = find(conn);
    if (!p || p->queue.empty()) continue;
    bool control = p->queue.front().type == static_cast<uint16_t>(FrameType::disconnect);
    if (p->in_flight >= m_options.send_window && !control) continue; // handle_sent re-arms it
    Frame f = std::move(p->queue.front());
    p->queue.pop_front();
    std::size_t size = f.wire_size();
    p->queued_bytes -= size;
    p->in_flight += size;
    p->bytes_out += size;
    m_metrics.out.add(f.type, size);
    if (!p->queue.empty() && p->in_flight < m_options.send_window && m_in_ready.insert(conn).second) {
      m_ready.push_back(conn); // round robin between peers
    }
    return Transmit{conn, std::move(f)};
  }
  return std::nullopt;
}

std::optional<Action> Node::poll_action() {
  if (m_actions.empty()) return std::nullopt;
  Action a = std::move(m_actions.front());
  m_actions.pop_front();
  return a;
}

std::optional<Event> Node::poll_event() {
  if (m_events.empty()) return std::nullopt;
  Event e = std::move(m_events.front());
  m_events.pop_front();
  return e;
}

std::optional<Timestamp> Node::poll_timeout() const {
  if (!m_started_flag) return std::nullopt;
  auto release = m_streams->next_release();
  return release ? std::min(m_next_tick, *release) : m_next_tick;
}

// ---- Internals ----------------------------------------------------------------

void Node::disconnect(Peer& p, DisconnectReason reason, const std::string& detail, Timestamp now) {
  if (p.closing()) return;
  bool handshaking = p.state == Peer::State::handshaking;
  ++m_metrics.disconnects[{reason_name(reason), "local"}];
  if (handshaking) ++m_metrics.handshake_failures[reason_name(reason)];
  if (is_hostile(reason)) ++m_metrics.protocol_errors[reason_name(reason)];
  if (p.direction == Direction::outbound && !p.was_established) note_dial_result(p.remote, false, now);
  m_events.push_back(PeerClosed{p.conn, p.address, reason, false, detail});
  // Nothing queued matters any more; the Disconnect frame says why and goes out first.
  p.queue.clear();
  p.queued_bytes = 0;
  wire::Disconnect d;
  d.set_reason(static_cast<uint32_t>(reason));
  d.set_detail(detail.substr(0, 200));
  send(p, FrameType::disconnect, d);
  p.state = Peer::State::closing;
  p.close_requested_at = now;
  m_actions.push_back(CloseRequest{p.conn, reason});
}

bool Node::enqueue(Peer& p, Frame frame) {
  bool control = frame.type == static_cast<uint16_t>(FrameType::disconnect);
  if (p.closing() && !control) return false;
  std::size_t size = frame.wire_size();
  if (p.queued_bytes + size > m_options.send_queue_limit && !control) {
    ++m_metrics.frames_dropped_backpressure;
    return false;
  }
  p.queue.push_back(std::move(frame));
  p.queued_bytes += size;
  if ((p.in_flight < m_options.send_window || control) && m_in_ready.insert(p.conn).second) m_ready.push_back(p.conn);
  return true;
}

template <class Msg>
bool Node::send(Peer& p, FrameType type, const Msg& msg) {
  Frame f;
  f.type = static_cast<uint16_t>(type);
  f.header.resize(msg.ByteSizeLong());
  msg.SerializeToArray(f.header.data(), static_cast<int>(f.header.size()));
  return enqueue(p, std::move(f));
}

void Node::maintain(Timestamp now) {
  m_next_tick = now + m_options.tick;
  std::vector<ConnId> ids;
  ids.reserve(m_peers.size());
  for (auto& [id, p] : m_peers) ids.push_back(id);
  for (ConnId id : ids) {
    Peer* p = find(id);
    if (!p) continue;
    switch (p->state) {
    case Peer::State::dialing:
      break;
    case Peer::State::handshaking:
      if (now >= p->handshake_deadline) disconnect(*p, DisconnectReason::handshake_timeout, "no hello in time", now);
      break;
    case Peer::State::established:
      if (now - p->last_recv >= m_options.idle_timeout) {
        disconnect(*p, DisconnectReason::idle_timeout,
                   "nothing received for " + std::to_string(static_cast<int>(to_seconds(now - p->last_recv))) + " s",
                   now);
      } else if (now >= p->next_ping) {
        p->ping_nonce = m_env.random().next_u64();
        p->ping_sent = now;
        p->next_ping = now + m_options.ping_interval;
        wire::Ping ping;
        ping.set_nonce(p->ping_nonce);
        send(*p, FrameType::ping, ping);
      }
      break;
    case Peer::State::closing:
      if (now - p->close_requested_at > kCloseGrace) m_peers.erase(id); // the runtime never confirmed: forget it
      break;
    }
  }
  if (m_shutting_down) return;
  m_streams->tick(now);
  offer_ticket_params(now);
  if (now >= m_next_state) send_states(now);
  if (now >= m_next_reflect) reflect(now);
  if (m_options.peer_exchange && now >= m_next_pex) {
    m_next_pex = now + m_options.pex_interval;
    std::vector<Peer*> established;
    for (auto& [id, p] : m_peers) {
      if (p->state == Peer::State::established) established.push_back(p.get());
    }
    if (!established.empty()) {
      wire::GetPeers gp;
      gp.set_max(kMaxPeerRecords);
      send(*established[m_env.random().uniform(established.size())], FrameType::get_peers, gp);
    }
  }
  dial_more(now);
}

void Node::dial_more(Timestamp now) {
  std::size_t live = 0, dialing = 0;
  for (auto& [id, p] : m_peers) {
    if (p->closing()) continue;
    ++live;
    if (p->direction == Direction::outbound && p->state != Peer::State::established) ++dialing;
  }
  if (live >= m_options.target_peers || dialing >= m_options.max_concurrent_dials) return;
  std::size_t slots = std::min(m_options.target_peers - live, m_options.max_concurrent_dials - dialing);

  std::set<std::string> connected_endpoints;
  std::set<core::Address> connected_addresses;
  for (auto& [id, p] : m_peers) {
    if (p->closing()) continue;
    if (p->direction == Direction::outbound) connected_endpoints.insert(p->remote.to_string());
    if (!p->listen_endpoint.empty()) connected_endpoints.insert(p->listen_endpoint);
    if (p->address) connected_addresses.insert(*p->address);
  }

  std::vector<std::pair<const core::Endpoint*, BookEntry*>> candidates;
  for (auto& [ep, entry] : m_book) {
    if (entry.next_attempt > now || (m_listen && ep == *m_listen)) continue;
    if (!entry.bootstrap && !m_options.peer_exchange) continue;
    if (connected_endpoints.count(ep.to_string())) continue;
    if (entry.address && (connected_addresses.count(*entry.address) || *entry.address == m_address)) continue;
    if (entry.address && m_agent->empathy.shunned(*entry.address, wall_ms(now))) continue;
    candidates.emplace_back(&ep, &entry);
  }
  // Bootstrap first, then the fewest failures; ties broken at random so nodes spread out.
  for (std::size_t i = candidates.size(); i > 1; --i) {
    std::swap(candidates[i - 1], candidates[m_env.random().uniform(i)]);
  }
  std::stable_sort(candidates.begin(), candidates.end(), [](const auto& a, const auto& b) {
    if (a.second->bootstrap != b.second->bootstrap) return a.second->bootstrap;
    return a.second->failures < b.second->failures;
  });
  for (std::size_t i = 0; i < candidates.size() && i < slots; ++i) {
    ConnId conn = new_conn_id();
    auto peer = std::make_unique<Peer>();
    peer->conn = conn;
    peer->direction = Direction::outbound;
    peer->remote = *candidates[i].first;
    peer->created = now;
    peer->state = Peer::State::dialing;
    m_peers.emplace(conn, std::move(peer));
    // Until the result arrives, do not pick this endpoint again.
    candidates[i].second->next_attempt = now + m_options.handshake_timeout;
    m_actions.push_back(ConnectRequest{conn, *candidates[i].first});
  }
}

void Node::learn(const core::Endpoint& ep, std::optional<core::Address> addr, bool bootstrap) {
  auto it = m_book.find(ep);
  if (it == m_book.end()) {
    if (m_book.size() >= m_options.address_book_limit) {
      // Evict the oldest learned (never a bootstrap) entry.
      auto victim = m_book.end();
      for (auto jt = m_book.begin(); jt != m_book.end(); ++jt) {
        if (!jt->second.bootstrap && (victim == m_book.end() || jt->second.seq < victim->second.seq)) victim = jt;
      }
      if (victim == m_book.end()) return;
      m_book.erase(victim);
    }
    it = m_book.emplace(ep, BookEntry{}).first;
    it->second.seq = ++m_book_seq;
  }
  if (bootstrap) it->second.bootstrap = true;
  if (addr) it->second.address = addr;
}

void Node::note_dial_result(const core::Endpoint& ep, bool established, Timestamp now) {
  auto it = m_book.find(ep);
  if (it == m_book.end()) return;
  BookEntry& e = it->second;
  if (established) {
    e.failures = 0;
    e.next_attempt = now;
    return;
  }
  ++e.failures;
  e.next_attempt = now + backoff(e.failures);
  if (!e.bootstrap && e.failures >= 6) m_book.erase(it); // learned hints that keep failing are dropped
}

Duration Node::backoff(uint32_t failures) {
  // Exponential with "equal jitter": uniform in [d/2, d], d = base * 2^(failures-1), capped.
  int shift = static_cast<int>(std::min<uint32_t>(failures == 0 ? 0 : failures - 1, 20));
  Duration d = std::min<Duration>(m_options.reconnect_base * (int64_t{1} << shift), m_options.reconnect_max);
  Duration half = d / 2;
  return half + Duration(static_cast<int64_t>(m_env.random().uniform(static_cast<uint64_t>(half.count()) + 1)));
}

std::vector<PeerInfo> Node::peers(Timestamp now) const {
  std::vector<PeerInfo> out;
  for (const auto& [id, p] : m_peers) {
    if (p->state != Peer::State::established) continue;
    out.push_back(PeerInfo{id, *p->address, p->remote, p->listen_endpoint, p->direction, p->roles, to_ms(p->srtt),
                           p->bytes_in, p->bytes_out, to_seconds(now - p->established_at)});
  }
  return out;
}

// ---- The agent  -----------------------------------------------------

std::optional<core::Address> Node::address_of(ConnId conn) const {
  auto it = m_peers.find(conn);
  if (it == m_peers.end()) return std::nullopt;
  return it->second->address;
}

bool Node::misbehaving(Timestamp now) const {
  return m_options.misbehave.any() && m_started_flag && now - m_started >= m_options.misbehave.after;
}

void Node::shun_peer(ConnId conn, const std::string& why, Timestamp now) {
  if (Peer* p = find(conn); p && !p->closing()) disconnect(*p, DisconnectReason::shunned, why, now);
}

bool Node::take_snapshot_due() {
  bool due = m_snapshot_due;
  m_snapshot_due = false;
  return due;
}

namespace {
constexpr std::string_view kStateDomain = "openstreaming/state/v1";
constexpr std::size_t kMaxStateBody = 16 << 10;
constexpr std::size_t kMaxStateFrame = kMaxStateBody + 128; // the body, a 65-byte signature, protobuf tags
constexpr int kMaxStateEntries = 64;

Hash256 state_digest(const std::string& body) {
  core::Keccak256 h;
  h.update(as_bytes(kStateDomain)).update(as_bytes(body));
  return h.finalize();
}
} // namespace

void Node::send_states(Timestamp now) {
  m_next_state = now + m_options.agent_config.empathy.state_interval;
  const SelfMetrics& self = m_agent->memory.self();
  wire::StateBody body;
  body.set_seq(++m_state_seq);
  body.set_unix_ms(wall_ms(now));
  double capacity = static_cast<double>(m_agent->economics.options().capacity_kbps);
  if (misbehaving(now)) capacity *= m_options.misbehave.lie_capacity;
  body.set_capacity_kbps(static_cast<uint64_t>(capacity));
  body.set_load_pct(static_cast<uint32_t>(std::clamp(self.load_pct, 0.0, 1000.0)));
  body.set_quote_wei_per_mb(m_agent->economics.current_quote().to_wei_string());
  uint32_t health = 0;
  bool any_wanted = false;
  for (const auto& [id, s] : m_streams->streams()) {
    if (s.ended()) continue;
    if (s.producer) {
      auto* l = body.add_latencies();
      l->set_stream_id(std::string(id.begin(), id.end()));
      l->set_latency_ms(0);
      continue;
    }
    if (s.upstream && body.gaps_size() < kMaxStateEntries) {
      auto* g = body.add_gaps();
      g->set_stream_id(std::string(id.begin(), id.end()));
      g->set_missing(s.parts_missing);
    }
    if (s.upstream_latency.n > 0 && body.latencies_size() < kMaxStateEntries) {
      auto* l = body.add_latencies();
      l->set_stream_id(std::string(id.begin(), id.end()));
      l->set_latency_ms(static_cast<uint32_t>(std::max(0.0, s.upstream_latency.mean)));
    }
    if (s.wanted || !s.subscribers.empty()) {
      // Buffer health: media received in the last 2 s, as milliseconds ahead of a 2 s need.
      double since = s.last_part_at ? to_ms(now - *s.last_part_at) : 1e9;
      uint32_t h = static_cast<uint32_t>(std::max(0.0, 2000.0 - since));
      health = any_wanted ? std::min(health, h) : h;
      any_wanted = true;
      if (since > 1500 && body.needs_size() < kMaxStateEntries) body.add_needs(std::string(id.begin(), id.end()));
    }
  }
  body.set_buffer_health_ms(health);
  std::string bytes = body.SerializeAsString();
  auto digest = state_digest(bytes);
  auto sig = m_options.state_signer ? m_options.state_signer(digest) : core::sign_hash(m_key, digest);
  wire::NeighbourState msg;
  msg.set_body(bytes);
  msg.set_signature(std::string(sig.bytes().begin(), sig.bytes().end()));
  for (auto& [id, p] : m_peers) {
    if (p->state != Peer::State::established) continue;
    Frame f;
    f.type = static_cast<uint16_t>(core::MediaFrameType::neighbour_state);
    f.header.resize(msg.ByteSizeLong());
    msg.SerializeToArray(f.header.data(), static_cast<int>(f.header.size()));
    enqueue(*p, std::move(f));
  }
}

void Node::on_state(Peer& p, const Frame& f, Timestamp now) {
  // Cheap checks first, the signature last: size before parsing, and a state
  // whose seq is not newer than the last verified one on this connection (a
  // replay, or one overtaken) is dropped before any ECDSA recovery. A sender
  // can only pay for a recovery with a state it signed itself or with a
  // forgery, which gets it shunned; the rate limit already bounds how often.
  if (!p.address) return; // established peers only (handle_frame)
  wire::NeighbourState msg;
  wire::StateBody body;
  if (f.header.size() > kMaxStateFrame || !msg.ParseFromArray(f.header.data(), static_cast<int>(f.header.size())) ||
      msg.body().size() > kMaxStateBody || !body.ParseFromString(msg.body()) || body.needs_size() > kMaxStateEntries ||
      body.latencies_size() > kMaxStateEntries || body.gaps_size() > kMaxStateEntries) {
    disconnect(p, DisconnectReason::protocol_error, "malformed neighbour_state", now);
    return;
  }
  if (body.seq() <= p.state_seq) {
    ++m_metrics.states_stale;
    return;
  }
  bool valid = false;
  if (auto sig = core::RecoverableSignature::parse(as_bytes(msg.signature()))) {
    auto digest = state_digest(msg.body());
    if (m_options.state_recover) {
      auto signer = m_options.state_recover(digest, *sig);
      valid = signer && *signer == *p.address;
    } else {
      auto pub = core::recover_public_key(digest, *sig);
      valid = pub && pub->address() == *p.address;
    }
  }
  if (valid) p.state_seq = body.seq();
  NeighbourClaims c;
  c.seq = body.seq();
  c.unix_ms = body.unix_ms();
  c.capacity_kbps = body.capacity_kbps();
  c.load_pct = body.load_pct();
  c.buffer_health_ms = body.buffer_health_ms();
  if (!body.quote_wei_per_mb().empty()) {
    auto q = core::Amount::from_decimal_wei(body.quote_wei_per_mb());
    if (!q) {
      disconnect(p, DisconnectReason::protocol_error, "neighbour_state: bad quote", now);
      return;
    }
    c.quote_wei_per_mb = *q;
    c.has_quote = true;
  }
  for (const auto& n : body.needs()) {
    if (n.size() == 32) c.needs.push_back(core::to_hex(as_bytes(n), false));
  }
  for (const auto& l : body.latencies()) {
    if (l.stream_id().size() != 32) continue;
    Hash256 id;
    std::memcpy(id.data(), l.stream_id().data(), 32);
    c.stream_latency_ms[id] = l.latency_ms();
  }
  if (m_agent->empathy.on_state(*p.address, c, valid, wall_ms(now))) {
    shun_peer(p.conn, "forged neighbour_state (signature is not " + p.address->to_checksum_hex() + "'s)", now);
    return;
  }
  if (valid) {
    for (const auto& g : body.gaps()) {
      if (g.stream_id().size() != 32) continue;
      core::StreamId id{};
      std::memcpy(id.data(), g.stream_id().data(), 32);
      m_streams->on_upstream_gaps(p.conn, *p.address, id, g.missing());
    }
  }
}

void Node::reflect(Timestamp now) {
  const AgentOptions& ao = m_options.agent_config;
  m_next_reflect = now + ao.reflect_interval;
  int64_t ms = wall_ms(now);
  double secs = std::max(1e-3, to_seconds(now - m_last_reflect));
  m_last_reflect = now;
  if (m_agent->memory.neighbours().size() > m_options.max_profiles) {
    std::set<core::Address> connected;
    for (const auto& [id, p] : m_peers) {
      if (p->address) connected.insert(*p->address);
    }
    m_agent->memory.prune(m_options.max_profiles, connected);
  }

  // Observe: self metrics.
  SelfMetrics& self = m_agent->memory.self();
  uint64_t out = m_metrics.out.bytes_of(static_cast<uint16_t>(core::MediaFrameType::part));
  self.upload_used_kbps = static_cast<double>(out - m_part_bytes_out_at_reflect) * 8 / 1000 / secs;
  m_part_bytes_out_at_reflect = out;
  self.upload_capacity_kbps = static_cast<double>(m_agent->economics.options().capacity_kbps);
  self.load_pct = self.upload_capacity_kbps > 0 ? 100.0 * self.upload_used_kbps / self.upload_capacity_kbps : 0.0;
  self.queue_bytes = 0;
  for (const auto& [id, p] : m_peers) self.queue_bytes += p->queued_bytes;
  self.subscribers = 0;
  for (const auto& [id, s] : m_streams->streams()) self.subscribers += s.subscribers.size();

  // Learn: the load predicted last time against the load now.
  if (m_load_prediction) m_agent->memory.outcome(*m_load_prediction, self.load_pct);
  m_load_ewma.add(self.load_pct, 0.3);
  m_load_prediction = m_agent->memory.predict("load_pct", "self", "quote", m_load_ewma.mean, ms,
                                              ms + to_us(Timestamp(ao.reflect_interval)) / 1000);

  // Economics and empathy.
  m_agent->economics.set_overprice(misbehaving(now) ? m_options.misbehave.overprice : 1.0);
  m_agent->economics.update_quote();
  m_agent->empathy.evaluate(m_agent->economics.current_quote(), now, ms);
  for (auto& [id, p] : m_peers) {
    if (p->state == Peer::State::established && m_agent->empathy.shunned(*p->address, ms)) {
      disconnect(*p, DisconnectReason::shunned, m_agent->memory.find(*p->address)->reason, now);
    }
  }

  // Routes: learn from the last window's outcomes, re-choose (the router asks
  // the propagation engine), and predict the next window for the route taken.
  auto learn = [&](const Stream& s, const Stream::Window& window) {
    RoutePredictions& rp = m_route_predictions[s.id];
    if (rp.latency && window.parts > 0)
      m_agent->memory.outcome(*rp.latency, window.latency_sum / static_cast<double>(window.parts));
    if (rp.on_time && window.expected > 0) {
      m_agent->memory.outcome(*rp.on_time, static_cast<double>(window.on_time) / static_cast<double>(window.expected));
    }
    rp = {};
  };
  auto predict = [&](const Stream& s) {
    const auto& routes = m_agent->propagation.routes();
    auto rit = routes.find(s.id);
    if (rit == routes.end() || !s.upstream) return;
    RoutePredictions& rp = m_route_predictions[s.id];
    for (const auto& c : rit->second.candidates) {
      if (c.conn != *s.upstream) continue;
      std::string subject = core::to_hex(s.id, false).substr(0, 8) + " via " + c.address.to_checksum_hex();
      std::string action =
          rit->second.last_switch_ms >= ms - to_us(Timestamp(ao.reflect_interval)) / 1000 ? "switch" : "keep";
      int64_t due = ms + to_us(Timestamp(ao.reflect_interval)) / 1000;
      rp.latency = m_agent->memory.predict("route_latency_ms", subject, action, c.predicted_latency_ms, ms, due);
      rp.on_time = m_agent->memory.predict("route_on_time", subject, action, c.delivery, ms, due);
    }
  };
  m_streams->reflect_routes(now, learn, predict);
  if (now >= m_next_snapshot) {
    m_next_snapshot = now + ao.snapshot_interval;
    m_snapshot_due = true;
  }
}

} // namespace openstreaming::agent

// ---- Payments (docs/payments.md) ----------------------------------------------------

namespace openstreaming::agent {

void Node::meter_served(ConnId conn, uint64_t bytes) {
  auto addr = address_of(conn);
  if (!addr) return;
  m_agent->economics.served(*addr, bytes, m_payments->served(*addr, bytes));
}

void Node::meter_received(ConnId conn, const core::Address& from, uint64_t bytes) {
  m_agent->economics.received(from, bytes, m_payments->received(from, bytes));
  send_tickets(conn, from);
}

void Node::on_stream_erased(const core::StreamId& id) {
  m_route_predictions.erase(id);
  m_agent->propagation.forget(id);
}

bool Node::payment_overdue(ConnId conn) const {
  if (!m_payments->enabled()) return false;
  auto addr = address_of(conn);
  return addr && m_payments->overdue(*addr);
}

void Node::note_overdue_refusal(ConnId conn) {
  if (auto addr = address_of(conn)) {
    m_payments->note_overdue_refusal(*addr);
    m_events.push_back(
        PaymentNote{"payments: " + addr->to_checksum_hex() +
                    " owes more than the credit limit: its subscriptions are refused (payment_overdue)"});
  }
}

void Node::note_unsolicited(ConnId conn, uint16_t type, Timestamp now) {
  ++m_metrics.frames_unsolicited[core::frame_type_name(type)];
  auto addr = address_of(conn);
  if (!addr) return;
  if (m_agent->empathy.on_unsolicited(*addr, wall_ms(now))) {
    shun_peer(conn, "sent frames we never asked for (" + std::string(core::frame_type_name(type)) + ")", now);
  }
}

void Node::agree_charge(ConnId conn, const core::Amount& price_per_mb) {
  if (auto addr = address_of(conn)) m_payments->agree_charge(*addr, price_per_mb);
}

void Node::agree_price(ConnId conn, const core::Amount& price_per_mb) {
  if (auto addr = address_of(conn)) m_payments->agree_price(*addr, price_per_mb);
}

void Node::send_tickets(ConnId conn, const core::Address& payee) {
  auto tickets = m_payments->tickets_due(payee);
  if (tickets.empty()) return;
  U256 seed = m_payments->relations().at(payee).params->seed;
  for (std::size_t i = 0; i < tickets.size(); i += kMaxTicketsPerFrame) {
    std::vector<pay::SignedTicket> chunk(
        tickets.begin() + static_cast<std::ptrdiff_t>(i),
        tickets.begin() + static_cast<std::ptrdiff_t>(std::min(tickets.size(), i + kMaxTicketsPerFrame)));
    send_app_frame(conn, tickets_frame(seed, chunk));
  }
}

void Node::pay_due() {
  for (auto& [id, p] : m_peers) {
    if (p->state == Peer::State::established && p->address) send_tickets(id, *p->address);
  }
}

std::vector<core::Address> Node::ledger_watch() const {
  return m_payments->watched(established_addresses(m_peers));
}

void Node::offer_ticket_params(Timestamp now) {
  (void)now;
  if (!m_payments->enabled() || !m_payments->ready()) return;
  for (ConnId conn : m_streams->subscriber_conns()) {
    auto addr = address_of(conn);
    if (!addr) continue;
    U256 seed = m_env.random().next_u64();
    if (auto params = m_payments->params_due(*addr, seed)) {
      send_app_frame(conn, ticket_params_frame(*params, m_payments->relations().at(*addr).price_charged));
    }
  }
}

void Node::on_ticket_params(Peer& p, const core::Frame& f, Timestamp now) {
  auto params = parse_ticket_params(f);
  if (!params) {
    disconnect(p, DisconnectReason::protocol_error, "malformed ticket_params", now);
    return;
  }
  if (!m_payments->owes(*p.address)) { // we never accepted a price from it: nothing to pay with them
    note_unsolicited(p.conn, f.type, now);
    return;
  }
  if (auto ok = m_payments->on_params(*p.address, *params); !ok) {
    m_events.push_back(PaymentNote{"payments: " + p.address->to_checksum_hex() + ": " + ok.error().message});
    return;
  }
  send_tickets(p.conn, *p.address);
}

void Node::on_tickets(Peer& p, const core::Frame& f, Timestamp now) {
  auto batch = parse_tickets(f);
  if (!batch) {
    disconnect(p, DisconnectReason::protocol_error, "malformed tickets", now);
    return;
  }
  if (auto r = m_payments->relations().find(*p.address);
      r == m_payments->relations().end() || r->second.price_charged.wei() == 0) {
    note_unsolicited(p.conn, f.type, now); // we never charged it: not a payer of ours
    return;
  }
  std::size_t rejected = m_payments->on_tickets(*p.address, batch->seed, batch->tickets);
  if (rejected > 0) {
    const auto& rel = m_payments->relations().at(*p.address);
    m_events.push_back(PaymentNote{"payments: " + std::to_string(rejected) + " ticket(s) from " +
                                   p.address->to_checksum_hex() + " rejected: " + rel.last_error});
  }
}

} // namespace openstreaming::agent
