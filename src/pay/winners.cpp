#include "pay/winners.h"

#include <algorithm>

namespace openstreaming::pay {

void WinnersQueue::add(Winner w) {
  m_queue.emplace(w.hash, std::move(w));
}

std::vector<Winner> WinnersQueue::due(uint64_t current_round, std::size_t max) {
  std::vector<Winner> out;
  for (auto it = m_queue.begin(); it != m_queue.end();) {
    auto created = static_cast<uint64_t>(it->second.ticket.ticket.creation_round);
    if (created + m_valid_rounds < current_round) { // too old for the ledger: lost
      ++m_expired;
      m_dropped.push_back(it->first);
      it = m_queue.erase(it);
      continue;
    }
    if (created + m_min_age <= current_round && out.size() < max) out.push_back(it->second);
    ++it;
  }
  std::sort(out.begin(), out.end(), [](const Winner& a, const Winner& b) {
    return a.ticket.ticket.creation_round < b.ticket.ticket.creation_round;
  });
  return out;
}

void WinnersQueue::settled(const Hash256& hash, bool retry_later) {
  if (!retry_later) m_queue.erase(hash);
}

core::Amount WinnersQueue::pending_from(const core::Address& sender) const {
  core::U256 sum = 0;
  for (const auto& [h, w] : m_queue) {
    if (w.ticket.ticket.sender == sender) sum += w.ticket.ticket.face_value;
  }
  return core::Amount(sum);
}

std::vector<Winner> WinnersQueue::pending() const {
  std::vector<Winner> out;
  for (const auto& [h, w] : m_queue) out.push_back(w);
  return out;
}

} // namespace openstreaming::pay
