// WinnersQueue: a recipient's winning tickets between receipt and redemption
// (docs/ledger.md). No I/O: durability is the caller's (it persists `pending()`
// through a store before acknowledging a ticket, so a crash loses none).
//
// Tickets are redeemed in batches once their parameters have expired (the
// creation round is over: the sender gets fresh parameters, so nothing more
// joins that round) and before they are too old to redeem (creation round +
// valid rounds). A ticket the ledger refused for lack of funds stays queued
// and is retried while valid; one refused for any other reason, or paid, leaves.
#pragma once

#include "pay/ticket.h"

#include <map>
#include <vector>

namespace openstreaming::pay {

struct Winner {
  SignedTicket ticket;
  Hash256 recipient_rand{};
  Hash256 hash{}; // the EIP-712 signing hash: the ledger's key for "used"
};

class WinnersQueue {
public:
  explicit WinnersQueue(uint64_t valid_rounds = 2) : m_valid_rounds(valid_rounds) {}

  void add(Winner w);
  // The winners to redeem now (at most `max`), oldest first; expired ones are dropped.
  std::vector<Winner> due(uint64_t current_round, std::size_t max = 256);
  // The ledger's answer for one ticket: paid (or refused for good) removes it.
  void settled(const Hash256& hash, bool retry_later);
  // Face value of the winners still queued from `sender` (a receiver's "pending").
  core::Amount pending_from(const core::Address& sender) const;
  std::size_t size() const { return m_queue.size(); }
  uint64_t expired() const { return m_expired; }
  std::vector<Winner> pending() const;

private:
  uint64_t m_valid_rounds;
  std::map<Hash256, Winner> m_queue;
  uint64_t m_expired = 0;
};

} // namespace openstreaming::pay
