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
#include <utility>
#include <vector>

namespace openstreaming::pay {

struct Winner {
  SignedTicket ticket;
  Hash256 recipient_rand{};
  Hash256 hash{}; // the EIP-712 signing hash: the ledger's key for "used"
};

class WinnersQueue {
public:
  // `min_age`: a winner is due once its creation round is this many rounds old.
  explicit WinnersQueue(uint64_t valid_rounds = 2, uint64_t min_age = 1)
      : m_valid_rounds(valid_rounds), m_min_age(min_age) {}

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
  bool contains(const Hash256& hash) const { return m_queue.count(hash) > 0; }
  // Hashes of the winners dropped as too old since the last call (to delete them from a store).
  std::vector<Hash256> take_dropped() { return std::exchange(m_dropped, {}); }

private:
  uint64_t m_valid_rounds;
  uint64_t m_min_age;
  std::map<Hash256, Winner> m_queue;
  uint64_t m_expired = 0;
  std::vector<Hash256> m_dropped;
};

} // namespace openstreaming::pay
