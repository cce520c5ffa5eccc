// The client side of the Nostr relay protocol (NIP-01 messages, NIP-11 relay
// information) as pure functions: what we send, what a relay may send back,
// and the limits a relay states. No sockets here; src/net/nostr_client.h
// carries these messages over a WebSocket.
//
// Everything a relay sends is untrusted: parse_relay_message checks the
// message's shape, bounds its size before parsing, and passes an EVENT's event
// through event_from_json (shape only: a caller still verifies its id and
// signature with verify_event). relay_info_from_json reads only the limits we
// honour and ignores the rest of the document.
#pragma once

#include "core/nostr.h"
#include "core/result.h"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace openstreaming::core {

// A relay message longer than this is refused before it is parsed (a
// kNostrMaxContentBytes event with its tags, escaped, fits well within).
inline constexpr std::size_t kNostrMaxRelayMessageBytes = 512 * 1024;
// NIP-01 subscription ids are at most 64 characters.
inline constexpr std::size_t kNostrMaxSubscriptionId = 64;

// A relay's address: ws://HOST[:PORT][/PATH] or wss://... (port 80 / 443 by
// default). A host or path with spaces or control characters is refused: both
// go into the HTTP upgrade request.
struct RelayUrl {
  std::string host;
  uint16_t port = 80;
  std::string target = "/";
  bool tls = false; // wss://
  static Result<RelayUrl> parse(std::string_view url);
  std::string text() const; // scheme://host:port/target
};

// ["EVENT", <event>]
std::string client_event_message(const NostrEvent& event);
// ["REQ", <subscription id>, <filter>]
std::string client_req_message(const std::string& subscription, const nlohmann::json& filter);
// ["CLOSE", <subscription id>]
std::string client_close_message(const std::string& subscription);

struct RelayEvent { // ["EVENT", <subscription id>, <event>]
  std::string subscription;
  NostrEvent event;
};
struct RelayOk { // ["OK", <event id>, <accepted>, <message>]
  std::string event_id;
  bool accepted = false;
  std::string message;
};
struct RelayEose { // ["EOSE", <subscription id>]: stored events sent, live ones follow
  std::string subscription;
};
struct RelayClosed { // ["CLOSED", <subscription id>, <message>]: the relay ended the subscription
  std::string subscription;
  std::string message;
};
struct RelayNotice { // ["NOTICE", <message>]
  std::string message;
};
using RelayMessage = std::variant<RelayEvent, RelayOk, RelayEose, RelayClosed, RelayNotice>;

// Parses one message a relay sent. A message of another type (AUTH, COUNT, one
// a later NIP adds) is Errc::unsupported, which a client may ignore; anything
// malformed is Errc::invalid_input with what was wrong.
Result<RelayMessage> parse_relay_message(std::string_view text);

// The limits of a NIP-11 relay information document ("limitation") we honour.
// A field the relay does not state keeps its default here.
struct RelayLimits {
  std::size_t max_message_length = 128 * 1024; // bytes of one message we send
  std::size_t max_subscriptions = 20;
  std::size_t max_limit = 500; // largest `limit` a filter may ask for
  std::size_t max_event_tags = kNostrMaxTags;
  std::size_t max_content_length = kNostrMaxContentBytes;
  bool auth_required = false;
  bool payment_required = false;
  std::string name; // the relay's stated name (for logs), at most 256 bytes
};
// Reads a NIP-11 document. Not an object, or a limitation field of the wrong
// type, is Errc::invalid_input; numbers are clamped to what we would accept
// from any relay (a relay cannot make us send bigger messages than we would).
Result<RelayLimits> relay_info_from_json(const nlohmann::json& doc);

// Why `event` cannot be sent to a relay with `limits` (empty: it can).
std::optional<std::string> exceeds_limits(const NostrEvent& event, const RelayLimits& limits);

} // namespace openstreaming::core
