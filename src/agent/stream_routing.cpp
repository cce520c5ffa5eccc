// StreamRouter, routing: the distance vector over Have frames, the upstream the
// policy picks (primary, backup, dual feed), subscriptions both ways and the
// agent's reflect step over them.
#include "agent/agent.h"
#include "agent/node_options.h"
#include "agent/stream_frames.h"
#include "agent/streams.h"
#include "core/hex.h"

#include <algorithm>
#include <utility>

namespace openstreaming::agent {

using namespace stream_frames;

bool StreamRouter::on_have(ConnId conn, const Frame& f, Timestamp now) {
  wire::Have have;
  if (!parse(have, f)) return false;
  auto id = stream_id_from(have.stream_id());
  if (!id) return false;
  AdvertisedRoute r;
  r.hops = have.hops() >= kMaxHops ? kNoRoute : have.hops();
  // A path is exactly the advertised distance long: anything else is malformed.
  if (have.path_size() > 0 && (r.hops == kNoRoute || static_cast<uint32_t>(have.path_size()) != r.hops)) return false;
  r.path.reserve(static_cast<std::size_t>(have.path_size()));
  for (const auto& b : have.path()) {
    auto a = address_from_bytes(b);
    if (!a) return false;
    r.path.push_back(*a);
  }
  auto it = m_streams.find(*id);
  if (it == m_streams.end()) return true;
  Stream& s = it->second;
  // An honest sender's chain never holds the sender or any node twice (each
  // node takes no route through itself): such a route is no route.
  if (r.path_known()) {
    auto sorted = r.path;
    std::sort(sorted.begin(), sorted.end());
    auto sender = m_host.address_of(conn);
    if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end() || (sender && r.through(*sender))) {
      r = AdvertisedRoute{};
    }
  }
  const bool unusable = r.hops == kNoRoute || r.through(m_address);
  auto& held = s.haves[conn];
  r.since = held.hops == r.hops && held.path == r.path ? held.since : now;
  held = std::move(r);
  // Re-route now when we have no route, or one we rely on lost the stream or
  // now reaches it through us; any other change waits for the next tick
  // (routes are re-evaluated there anyway; while a tree re-forms, HAVEs come
  // in bursts).
  bool relied_on = conn == s.upstream || conn == s.second || conn == s.backup;
  if (s.hops == kNoRoute || (relied_on && unusable)) route(s, now);
  return true;
}

bool StreamRouter::on_subscribe(ConnId conn, const Frame& f, Timestamp now) {
  wire::Subscribe sub;
  if (!parse(sub, f) || sub.rendition().size() > 32) return false;
  auto id = stream_id_from(sub.stream_id());
  if (!id) return false;
  std::optional<core::Amount> max_price;
  if (!sub.max_price_wei_per_mb().empty()) {
    auto m = core::Amount::from_decimal_wei(sub.max_price_wei_per_mb());
    if (!m) return false;
    max_price = *m;
  }
  auto it = m_streams.find(*id);
  auto reply = [&](bool accepted, const std::string& reason) {
    wire::SubscribeResult r;
    r.set_stream_id(sub.stream_id());
    r.set_rendition(sub.rendition());
    r.set_accepted(accepted);
    r.set_reason(reason);
    r.set_quote_wei_per_mb(m_host.agent().economics.current_quote().to_wei_string());
    m_host.send_app_frame(conn, media_frame(MediaFrameType::subscribe_result, r));
  };
  if (f.type == static_cast<uint16_t>(MediaFrameType::unsubscribe)) {
    if (it != m_streams.end()) {
      it->second.subscribers.erase(conn);
      route(it->second, now);
    }
    return true;
  }
  if (it == m_streams.end()) {
    reply(false, "unknown_stream"); // not announced to us (yet)
    return true;
  }
  Stream& s = it->second;
  const bool fresh = !s.subscribers.count(conn);
  if (fresh && m_host.payment_overdue(conn)) { // pays nothing for what it has had: no more until it does
    reply(false, "payment_overdue");
    return true;
  }
  if (fresh) {
    auto addr = m_host.address_of(conn);
    bool needy = false;
    if (const NeighbourProfile* p = addr ? m_host.agent().memory.find(*addr) : nullptr; p && p->claims) {
      needy = std::find(p->claims->needs.begin(), p->claims->needs.end(), core::to_hex(*id, false)) !=
              p->claims->needs.end();
    }
    double stream_kbps = s.bitrate_kbps.n ? s.bitrate_kbps.mean : 0;
    double used = upload_kbps();
    Admission a = m_host.agent().economics.admit(max_price, needy, used, stream_kbps);
    if (!a.accepted) {
      reply(false, a.reason);
      return true;
    }
    s.subscribers.insert(conn);
  }
  m_host.agree_charge(conn, m_host.agent().economics.current_quote()); // the quote the reply names
  reply(true, "");
  // Backfill only a new subscription: a re-sent Subscribe must not buy
  // megabytes of stored parts for a few bytes, again and again.
  if (fresh && sub.resume())
    resume(s, conn, PartKey{rendition_or_source(sub.rendition()), sub.resume_segment(), sub.resume_part()}, now);
  route(s, now);
  return true;
}

bool StreamRouter::on_subscribe_result(ConnId conn, const Frame& f, Timestamp now) {
  wire::SubscribeResult r;
  if (!parse(r, f) || r.reason().size() > 64 || r.quote_wei_per_mb().size() > 80) return false;
  auto id = stream_id_from(r.stream_id());
  if (!id) return false;
  std::optional<core::Amount> quote;
  if (r.accepted()) {
    auto q = core::Amount::from_decimal_wei(r.quote_wei_per_mb());
    if (!q) return false; // an acceptance must name its price
    quote = *q;
  }
  auto it = m_streams.find(*id);
  auto asked = it == m_streams.end() ? nullptr : [&]() -> Stream::Asked* {
    auto a = it->second.asked.find(conn);
    return a == it->second.asked.end() || a->second.left_at ? nullptr : &a->second;
  }();
  if (!asked) { // we sent it no Subscribe (or cancelled it): its answer sets nothing
    m_host.note_unsolicited(conn, f.type, now);
    return true;
  }
  Stream& s = it->second;
  auto addr = m_host.address_of(conn);
  if (r.accepted()) {
    const auto& limit = m_host.options().agent_config.max_price_wei_per_mb;
    if (!limit || *quote <= *limit) {
      // The price for what this neighbour sends us from now on.
      asked->accepted = true;
      m_host.agree_price(conn, *quote);
      return true;
    }
    // Above what we pay: we never agreed to it (an honest neighbour would have
    // refused us). Cancel, and treat it as a refusal.
    send_subscription(s, conn, false, now);
  }
  s.asked.erase(conn);
  if (addr) m_host.agent().empathy.on_refused(*addr);
  if (s.second == conn) {
    s.second.reset();
  } else if (s.upstream == conn) {
    s.subscribed = false; // it will not send: find another
    leave_upstream(s, now);
  }
  return true;
}

std::set<ConnId> StreamRouter::subscriber_conns() const {
  std::set<ConnId> out;
  for (const auto& [id, s] : m_streams) out.insert(s.subscribers.begin(), s.subscribers.end());
  return out;
}

void StreamRouter::route(Stream& s, Timestamp now) {
  s.routed_at = now;
  std::optional<ConnId> best;
  uint32_t new_hops = kNoRoute;
  std::vector<core::Address> new_path; // empty: no route, the producer's, or unknown
  if (s.producer) {
    new_hops = 0;
  } else {
    std::vector<UpstreamCandidate> candidates, farther;
    std::size_t unfeasible = 0;
    bool reset = false; // the feasibility distance was just lifted while we kept an upstream
    uint32_t nearest = kNoRoute;
    for (const auto& [c, r] : s.haves) nearest = std::min(nearest, r.hops);
    auto candidate = [&](ConnId c, const AdvertisedRoute& r) {
      auto addr = m_host.address_of(c);
      // Never a neighbour we serve this stream to or whose route passes
      // through us (a loop), never one without a proven address. A route
      // whose path is unknown (an older peer on it) may be a loop that counts
      // to infinity: it is taken only within a hop of the nearest.
      if (!addr || s.subscribers.count(c) || r.hops >= kMaxHops - 1 || r.through(m_address)) return;
      if (!r.path_known() && r.hops > nearest + 1) return;
      // The feasibility condition of loop-free distance vectors (Babel's,
      // DUAL's): a new upstream must be nearer than the nearest we have been
      // since the last hold-down. A neighbour that is not may be below us on a
      // path it has not re-advertised yet — two nodes leaving their upstreams
      // at once would each take the other's stale route.
      // Farther ones still serve as the backup (repairs, a second feed): a
      // neighbour whose path is fresh and avoids us cannot loop through us.
      UpstreamCandidate u{c, r.hops, m_host.rtt_ms(c), *addr};
      if (c != s.upstream && r.hops >= s.feasible) {
        ++unfeasible;
        farther.push_back(u);
        return;
      }
      // Leaving an untrusted upstream we still have, after the hold-down: only
      // for a route whose path has stood that long, so it is not a stale one
      // through us (we never retracted, so the nodes below may not have moved).
      if (c != s.upstream && reset && now - r.since < kHoldDown) return;
      candidates.push_back(u);
    };
    auto gather = [&] {
      candidates.clear();
      farther.clear();
      unfeasible = 0;
      for (const auto& [c, r] : s.haves) {
        if (c != s.avoid) candidate(c, r);
      }
      if (candidates.empty() && s.avoid) { // the one we left is all there is
        if (auto h = s.haves.find(*s.avoid); h != s.haves.end()) candidate(h->first, h->second);
      }
    };
    gather();
    RouteContext ctx;
    ctx.now = now;
    ctx.now_ms = m_host.wall_ms(now);
    ctx.stream_kbps = s.bitrate_kbps.n ? s.bitrate_kbps.mean : 0;
    ctx.part_ms = s.stats.parts_received ? s.part_duration_us / 1000.0 : 0;
    ctx.current_delivery = s.delivered;
    ctx.flowing = s.subscribed;
    if (s.upstream_latency.n > 0) ctx.current_latency_ms = s.upstream_latency.mean;
    if (s.upstream) {
      if (auto a = m_host.address_of(*s.upstream)) {
        if (const NeighbourProfile* p = m_host.agent().memory.find(*a)) ctx.current_on_time = p->on_time.value;
      }
    }
    UpstreamChoice choice = m_policy->choose(s.id, candidates, s.upstream, ctx);
    // Only farther routes (or the policy would leave its upstream for any
    // other, and only farther ones exist): none now — the retraction is told
    // at once, so the nodes below learn it and move — or the current one
    // meanwhile, and any of them after the hold-down, when the paths they
    // advertise no longer lead through us.
    if (unfeasible > 0 && (candidates.empty() || choice.leave)) {
      if (!s.held_down_since) s.held_down_since = now;
      if (now - *s.held_down_since >= kHoldDown) {
        s.feasible = kNoRoute;
        s.held_down_since.reset();
        reset = !candidates.empty(); // the current upstream is among them: we never retracted
        gather();
        choice = m_policy->choose(s.id, candidates, s.upstream, ctx);
      }
    } else {
      s.held_down_since.reset();
    }
    if (choice.primary && !choice.backup) { // the nearest farther one, if the policy had none
      const UpstreamCandidate* b = nullptr;
      for (const auto& u : farther) {
        if (!b || u.hops < b->hops || (u.hops == b->hops && u.rtt_ms < b->rtt_ms)) b = &u;
      }
      if (b) choice.backup = b->conn;
    }
    best = choice.primary;
    s.backup = choice.backup;
    s.dual = choice.feed_backup;
    if (best) {
      const AdvertisedRoute& r = s.haves[*best];
      new_hops = r.hops + 1;
      s.feasible = std::min(s.feasible, new_hops);
      new_path.clear();
      if (r.path_known()) { // ours is it, one longer; else unknown too
        new_path.reserve(r.path.size() + 1);
        new_path.push_back(*m_host.address_of(*best));
        new_path.insert(new_path.end(), r.path.begin(), r.path.end());
      }
    }
  }
  bool need = !s.producer && !s.ended() && (s.wanted || !s.subscribers.empty());
  if (need != s.needed) (need ? s.needed_since : s.unneeded_at) = now;
  s.needed = need;
  std::optional<ConnId> old = s.upstream;
  bool subscribed_before = s.subscribed;
  if (best != old || need != subscribed_before) {
    if (old && subscribed_before) send_subscription(s, *old, false, now);
    if (best != old && old && best) ++s.upstream_switches;
    if (best != old) {
      s.upstream_latency = {};
      s.last_from_upstream.reset();
      s.delivered = 1;
    }
    if (best && best == s.second) s.second.reset(); // the second feed becomes the primary: already subscribed
    s.upstream = best;
    s.subscribed = need && best.has_value();
    if (s.subscribed) {
      send_subscription(s, *best, true, now);
      s.subscribed_at = now;
      s.subscribed_at_ms = m_host.wall_ms(now);
    }
  }
  // The second feed: the backup, while the policy wants it.
  // Kept while it is still a fit candidate, so the second feed does not follow
  // every reordering of the backups (each change would cost a subscription).
  std::optional<ConnId> second;
  if (s.subscribed && s.dual) {
    auto fit = [&](std::optional<ConnId> c) {
      return c && c != s.upstream && c != s.avoid && s.haves.count(*c) && !s.subscribers.count(*c);
    };
    if (fit(s.second))
      second = s.second;
    else if (fit(s.backup))
      second = s.backup;
  }
  if (second != s.second) {
    if (s.second && s.second != s.upstream) send_subscription(s, *s.second, false, now);
    s.second = second;
    if (s.second) send_subscription(s, *s.second, true, now);
  }
  // A route that appears or disappears is told at once; a changed distance or
  // path waits for the next tick (damped, as RIP damps triggered updates):
  // while a tree re-forms, a subtree's routes change several times within a
  // tick, and each change told at once would go to every neighbour of every
  // node below. A loop formed on a stale path is undone within a tick or two:
  // the next Have around it carries the path through the node that closed it.
  s.hops = new_hops;
  s.path = std::move(new_path);
  if (s.hops != s.advertised && (s.advertised == kNoRoute || s.hops == kNoRoute)) {
    advertise(s);
  } else if (best != old) {
    // Another upstream: the old and the new one see a different HAVE (poisoned reverse).
    for (auto c : {old, best}) {
      if (c && m_host.established(*c)) send_have(s, *c);
    }
  }
}

void StreamRouter::advertise(Stream& s) {
  s.advertised = s.hops;
  s.advertised_path = s.path;
  for (ConnId c : m_host.established_conns()) send_have(s, c);
}

void StreamRouter::send_have(const Stream& s, ConnId conn) {
  wire::Have h;
  h.set_stream_id(bytes_of(s.id));
  h.set_rendition("source");
  const bool poisoned = s.upstream == conn; // poisoned reverse
  h.set_hops(poisoned ? kNoRoute : s.hops);
  if (!poisoned && s.hops < kNoRoute && s.path.size() == s.hops) {
    for (const auto& a : s.path) h.add_path(bytes_of(a));
  }
  m_host.send_app_frame(conn, media_frame(MediaFrameType::have, h));
}

void StreamRouter::send_subscription(Stream& s, ConnId conn, bool subscribe, Timestamp now) {
  if (subscribe)
    s.asked[conn] = Stream::Asked{};
  else if (auto a = s.asked.find(conn); a != s.asked.end() && !a->second.left_at)
    a->second.left_at = now;
  wire::Subscribe sub;
  sub.set_stream_id(bytes_of(s.id));
  sub.set_rendition("source");
  if (subscribe && m_host.options().agent_config.max_price_wei_per_mb) {
    sub.set_max_price_wei_per_mb(m_host.options().agent_config.max_price_wei_per_mb->to_wei_string());
  }
  if (auto newest = subscribe ? s.newest_seen(kSourceRendition) : std::nullopt) { // resume after it
    sub.set_resume(true);
    sub.set_resume_segment(newest->segment);
    sub.set_resume_part(newest->part);
  }
  m_host.send_app_frame(conn, media_frame(subscribe ? MediaFrameType::subscribe : MediaFrameType::unsubscribe, sub));
}

void StreamRouter::send_refusal(const Stream& s, ConnId conn, const char* reason) {
  wire::SubscribeResult r;
  r.set_stream_id(bytes_of(s.id));
  r.set_rendition("source");
  r.set_accepted(false);
  r.set_reason(reason);
  m_host.send_app_frame(conn, media_frame(MediaFrameType::subscribe_result, r));
}

void StreamRouter::drop_overdue(Stream& s, Timestamp now) {
  std::vector<ConnId> overdue;
  for (ConnId c : s.subscribers) {
    if (m_host.payment_overdue(c)) overdue.push_back(c);
  }
  for (ConnId c : overdue) {
    s.subscribers.erase(c);
    m_host.note_overdue_refusal(c);
    send_refusal(s, c, "payment_overdue");
  }
  if (!overdue.empty()) route(s, now);
}

double StreamRouter::upload_kbps() const {
  double used = 0;
  for (const auto& [sid, other] : m_streams)
    used += static_cast<double>(other.subscribers.size()) * (other.bitrate_kbps.n ? other.bitrate_kbps.mean : 0);
  return used;
}

void StreamRouter::shed_over_capacity(Timestamp now) {
  const double capacity = static_cast<double>(m_host.agent().economics.options().capacity_kbps);
  if (capacity <= 0) return;
  // Subscribers taken before the bitrate was known (at a stream's start every
  // neighbour asks at once) can add up to more than the uplink carries: each
  // part would then reach the last of them later and later. The newest
  // sessions are refused until what is left fits.
  double used = upload_kbps();
  if (used <= capacity) return;
  std::vector<std::pair<ConnId, Stream*>> subs;
  for (auto& [id, s] : m_streams) {
    if (!s.bitrate_kbps.n) continue;
    for (ConnId c : s.subscribers) subs.emplace_back(c, &s);
  }
  std::sort(subs.begin(), subs.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  std::set<Stream*> touched;
  for (auto& [c, sp] : subs) {
    if (used <= capacity) break;
    Stream& s = *sp;
    used -= s.bitrate_kbps.mean;
    s.subscribers.erase(c);
    touched.insert(&s);
    send_refusal(s, c, "capacity_full");
  }
  for (Stream* s : touched) route(*s, now);
}

void StreamRouter::leave_upstream(Stream& s, Timestamp now) {
  if (!s.upstream) return;
  s.avoid = s.upstream;
  route(s, now);
}

void StreamRouter::reflect_routes(Timestamp now, const std::function<void(const Stream&, const Stream::Window&)>& learn,
                                  const std::function<void(const Stream&)>& routed) {
  for (auto& [id, s] : m_streams) {
    const Stream::Window window = std::exchange(s.window, {});
    learn(s, window);
    if (s.producer || s.ended() || !s.subscribed || !s.upstream) continue;
    route(s, now);
    routed(s);
  }
}

} // namespace openstreaming::agent
