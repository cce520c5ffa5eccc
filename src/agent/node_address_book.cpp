// The node's address book: whom to dial, when to try again (docs/protocol.md).
#include "agent/node_peer.h"

#include <algorithm>

namespace openstreaming::agent {

std::vector<Node::BookCandidate> Node::dial_candidates(Timestamp now) {
  std::set<std::string> connected_endpoints;
  std::set<core::Address> connected_addresses;
  for (auto& [id, p] : m_peers) {
    if (p->closing()) continue;
    if (p->direction == Direction::outbound) connected_endpoints.insert(p->remote.to_string());
    if (!p->listen_endpoint.empty()) connected_endpoints.insert(p->listen_endpoint);
    if (p->address) connected_addresses.insert(*p->address);
  }
  std::vector<BookCandidate> candidates;
  for (auto& [ep, entry] : m_book) {
    if (entry.next_attempt > now || (m_listen && ep == *m_listen)) continue;
    if (!entry.bootstrap && !m_options.peer_exchange) continue;
    if (connected_endpoints.count(ep.to_string())) continue;
    if (entry.address && (connected_addresses.count(*entry.address) || *entry.address == m_address)) continue;
    if (entry.address && m_agent->empathy.shunned(*entry.address, wall_ms(now))) continue;
    candidates.push_back({&ep, &entry});
  }
  // In random order, so nodes spread out.
  for (std::size_t i = candidates.size(); i > 1; --i) {
    std::swap(candidates[i - 1], candidates[m_env.random().uniform(i)]);
  }
  return candidates;
}

ConnId Node::dial(const core::Endpoint& ep, BookEntry& entry, Timestamp now) {
  ConnId conn = add_peer(Direction::outbound, ep, now).conn;
  // Until the result arrives, do not pick this endpoint again.
  entry.next_attempt = now + m_options.handshake_timeout;
  m_actions.push_back(ConnectRequest{conn, ep});
  return conn;
}

void Node::dial_more(Timestamp now) {
  std::size_t live = 0, dialing = 0;
  for (auto& [id, p] : m_peers) {
    if (p->closing()) continue;
    ++live;
    if (p->direction == Direction::outbound && p->state != Peer::State::established) ++dialing;
  }
  if (live >= m_options.target_peers || dialing >= m_options.max_concurrent_dials) return;
  std::size_t slots = std::min(m_options.target_peers - live, m_options.max_concurrent_dials - dialing);
  auto candidates = dial_candidates(now);
  // Bootstrap first, then the fewest failures (ties stay in random order).
  std::stable_sort(candidates.begin(), candidates.end(), [](const auto& a, const auto& b) {
    if (a.entry->bootstrap != b.entry->bootstrap) return a.entry->bootstrap;
    return a.entry->failures < b.entry->failures;
  });
  for (std::size_t i = 0; i < candidates.size() && i < slots; ++i)
    dial(*candidates[i].endpoint, *candidates[i].entry, now);
}

void Node::defer_redial(const Peer& p, Duration d, Timestamp now) {
  auto ep = core::Endpoint::parse(p.advertised());
  if (!ep) return;
  auto it = m_book.find(*ep);
  if (it != m_book.end()) it->second.next_attempt = std::max(it->second.next_attempt, now + d);
}

void Node::learn(const core::Endpoint& ep, std::optional<core::Address> addr, bool bootstrap) {
  auto it = m_book.find(ep);
  if (it == m_book.end()) {
    if (m_book.size() >= m_options.address_book_limit) {
      // Evict the oldest learned (never a bootstrap) entry.
      auto victim = m_book.end();
      for (auto jt = m_book.begin(); jt != m_book.end(); ++jt) {
        if (!jt->second.bootstrap && (victim == m_book.end() || jt->second.seq < victim->second.seq)) victim = jt;
      }
      if (victim == m_book.end()) return;
      m_book.erase(victim);
    }
    it = m_book.emplace(ep, BookEntry{}).first;
    it->second.seq = ++m_book_seq;
  }
  if (bootstrap) it->second.bootstrap = true;
  if (addr) it->second.address = addr;
}

void Node::note_dial_result(const core::Endpoint& ep, bool established, Timestamp now) {
  auto it = m_book.find(ep);
  if (it == m_book.end()) return;
  BookEntry& e = it->second;
  if (established) {
    e.failures = 0;
    e.next_attempt = now;
    return;
  }
  ++e.failures;
  e.next_attempt = now + backoff(e.failures);
  if (!e.bootstrap && e.failures >= 6) m_book.erase(it); // learned hints that keep failing are dropped
}

Duration Node::backoff(uint32_t failures) {
  // Exponential with "equal jitter": uniform in [d/2, d], d = base * 2^(failures-1), capped.
  int shift = static_cast<int>(std::min<uint32_t>(failures == 0 ? 0 : failures - 1, 20));
  Duration d = std::min<Duration>(m_options.reconnect_base * (int64_t{1} << shift), m_options.reconnect_max);
  Duration half = d / 2;
  return half + Duration(static_cast<int64_t>(m_env.random().uniform(static_cast<uint64_t>(half.count()) + 1)));
}

} // namespace openstreaming::agent
