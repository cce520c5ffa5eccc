// Wire encoding of the payment frames (proto/wire.proto, docs/protocol.md):
// 24 ticket_params (payee → payer) and 25 tickets (payer → payee).
#pragma once

#include "core/frame.h"
#include "pay/tickets.h"

#include <optional>
#include <string>
#include <vector>

namespace openstreaming::agent {

using core::U256;

core::Frame ticket_params_frame(const pay::TicketParams& params, const core::Amount& price_per_mb);
// nullopt for a malformed frame (wrong field sizes, unparsable).
std::optional<pay::TicketParams> parse_ticket_params(const core::Frame& f);

struct TicketBatchMsg {
  U256 seed = 0;
  std::vector<pay::SignedTicket> tickets;
};
inline constexpr std::size_t kMaxTicketsPerFrame = 256;
core::Frame tickets_frame(const U256& seed, const std::vector<pay::SignedTicket>& tickets);
std::optional<TicketBatchMsg> parse_tickets(const core::Frame& f);

} // namespace openstreaming::agent
