// What a NIP-53 kind-30311 live-activity event says about an OpenStreaming
// stream, read and checked the same way wherever one arrives: from a mesh
// neighbour, from a Nostr relay, on the command line.
//
// read_stream_announcement checks the binding between the Nostr key and the
// stream (the x-only key that signed is the broadcaster's Ethereum address's
// key, and the stream id is make_stream_id(address, d)); it does not check the
// signature: verify_event does (the simulator replaces it with a cost model).
#pragma once

#include "core/address.h"
#include "core/nostr.h"
#include "core/part.h"
#include "core/result.h"

#include <optional>
#include <string>

namespace openstreaming::core {

struct StreamAnnouncement {
  std::string name;       // the d tag
  Address broadcaster;    // openstreaming:address, bound to the event's key
  StreamId id{};          // openstreaming:stream, = make_stream_id(broadcaster, name)
  std::string title;      // "title" (empty if none)
  std::string status;     // "status": live, ended (empty if none)
  std::string streaming;  // "streaming": an HLS URL (empty if none)
  std::string renditions; // openstreaming:renditions (empty if none)
  std::string endpoint;   // openstreaming:endpoint: the broadcaster's P2P HOST:PORT (empty if none)
};

// True when the x-only BIP-340 key `xonly_hex` is the key of `claimed`.
bool xonly_matches_address(const std::string& xonly_hex, const Address& claimed);

// Errc::invalid_input with what is missing or does not match.
Result<StreamAnnouncement> read_stream_announcement(const NostrEvent& event);

} // namespace openstreaming::core
