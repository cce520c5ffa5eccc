// Finding a stream's broadcaster through Nostr: the pure half. run_node asks
// the relays (api/nostr_client.h); this picks the endpoints to dial from what
// they answered.
#pragma once

#include "core/endpoint.h"
#include "core/nostr.h"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace openstreaming::daemon {

// The relay filter that finds the announcements of `watch` (a stream name, or
// a 64-hex stream id, which no relay can filter on: then every recent one).
nlohmann::json discovery_filter(const std::string& watch);

// The P2P endpoints of the broadcasters of `watch` among `events` (verified
// kind-30311 events): only announcements bound to their broadcaster
// (core::read_stream_announcement), naming `watch` as their d tag or stream
// id, not ended, with a parsable openstreaming:endpoint. Newest first, no
// duplicates.
std::vector<core::Endpoint> broadcaster_endpoints(const std::vector<core::NostrEvent>& events,
                                                  const std::string& watch);

} // namespace openstreaming::daemon
