// The payment frames (24 ticket_params, 25 tickets) on arbitrary header bytes:
// never crash; whatever parses re-encodes and parses back to the same values.
#include "agent/payments/payment_frames.h"

#include <cstdlib>

using namespace openstreaming;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  core::Frame f;
  f.header.assign(data, data + size);
  if (auto p = agent::parse_ticket_params(f)) {
    auto again = agent::parse_ticket_params(agent::ticket_params_frame(*p, core::Amount()));
    if (!again || again->recipient != p->recipient || again->face_value != p->face_value ||
        again->win_prob != p->win_prob || again->seed != p->seed || again->creation_round != p->creation_round ||
        again->recipient_rand_hash != p->recipient_rand_hash ||
        again->creation_round_block_hash != p->creation_round_block_hash) {
      std::abort();
    }
  }
  if (auto b = agent::parse_tickets(f)) {
    auto again = agent::parse_tickets(agent::tickets_frame(b->seed, b->tickets));
    if (!again || again->seed != b->seed || again->tickets.size() != b->tickets.size()) std::abort();
    for (std::size_t i = 0; i < b->tickets.size(); ++i) {
      if (!(again->tickets[i].ticket == b->tickets[i].ticket) ||
          !(again->tickets[i].signature == b->tickets[i].signature))
        std::abort();
    }
  }
  return 0;
}
