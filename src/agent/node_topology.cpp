// Local topology adaptation (TopologyOptions in agent.h, docs/agent.md): the
// node judges its neighbours by the media they carried for it, predicts what
// each will carry next, and swaps the one predicted least useful for a random
// candidate from its address book.
#include "agent/node_peer.h"

#include <charconv>
#include <cmath>

namespace openstreaming::agent {

namespace {
constexpr double kShareAlpha = 0.5; // each window's share weighs half of what the node predicts next

std::string percent(double x) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, 100 * x, std::chars_format::fixed, 1);
  return std::string(buf, r.ptr) + "%";
}
} // namespace

void Node::adapt_topology(Timestamp now) {
  const TopologyOptions& o = m_options.agent_config.topology;
  m_next_topology = now + o.interval;
  const int64_t ms = wall_ms(now);
  const int64_t due_ms = ms + to_us(Timestamp(o.interval)) / 1000;

  // Media bytes (served to it plus received from it) each neighbour carried this window.
  std::vector<std::pair<Peer*, uint64_t>> carried;
  uint64_t total = 0;
  for (auto& [id, p] : m_peers) {
    if (p->state != Peer::State::established || !p->address) continue;
    const NeighbourProfile* prof = m_agent->memory.find(*p->address);
    uint64_t media = prof ? prof->bytes_served + prof->bytes_received : 0;
    if (!p->judged) { // its first window starts now (the profile may hold bytes from an earlier session)
      p->judged = true;
      p->media_at_judgement = media;
      continue;
    }
    uint64_t d = media >= p->media_at_judgement ? media - p->media_at_judgement : 0;
    p->media_at_judgement = media;
    carried.emplace_back(p.get(), d);
    total += d;
  }
  if (total == 0) {
    // No media through this node: no neighbour's usefulness is measurable, and
    // the overlay does not matter to it. Open predictions are dropped unjudged.
    for (auto& [p, d] : carried) p->share_prediction.reset();
    return;
  }

  std::set<ConnId> in_use; // upstreams, backups, second feeds and subscribers of any stream
  for (const auto& [sid, s] : m_streams->streams()) {
    for (const auto& c : {s.upstream, s.backup, s.second}) {
      if (c) in_use.insert(*c);
    }
    in_use.insert(s.subscribers.begin(), s.subscribers.end());
  }

  // Learn (last window's predictions against the shares seen), predict the
  // next window, and find the neighbour predicted least useful.
  Peer* worst = nullptr;
  double worst_predicted = 0, worst_share = 0;
  std::size_t diverse = 0;
  for (auto& [p, d] : carried) {
    double share = static_cast<double>(d) / static_cast<double>(total);
    if (p->share_prediction) m_agent->memory.outcome(*p->share_prediction, share);
    p->share_prediction.reset();
    p->share.add(share, kShareAlpha);
    const double predicted = p->share.mean;
    if (p->diverse) ++diverse;
    bool judged = !p->diverse && now - p->established_at >= o.min_age && !in_use.count(p->conn);
    if (judged && predicted < o.useless_share && (!worst || predicted < worst_predicted)) {
      worst = p;
      worst_predicted = predicted;
      worst_share = share;
    }
    p->share_prediction =
        m_agent->memory.predict("neighbour_share", p->address->to_checksum_hex(), "keep", predicted, ms, due_ms);
  }

  // Replace only with a reason to: diversity slots to fill, or a wanted
  // stream served worse than it should be. A well-served node keeps its peers.
  const bool fill_diverse = diverse < o.diverse_peers;
  if (!worst || !(fill_diverse || m_served_ratio < o.served_below)) return;
  auto candidates = dial_candidates(now);
  if (candidates.empty()) return;
  const BookCandidate pick = candidates.front(); // random order

  worst->share_prediction.reset();
  m_agent->memory.predict("neighbour_share", worst->address->to_checksum_hex(), "replace", worst_predicted, ms, due_ms);
  ++m_metrics.neighbours_replaced;
  defer_redial(*worst, o.replaced_backoff, now);
  disconnect(*worst, DisconnectReason::replaced,
             "replaced: carried " + percent(worst_share) + " of our media, predicted " + percent(worst_predicted), now);
  ConnId conn = dial(*pick.endpoint, *pick.entry, now);
  m_peers.at(conn)->diverse = fill_diverse;
}

} // namespace openstreaming::agent
