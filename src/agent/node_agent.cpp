// The node's side of the agent: signed neighbour states out and in, and the
// reflect step (the agent's own loop is Agent::reflect in agent.cpp; routes are
// reflected by the router with the same memory).
#include "agent/node_peer.h"
#include "core/hex.h"
#include "core/keccak.h"

#include <algorithm>
#include <set>
#include <wire.pb.h>

namespace openstreaming::agent {

namespace wire = openstreaming::wire::v1;

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
    if (s.held_latency.n > 0 && body.latencies_size() < kMaxStateEntries) {
      auto* l = body.add_latencies();
      l->set_stream_id(std::string(id.begin(), id.end()));
      l->set_latency_ms(static_cast<uint32_t>(std::max(0.0, s.held_latency.mean)));
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

  // The agent's own step (agent.cpp): observe, learn, predict, choose.
  Observation obs;
  obs.seconds = secs;
  const uint64_t out = m_metrics.out.bytes_of(static_cast<uint16_t>(core::MediaFrameType::part));
  obs.part_bytes_out = out - m_part_bytes_out_at_reflect;
  m_part_bytes_out_at_reflect = out;
  for (const auto& [id, p] : m_peers) obs.queue_bytes += p->queued_bytes;
  for (const auto& [id, s] : m_streams->streams()) obs.subscribers += s.subscribers.size();
  obs.overprice = misbehaving(now) ? m_options.misbehave.overprice : 1.0;
  obs.neighbours = established_addresses(m_peers);
  const Reflection decided = m_agent->reflect(obs, now, ms);
  for (const auto& shun : decided.shun) {
    for (auto& [id, p] : m_peers) {
      if (p->state == Peer::State::established && p->address == shun.address) {
        disconnect(*p, DisconnectReason::shunned, shun.reason, now);
      }
    }
  }

  // Routes: learn from the last window's outcomes, re-choose (the router asks
  // the propagation engine), and predict the next window for the route taken.
  double served = 1.0;
  auto learn = [&](const Stream& s, const Stream::Window& window) {
    if (s.wanted && !s.producer && !s.ended() && !s.upstream) served = 0; // wanted and no route to it
    if (s.wanted && window.expected > 0)
      served = std::min(served, static_cast<double>(window.on_time) / static_cast<double>(window.expected));
    RoutePredictions& rp = m_route_predictions[s.id];
    if (rp.latency && window.parts > 0)
      m_agent->memory.outcome(*rp.latency, window.latency_sum / static_cast<double>(window.parts));
    if (rp.on_time && window.expected > 0) {
      m_agent->memory.outcome(*rp.on_time, static_cast<double>(window.on_time) / static_cast<double>(window.expected));
    }
    // The route score's weights learn from what the route delivered (propagation.h).
    if (rp.taken && window.expected > 0 && window.parts > 0) {
      double on_time = std::min(1.0, static_cast<double>(window.on_time) / static_cast<double>(window.expected));
      double latency = window.latency_sum / static_cast<double>(window.parts);
      double ref = m_agent->propagation.options().latency_ref_ms;
      m_agent->propagation.learn(*rp.taken, on_time / (1.0 + std::max(0.0, latency) / ref));
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
      rp.on_time = m_agent->memory.predict_calibrated("route_on_time", subject, action, c.delivery, ms, due);
      rp.taken = c;
    }
  };
  m_streams->reflect_routes(now, learn, predict);
  m_served_ratio = std::min(1.0, served);
  if (now >= m_next_snapshot) {
    m_next_snapshot = now + ao.snapshot_interval;
    m_snapshot_due = true;
  }
}

} // namespace openstreaming::agent
