// Internal to the node's implementation files (node*.cpp): the session
// record of one connection, the address book entry, and the helpers they share.
// Not part of the agent's interface; nothing outside src/agent includes it.
#pragma once

#include "agent/node.h"

#include <array>
#include <deque>
#include <type_traits>

namespace openstreaming::agent {

using core::Frame;
using core::FrameType;

inline constexpr Duration kCloseGrace = 10s; // a close the runtime never confirmed is forgotten after this

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
  // Topology adaptation: dialled as a diversity pick (not judged), media bytes
  // at the last judgement, the share predicted for the next window.
  bool diverse = false;
  bool judged = false; // its first window has begun
  uint64_t media_at_judgement = 0;
  Ewma share;
  std::optional<uint64_t> share_prediction;

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

// The addresses of the established sessions among `peers`.
template <typename Peers>
inline std::vector<core::Address> established_addresses(const Peers& peers) {
  std::vector<core::Address> connected;
  for (const auto& [id, p] : peers) {
    if (p->state == std::remove_cvref_t<decltype(*p)>::State::established && p->address)
      connected.push_back(*p->address);
  }
  return connected;
}

} // namespace openstreaming::agent
