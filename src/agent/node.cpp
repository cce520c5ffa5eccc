#include "agent/node.h"

#include "agent/identity.h"
#include "agent/node_peer.h"
#include "agent/payments/payment_frames.h"
#include "agent/stream_frames.h"
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
  case DisconnectReason::replaced:
    return "replaced";
  }
  return "unknown";
}

DisconnectReason reason_from_wire(uint32_t v) {
  if (v <= static_cast<uint32_t>(DisconnectReason::replaced)) return static_cast<DisconnectReason>(v);
  return DisconnectReason::protocol_error;
}

namespace {

constexpr std::size_t kMaxPeerRecords = 32;
constexpr std::size_t kMaxHelloStrings = 16;

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
  return *agent::stream_frames::address_from_bytes(bytes); // callers check the length
}

} // namespace

namespace {

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
  m_next_topology = now + m_options.agent_config.topology.interval;
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

Node::Peer& Node::add_peer(Direction direction, const core::Endpoint& remote, Timestamp now) {
  ConnId conn = new_conn_id();
  auto peer = std::make_unique<Peer>();
  peer->conn = conn;
  peer->direction = direction;
  peer->remote = remote;
  peer->created = now;
  return *m_peers.emplace(conn, std::move(peer)).first->second;
}

ConnId Node::handle_accepted(const core::Endpoint& remote, const Hash256& tls_exporter, Timestamp now) {
  Peer& p = add_peer(Direction::inbound, remote, now);
  const ConnId conn = p.conn;
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
    // A neighbour that swapped us for another does not want us back soon.
    if (reason == DisconnectReason::replaced) defer_redial(*p, m_options.agent_config.topology.replaced_backoff, now);
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
    // It worked before: try again soon rather than after a long backoff —
    // unless a later attempt was already set (a peer that replaced us).
    if (auto it = m_book.find(p->remote); it != m_book.end()) {
      it->second.next_attempt = std::max(it->second.next_attempt, now + backoff(1));
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
  if (m_options.agent_config.topology.enabled && now >= m_next_topology) adapt_topology(now);
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

std::vector<PeerInfo> Node::peers(Timestamp now) const {
  std::vector<PeerInfo> out;
  for (const auto& [id, p] : m_peers) {
    if (p->state != Peer::State::established) continue;
    out.push_back(PeerInfo{id, *p->address, p->remote, p->listen_endpoint, p->direction, p->roles, to_ms(p->srtt),
                           p->bytes_in, p->bytes_out, to_seconds(now - p->established_at)});
  }
  return out;
}

} // namespace openstreaming::agent
