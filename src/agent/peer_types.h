// Vocabulary shared by the node core and the runtimes that drive it.
#pragma once

#include "core/address.h"
#include "core/endpoint.h"
#include "core/frame.h"

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

namespace openstreaming::agent {

using ConnId = uint64_t;

enum class Direction { inbound, outbound };
inline const char* direction_name(Direction d) {
  return d == Direction::inbound ? "inbound" : "outbound";
}

// Sent in the Disconnect frame and counted in /metrics. Values are on the wire: never renumber.
enum class DisconnectReason : uint32_t {
  none = 0,
  shutdown = 1,        // the sender is stopping
  protocol_error = 2,  // malformed message, or a frame out of order
  oversized_frame = 3, // frame larger than the limit
  bad_frame = 4,       // framing broken (bad lengths)
  unknown_frame_type = 5,
  incompatible_version = 6,  // no protocol version in common
  identity_proof_failed = 7, // the Hello's signature does not prove its address
  handshake_timeout = 8,
  idle_timeout = 9, // nothing received for too long
  too_many_peers = 10,
  duplicate_connection = 11, // already connected to this address
  self_connection = 12,
  send_queue_overflow = 13, // the peer does not read fast enough
  transport_closed = 14,    // the connection dropped without a Disconnect
  truncated_frame = 15,     // the connection closed in the middle of a frame
  connect_failed = 16,      // dialing did not produce a connection
  shunned = 17,             // we do not talk to this node for a while (hostile acts)
  rate_limited = 18,        // kept sending control frames faster than NodeOptions::rate_limits allow
  replaced = 19,            // the sender swapped us for a more useful neighbour; do not redial it for a while
};
const char* reason_name(DisconnectReason r);
DisconnectReason reason_from_wire(uint32_t v); // unknown values map to protocol_error

// ---- Outputs polled by the runtime ------------------------------------------

// Send `frame` on `conn`, in order. The runtime reports progress with handle_sent().
struct Transmit {
  ConnId conn;
  core::Frame frame;
};

// Open a TCP+TLS connection to `endpoint`; then handle_connected() or handle_connect_failed() with this id.
struct ConnectRequest {
  ConnId conn;
  core::Endpoint endpoint;
};
// Flush what was transmitted on `conn`, then close it; then handle_closed().
struct CloseRequest {
  ConnId conn;
  DisconnectReason reason;
};
using Action = std::variant<ConnectRequest, CloseRequest>;

// ---- Events (for logs, APIs and tests) --------------------------------------

struct PeerEstablished {
  ConnId conn;
  core::Address address;
  core::Endpoint remote;
  Direction direction;
};
struct PeerClosed {
  ConnId conn;
  std::optional<core::Address> address; // set if the handshake had completed
  DisconnectReason reason;
  bool by_peer = false; // the peer sent Disconnect (or vanished), as opposed to us deciding
  std::string detail;
};
// A frame of an application type the node was told to accept (NodeOptions::app_frame_types),
// from an established peer. Media (parts, announcements) arrives this way.
struct AppFrame {
  ConnId conn;
  core::Address from;
  core::Frame frame;
};
// A part from `from` failed verification and was dropped (blamed on that peer).
struct InvalidPart {
  ConnId conn;
  core::Address from;
  std::string reason; // bad_hash | bad_signature | wrong_producer
  uint64_t total = 0; // invalid parts from anyone so far
};
// Something about payments worth a log line (rejected tickets, refused parameters).
struct PaymentNote {
  std::string text;
};
using Event = std::variant<PeerEstablished, PeerClosed, AppFrame, InvalidPart, PaymentNote>;

} // namespace openstreaming::agent
