// The JSON decoders of untrusted input, on arbitrary bytes: a Nostr event (from
// relays and neighbours: event_from_json, then the signature check), a
// ticket (ledger redemptions and the tickets API), a ledger transaction and a
// genesis. The first byte picks the decoder. Each must return a value or an
// error, never crash or throw; a decoded ticket or transaction re-encodes to
// JSON that decodes to the same thing (our own encoder is the invariant).
#include "core/nostr.h"
#include "ledger/state.h"
#include "pay/ticket.h"

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <string_view>

using namespace openstreaming;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  auto j = nlohmann::json::parse(std::string_view(reinterpret_cast<const char*>(data + 1), size - 1), nullptr,
                                 /*allow_exceptions=*/false);
  if (j.is_discarded()) return 0;
  switch (data[0] % 4) {
  case 0:
    if (auto ev = core::event_from_json(j)) (void)core::verify_event(*ev);
    break;
  case 1:
    if (auto t = pay::Ticket::from_json(j)) {
      auto again = pay::Ticket::from_json(t->to_json());
      if (!again || again->to_json() != t->to_json()) std::abort();
    }
    break;
  case 2:
    if (auto tx = ledger::Tx::from_json(j)) {
      auto again = ledger::Tx::from_json(tx->to_json());
      if (!again || again->to_json() != tx->to_json()) std::abort();
    }
    break;
  default:
    (void)ledger::Genesis::from_json(j);
    break;
  }
  return 0;
}
