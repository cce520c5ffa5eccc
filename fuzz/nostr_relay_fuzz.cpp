// What a Nostr relay sends (src/core/nostr_relay.h): relay messages, the NIP-11
// document, and relay URLs from configuration. Nothing may crash, hang or
// grow without bound; a parsed message must describe itself consistently.
#include "core/nostr_relay.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  using namespace openstreaming::core;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto m = parse_relay_message(text)) {
    if (auto* ev = std::get_if<RelayEvent>(&*m)) {
      if (ev->subscription.size() > kNostrMaxSubscriptionId) std::abort();
      (void)client_event_message(ev->event); // re-serialising what we accepted never throws
    }
  }
  auto doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_discarded()) {
    if (auto l = relay_info_from_json(doc)) {
      const RelayLimits ours;
      if (l->max_message_length > ours.max_message_length || l->max_limit > ours.max_limit) std::abort();
    }
  }
  if (auto u = RelayUrl::parse(text)) {
    if (u->host.empty() || u->port == 0) std::abort();
  }
  return 0;
}
