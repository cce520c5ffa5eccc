#include "api/node_api.h"

#include "api/ledger_link.h"
#include "api/nostr_client.h"
#include "core/hex.h"

#include <nlohmann/json.hpp>

#include <set>
#include <sstream>

namespace openstreaming::api {

using nlohmann::json;

namespace {

HttpResponse json_response(const json& j, unsigned status = 200) {
  return HttpResponse{status, "application/json", j.dump() + "\n"};
}

// Label values are escaped per the exposition format: backslash, quote, newline.
std::string label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

class Exposition {
public:
  void family(const std::string& name, const char* type, const std::string& help) {
    m_out << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n";
  }
  void sample(const std::string& name, const std::vector<std::pair<std::string, std::string>>& labels, double value) {
    m_out << name;
    if (!labels.empty()) {
      m_out << "{";
      for (std::size_t i = 0; i < labels.size(); ++i) {
        m_out << (i ? "," : "") << labels[i].first << "=\"" << label(labels[i].second) << "\"";
      }
      m_out << "}";
    }
    m_out << " " << value << "\n";
  }
  std::string str() const { return m_out.str(); }

private:
  std::ostringstream m_out;
};

} // namespace

std::string prometheus_metrics(net::NodeRuntime& rt) {
  const auto& m = rt.node().metrics();
  const auto& t = rt.transport_metrics();
  Exposition e;
  e.family("openstreaming_uptime_seconds", "gauge", "Seconds since the node started.");
  e.sample("openstreaming_uptime_seconds", {}, rt.uptime_s());
  e.family("openstreaming_peers", "gauge", "Established peer sessions.");
  e.sample("openstreaming_peers", {}, static_cast<double>(rt.node().established_count()));
  e.family("openstreaming_connections_total", "counter", "Connections that completed TLS, by direction.");
  e.sample("openstreaming_connections_total", {{"direction", "inbound"}}, static_cast<double>(m.connections_inbound));
  e.sample("openstreaming_connections_total", {{"direction", "outbound"}}, static_cast<double>(m.connections_outbound));
  e.family("openstreaming_frames_total", "counter", "Frames by type and direction.");
  const auto in = m.in.rows(), out = m.out.rows();
  for (const auto& r : in)
    e.sample("openstreaming_frames_total", {{"type", r.type}, {"direction", "in"}}, static_cast<double>(r.frames));
  for (const auto& r : out)
    e.sample("openstreaming_frames_total", {{"type", r.type}, {"direction", "out"}}, static_cast<double>(r.frames));
  e.family("openstreaming_frame_bytes_total", "counter", "Frame bytes (with framing) by type and direction.");
  for (const auto& r : in)
    e.sample("openstreaming_frame_bytes_total", {{"type", r.type}, {"direction", "in"}}, static_cast<double>(r.bytes));
  for (const auto& r : out)
    e.sample("openstreaming_frame_bytes_total", {{"type", r.type}, {"direction", "out"}}, static_cast<double>(r.bytes));
  e.family("openstreaming_disconnects_total", "counter", "Closed peer connections by reason and by who decided.");
  for (const auto& [key, n] : m.disconnects) {
    e.sample("openstreaming_disconnects_total", {{"reason", key.first}, {"initiator", key.second}},
             static_cast<double>(n));
  }
  e.family("openstreaming_handshake_failures_total", "counter",
           "Connections that failed before a session was established.");
  e.sample("openstreaming_handshake_failures_total", {{"reason", "tls"}},
           static_cast<double>(t.tls_handshake_failures));
  for (const auto& [reason, n] : m.handshake_failures) {
    e.sample("openstreaming_handshake_failures_total", {{"reason", reason}}, static_cast<double>(n));
  }
  e.family("openstreaming_protocol_errors_total", "counter", "Hostile or broken input from peers, by kind.");
  for (const auto& [reason, n] : m.protocol_errors) {
    e.sample("openstreaming_protocol_errors_total", {{"reason", reason}}, static_cast<double>(n));
  }
  e.family("openstreaming_connections_rejected_total", "counter",
           "Sockets closed on accept: too many TLS handshakes pending.");
  e.sample("openstreaming_connections_rejected_total", {{"reason", "pending_limit"}},
           static_cast<double>(t.connections_rejected));
  e.family("openstreaming_dials_failed_total", "counter", "Outbound connection attempts that failed.");
  e.sample("openstreaming_dials_failed_total", {}, static_cast<double>(m.dials_failed));
  e.family("openstreaming_neighbours_replaced_total", "counter",
           "Neighbours this node swapped for a new candidate (topology adaptation).");
  e.sample("openstreaming_neighbours_replaced_total", {}, static_cast<double>(m.neighbours_replaced));
  e.family("openstreaming_frames_dropped_total", "counter", "Frames dropped before sending, by cause.");
  e.sample("openstreaming_frames_dropped_total", {{"reason", "backpressure"}},
           static_cast<double>(m.frames_dropped_backpressure));
  e.family("openstreaming_peer_records_rejected_total", "counter", "Peer-exchange records ignored as malformed.");
  e.sample("openstreaming_peer_records_rejected_total", {}, static_cast<double>(m.peer_records_rejected));
  e.family("openstreaming_frames_unsolicited_total", "counter",
           "Frames a neighbour sent that we never asked for (dropped and blamed), by frame type.");
  for (const auto& [type, n] : m.frames_unsolicited)
    e.sample("openstreaming_frames_unsolicited_total", {{"type", type}}, static_cast<double>(n));
  e.family("openstreaming_states_stale_total", "counter",
           "Neighbour states dropped before their signature check: seq not newer than the last verified one.");
  e.sample("openstreaming_states_stale_total", {}, static_cast<double>(m.states_stale));
  e.family("openstreaming_frames_rate_limited_total", "counter",
           "Frames dropped because a neighbour sent that type faster than its rate limit, by frame type.");
  for (const auto& [type, n] : m.frames_rate_limited)
    e.sample("openstreaming_frames_rate_limited_total", {{"type", type}}, static_cast<double>(n));
  e.family("openstreaming_parts_invalid_total", "counter",
           "Parts that failed verification and were dropped, by cause.");
  for (const auto& [why, n] : m.parts_invalid)
    e.sample("openstreaming_parts_invalid_total", {{"reason", why}}, static_cast<double>(n));
  return e.str();
}

namespace {

json conn_address(net::NodeRuntime& rt, std::optional<agent::ConnId> conn) {
  auto a = conn ? rt.node().address_of(*conn) : std::nullopt;
  return a ? json(a->to_checksum_hex()) : json(nullptr);
}

json streams_json(net::NodeRuntime& rt) {
  json list = json::array();
  for (const auto& [id, s] : rt.node().streams().streams()) {
    if (s.announcement.id.empty()) continue;
    list.push_back(
        {{"id", core::to_hex(id, false)},
         {"name", s.name},
         {"broadcaster", s.broadcaster.to_checksum_hex()},
         {"status", agent::status_name(s.status)},
         {"renditions", json::array({"source"})},
         {"announcement", core::to_json(s.announcement)},
         {"hops", s.hops == agent::kNoRoute ? json(nullptr) : json(s.hops)},
         {"end_reason",
          s.end_reason == agent::EndReason::none ? json(nullptr) : json(agent::end_reason_name(s.end_reason))},
         {"upstream", conn_address(rt, s.upstream)},
         {"backup", conn_address(rt, s.backup)},
         {"subscribers", s.subscribers.size()},
         {"upstream_switches", s.upstream_switches},
         {"stats",
          {{"parts_received", s.stats.parts_received},
           {"parts_late", s.stats.parts_late},
           {"parts_invalid", s.stats.parts_invalid},
           {"parts_forwarded", s.stats.parts_forwarded},
           {"latency_ms",
            {{"p50", s.stats.latency_quantile(0.5)},
             {"p95", s.stats.latency_quantile(0.95)},
             {"mean",
              s.stats.latency_count ? s.stats.latency_sum_ms / static_cast<double>(s.stats.latency_count) : 0.0},
             {"samples", s.stats.latency_count}}}}}});
  }
  return list;
}

// ---- The agent (docs/api.md) -----------------------------------------

json claims_json(const agent::NeighbourProfile& p) {
  if (!p.claims) return nullptr;
  json lat = json::object();
  for (const auto& [id, ms] : p.claims->stream_latency_ms) lat[core::to_hex(id, false)] = ms;
  return {{"capacity_kbps", p.claims->capacity_kbps},
          {"load_pct", p.claims->load_pct},
          {"quote_wei_per_mb", p.claims->has_quote ? json(p.claims->quote_wei_per_mb.to_wei_string()) : json(nullptr)},
          {"buffer_health_ms", p.claims->buffer_health_ms},
          {"needs", p.claims->needs},
          {"stream_latency_ms", lat},
          {"seq", p.claims->seq}};
}

json neighbors_json(net::NodeRuntime& rt) {
  agent::Node& n = rt.node();
  int64_t ms = n.wall_ms(rt.now());
  const auto& eo = n.agent().empathy.options();
  json list = json::array();
  std::set<core::Address> connected;
  for (const auto& peer : n.peers(rt.now())) connected.insert(peer.address);
  for (const auto& [addr, p] : n.agent().memory.neighbours()) {
    const auto& c = p.coherence;
    list.push_back(
        {{"address", addr.to_checksum_hex()},
         {"connected", connected.count(addr) > 0},
         {"status", agent::status_name(n.agent().empathy.status(addr, ms))},
         {"reason", p.reason},
         {"coherence",
          {{"score", c.score},
           {"coherent", c.score > eo.coherent_above + 1e-9},
           {"components",
            {{"capacity", {{"ok", c.capacity}, {"weight", eo.w_capacity}}},
             {"price", {{"ok", c.price}, {"weight", eo.w_price}}},
             {"reliability", {{"ok", c.reliability}, {"weight", eo.w_reliability}, {"on_time", p.on_time.value}}},
             {"cooperation",
              {{"ok", c.cooperation},
               {"weight", eo.w_cooperation},
               {"on_time_recent", p.on_time_recent.value},
               {"claims_confirmed", p.claims_confirmed.value}}}}}}},
         {"claimed", claims_json(p)},
         {"observed",
          {{"rtt_ms", p.rtt_ms.n ? json(p.rtt_ms.mean) : json(nullptr)},
           {"rate_kbps", p.rate_kbps.n ? json(p.rate_kbps.mean) : json(nullptr)},
           {"rate_samples", p.rate_kbps.n},
           {"on_time", p.on_time.value},
           {"parts_from", p.parts_from},
           {"parts_late", p.parts_late},
           {"parts_missing", p.parts_missing},
           {"parts_excused", p.parts_excused},
           {"parts_invalid", p.parts_invalid},
           {"states_received", p.states_received},
           {"states_forged", p.states_forged},
           {"subscriptions_refused", p.subscriptions_refused}}},
         {"price_quote_wei_per_mb",
          p.claims && p.claims->has_quote ? json(p.claims->quote_wei_per_mb.to_wei_string()) : json(nullptr)},
         {"probation_until_ms", p.probation_until_ms},
         {"shunned_until_ms", p.shunned_until_ms},
         {"episodes", p.episodes}});
  }
  return list;
}

json routes_json(net::NodeRuntime& rt) {
  agent::Node& n = rt.node();
  const auto& routes = n.agent().propagation.routes();
  json list = json::array();
  for (const auto& [id, s] : n.streams().streams()) {
    if (s.producer) continue;
    json r = {{"stream", core::to_hex(id, false)},
              {"name", s.name},
              {"policy", n.streams().policy().name()},
              {"primary", nullptr},
              {"backups", json::array()},
              {"candidates", json::array()},
              {"last_switch_ms", nullptr},
              {"last_switch_reason", nullptr},
              {"switches", s.upstream_switches},
              {"dual_feed", s.second.has_value()},
              {"parts_missing", s.parts_missing},
              {"parts_repaired", s.parts_repaired}};
    if (auto it = routes.find(id); it != routes.end()) {
      const agent::RouteInfo& info = it->second;
      if (info.primary) r["primary"] = info.primary->to_checksum_hex();
      for (const auto& b : info.backups) r["backups"].push_back(b.to_checksum_hex());
      for (const auto& c : info.candidates) {
        r["candidates"].push_back({{"address", c.address.to_checksum_hex()},
                                   {"hops", c.hops},
                                   {"rtt_ms", c.rtt_ms < 1e6 ? json(c.rtt_ms) : json(nullptr)},
                                   {"predicted_latency_ms", c.predicted_latency_ms},
                                   {"status", agent::status_name(c.status)},
                                   {"score", c.value},
                                   {"components",
                                    {{"latency", c.latency},
                                     {"bandwidth", c.bandwidth},
                                     {"economics", c.economics},
                                     {"empathy", c.empathy},
                                     {"delivery", c.delivery}}}});
      }
      if (info.last_switch_ms) {
        r["last_switch_ms"] = info.last_switch_ms;
        r["last_switch_reason"] = info.last_switch_reason;
      }
    }
    list.push_back(r);
  }
  return list;
}

json memory_json(net::NodeRuntime& rt) {
  const agent::Memory& m = rt.node().agent().memory;
  const agent::RouteWeights& rw = rt.node().agent().propagation.weights();
  const agent::SelfMetrics& s = m.self();
  json preds = json::array();
  for (auto it = m.predictions().rbegin(); it != m.predictions().rend() && preds.size() < 100; ++it) {
    preds.push_back({{"id", it->id},
                     {"predictor", it->predictor},
                     {"subject", it->subject},
                     {"action", it->action},
                     {"predicted", it->predicted},
                     {"raw", it->raw},
                     {"made_ms", it->made_ms},
                     {"due_ms", it->due_ms},
                     {"actual", it->actual ? json(*it->actual) : json(nullptr)},
                     {"error", it->actual ? json(it->error) : json(nullptr)}});
  }
  json predictors = json::object();
  for (const auto& [name, st] : m.predictors()) {
    auto ce = st.calibration_error();
    predictors[name] = {
        {"n", st.n}, {"mae", st.mae}, {"bias", st.bias}, {"calibration_error", ce ? json(*ce) : json(nullptr)}};
  }
  return {
      {"self",
       {{"load_pct", s.load_pct},
        {"upload_used_kbps", s.upload_used_kbps},
        {"upload_capacity_kbps", s.upload_capacity_kbps},
        {"upload_available_kbps",
         s.upload_capacity_kbps > 0 ? json(std::max(0.0, s.upload_capacity_kbps - s.upload_used_kbps)) : json(nullptr)},
        {"queue_bytes", s.queue_bytes},
        {"subscribers", s.subscribers},
        {"earnings_wei", s.earnings_wei.to_wei_string()},
        {"spent_wei", s.spent_wei.to_wei_string()}}},
      {"predictors", predictors},
      {"route_weights",
       {{"latency", rw.latency},
        {"bandwidth", rw.bandwidth},
        {"economics", rw.economics},
        {"empathy", rw.empathy},
        {"learning", rt.node().agent().propagation.options().learn_weights},
        {"updates", rt.node().agent().propagation.weight_updates()}}},
      {"predictions", preds},
      {"neighbours_remembered", m.neighbours().size()}};
}

// winProb as a probability (for people and charts; the exact value is in the tickets).
double probability(const core::U256& win_prob) {
  return static_cast<double>(win_prob / (pay::max_win_prob() / 1'000'000'000)) / 1e9;
}

// GET /api/payments (docs/api.md): tickets and balances per relationship.
json payments_json(net::NodeRuntime& rt, const NodeApiInfo& info) {
  const agent::Payments& p = rt.node().payments();
  auto wei = [](const core::Amount& a) { return a.to_wei_string(); };
  json out = {{"enabled", p.enabled()}, {"address", rt.node().address().to_checksum_hex()}};
  if (info.ledger) out["ledger"] = info.ledger->status();
  if (const auto& l = p.ledger()) {
    out["ledger"]["chain_id"] = l->chain_id;
    out["ledger"]["round"] = l->round;
    out["ledger"]["height"] = l->height;
    out["balance"] = {
        {"balance", wei(l->self.balance)}, {"deposit", wei(l->self.deposit)}, {"reserve", wei(l->self.reserve)}};
  }
  // Relationships forgotten after their payer left still count (totals never go down).
  agent::PaymentRelation total = p.retired();
  json rel = json::array();
  for (const auto& [addr, r] : p.relations()) {
    json j = {{"address", addr.to_checksum_hex()}};
    if (r.price_paid.wei() > 0 || r.tickets_sent > 0) {
      j["we_pay"] = {{"price_wei_per_mb", wei(r.price_paid)},
                     {"metered_wei", wei(r.metered_in)},
                     {"tickets_sent", r.tickets_sent},
                     {"expected_value_sent_wei", wei(r.ev_sent)},
                     {"spent_this_round_wei", wei(r.spent_in_round)},
                     {"max_spend_per_round_wei", wei(p.options().max_spend_per_round)}};
      if (r.params) {
        j["we_pay"]["params"] = {{"face_value", r.params->face_value.str()},
                                 {"win_prob", probability(r.params->win_prob)},
                                 {"creation_round", r.params->creation_round}};
      }
    }
    if (r.price_charged.wei() > 0 || r.tickets_received > 0) {
      core::U256 unpaid =
          r.metered_out.wei() > r.ev_received.wei() ? r.metered_out.wei() - r.ev_received.wei() : core::U256(0);
      j["they_pay"] = {
          {"price_wei_per_mb", wei(r.price_charged)},
          {"metered_wei", wei(r.metered_out)},
          {"tickets_received", r.tickets_received},
          {"tickets_rejected", r.tickets_rejected},
          {"expected_value_received_wei", wei(r.ev_received)},
          {"unpaid_wei", unpaid.str()},
          {"credit_limit_wei",
           core::saturating_mul_div(r.price_charged, core::U256(p.options().credit_bytes), core::U256(1'000'000))
               .to_wei_string()},
          {"overdue", p.overdue(addr)},
          {"overdue_refusals", r.overdue_refusals},
          {"won", r.won},
          {"won_wei", wei(r.won_value)},
          {"redeemed", r.redeemed},
          {"redeemed_wei", wei(r.redeemed_value)},
          {"params",
           {{"face_value", r.issued_face_value.str()},
            {"win_prob", probability(r.issued_win_prob)},
            {"creation_round", r.params_round}}}};
    }
    if (const auto& l = p.ledger()) {
      if (auto f = l->funds(addr)) j["funds"] = {{"deposit", wei(f->deposit)}, {"reserve", wei(f->reserve)}};
    }
    if (!r.last_error.empty()) j["last_error"] = r.last_error;
    rel.push_back(std::move(j));
    total.add_counters(r);
  }
  out["relationships_forgotten"] = p.relations_forgotten();
  out["tickets"] = {{"sent", total.tickets_sent},
                    {"received", total.tickets_received},
                    {"rejected", total.tickets_rejected},
                    {"won", total.won},
                    {"redeemed", total.redeemed}};
  out["totals"] = {{"metered_in_wei", wei(total.metered_in)},
                   {"metered_out_wei", wei(total.metered_out)},
                   {"expected_value_sent_wei", wei(total.ev_sent)},
                   {"expected_value_received_wei", wei(total.ev_received)},
                   {"won_wei", wei(total.won_value)},
                   {"redeemed_wei", wei(total.redeemed_value)}};
  out["winners_queued"] = p.winners_queued();
  json queued = json::array();
  for (const auto& w : p.winners()) {
    queued.push_back({{"ticket_hash", core::to_hex(w.hash)},
                      {"sender", w.ticket.ticket.sender.to_checksum_hex()},
                      {"face_value", w.ticket.ticket.face_value.str()},
                      {"creation_round", static_cast<uint64_t>(w.ticket.ticket.creation_round)}});
  }
  out["winners"] = std::move(queued);
  out["winners_expired"] = p.winners_expired();
  out["redemptions_submitted"] = p.redemptions_submitted();
  out["last_redeem_error"] = p.last_redeem_error();
  out["relationships"] = std::move(rel);
  out["channels"] = info.ledger ? info.ledger->status()["channels"] : json::array();
  return out;
}

json economics_json(net::NodeRuntime& rt) {
  agent::Node& n = rt.node();
  const agent::Economics& e = n.agent().economics;
  const agent::SelfMetrics& s = n.agent().memory.self();
  json rel = json::array();
  for (const auto& [addr, p] : n.agent().memory.neighbours()) {
    if (p.bytes_served == 0 && p.bytes_received == 0) continue;
    rel.push_back(
        {{"address", addr.to_checksum_hex()},
         {"bytes_served", p.bytes_served},
         {"bytes_received", p.bytes_received},
         {"credit_wei", p.credit_wei.to_wei_string()},
         {"owed_wei", p.owed_wei.to_wei_string()},
         {"their_quote_wei_per_mb",
          p.claims && p.claims->has_quote ? json(p.claims->quote_wei_per_mb.to_wei_string()) : json(nullptr)}});
  }
  return {{"quote_wei_per_mb", e.current_quote().to_wei_string()},
          {"inputs",
           {{"cost_wei_per_mb", e.cost().to_wei_string()},
            {"bandwidth_cost_wei_per_mb", e.options().bandwidth_cost_wei_per_mb.to_wei_string()},
            {"cpu_cost_wei_per_mb", e.options().cpu_cost_wei_per_mb.to_wei_string()},
            {"load_pct", s.load_pct},
            {"mean_neighbour_quote_wei_per_mb", e.mean_neighbour_quote().to_wei_string()},
            {"formula", "max(cost x (1 + load/100) x 1.2, 0.9 x mean neighbour quote)"}}},
          {"capacity_kbps", e.options().capacity_kbps},
          {"earnings_wei", s.earnings_wei.to_wei_string()},
          {"spent_wei", s.spent_wei.to_wei_string()},
          {"relationships", rel}};
}

// GET /hls/STREAM_ID/RENDITION/index.m3u8 and .../seg_N.ts. A playlist request
// for a stream this node does not carry yet subscribes it, like a CDN edge, for
// a lease (StreamRouter::kLease) that each playlist request renews: when players
// stop asking, the node stops carrying (and paying for) the stream.
HttpResponse hls(net::NodeRuntime& rt, const std::string& path) {
  auto not_found = [](const std::string& why) {
    return HttpResponse{404, "application/json", json{{"error", why}}.dump() + "\n"};
  };
  std::string rest = path.substr(5); // after "/hls/"
  auto slash1 = rest.find('/');
  auto slash2 = slash1 == std::string::npos ? std::string::npos : rest.find('/', slash1 + 1);
  if (slash2 == std::string::npos) return not_found("use /hls/STREAM_ID/RENDITION/index.m3u8");
  std::string id_text = rest.substr(0, slash1), rendition = rest.substr(slash1 + 1, slash2 - slash1 - 1);
  std::string file = rest.substr(slash2 + 1);
  auto id = rt.node().streams().resolve(id_text);
  if (!id || !rt.node().streams().find(*id)) return not_found("unknown stream " + id_text);
  if (rendition != "source") return not_found("unknown rendition " + rendition);
  if (file == "index.m3u8") {
    const agent::Stream* s = rt.node().streams().find(*id);
    if (!s->producer) rt.post([&rt, sid = *id](agent::Node& n) { n.streams().lease(sid, rt.now()); });
    auto pl = rt.node().streams().playlist(*id);
    if (!pl) return not_found("no complete segment yet; retry shortly");
    return HttpResponse{200, "application/vnd.apple.mpegurl", *pl};
  }
  if (file.rfind("seg_", 0) == 0 && file.size() > 7 && file.substr(file.size() - 3) == ".ts") {
    // seg_N.ts (a segment) or seg_N.M.ts (LL-HLS part M of segment N)
    std::string name = file.substr(4, file.size() - 7);
    auto dot = name.find('.');
    std::string num = name.substr(0, dot), part = dot == std::string::npos ? "" : name.substr(dot + 1);
    auto digits = [](const std::string& t, std::size_t max) {
      return !t.empty() && t.size() <= max && t.find_first_not_of("0123456789") == std::string::npos;
    };
    if (!digits(num, 18) || (dot != std::string::npos && !digits(part, 9))) return not_found("bad segment name");
    if (dot != std::string::npos) {
      auto slice = rt.node().streams().part_bytes(*id, std::stoull(num), static_cast<uint32_t>(std::stoul(part)));
      if (!slice) return not_found("part " + name + " is not (or no longer) available");
      auto v = slice->view();
      return HttpResponse{200, "video/mp2t", std::string(v.begin(), v.end())};
    }
    auto bytes = rt.node().streams().segment_bytes(*id, std::stoull(num));
    if (!bytes) return not_found("segment " + num + " is not (or no longer) available");
    return HttpResponse{200, "video/mp2t", std::string(bytes->begin(), bytes->end())};
  }
  return not_found("unknown file " + file);
}

// The bearer token, compared in constant time (its length is not secret).
bool authorized(const HttpRequest& req, const std::string& token) {
  static const std::string kScheme = "Bearer ";
  const std::string& a = req.authorization;
  if (token.empty() || a.size() != kScheme.size() + token.size() || a.compare(0, kScheme.size(), kScheme) != 0)
    return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < token.size(); ++i) diff |= static_cast<unsigned char>(a[kScheme.size() + i] ^ token[i]);
  return diff == 0;
}

// POST /api/watch and /api/unwatch {"stream": "ID or name"}: want a stream for
// good (like --watch) or stop wanting it (watched or leased by HLS).
HttpResponse watch_request(net::NodeRuntime& rt, const HttpRequest& req) {
  auto body = json::parse(req.body, nullptr, false);
  if (!body.is_object() || !body.contains("stream") || !body["stream"].is_string() ||
      body["stream"].get<std::string>().empty() || body["stream"].get<std::string>().size() > 128) {
    return json_response({{"error", "body must be {\"stream\": \"ID or name\"}"}}, 400);
  }
  std::string stream = body["stream"];
  if (req.path == "/api/watch") {
    rt.post([&rt, stream](agent::Node& n) { n.streams().watch(stream, rt.now()); });
    return json_response({{"watching", stream}});
  }
  auto id = rt.node().streams().resolve(stream);
  if (!id) return json_response({{"error", "unknown stream " + stream}}, 404);
  rt.post([&rt, sid = *id](agent::Node& n) { n.streams().unwant(sid, rt.now()); });
  return json_response({{"unwatched", core::to_hex(*id, false)}});
}

} // namespace

Handler make_node_api(net::NodeRuntime& rt, const NodeApiInfo& info) {
  return [&rt, info](const HttpRequest& req) -> HttpResponse {
    // What changes the node's state (and may spend its money) is a POST with the
    // bearer token: a GET can be triggered by any page or link, a POST without
    // the token by any local process or page that cannot read DATA_DIR/api-token.
    if (req.path == "/api/watch" || req.path == "/api/unwatch") {
      if (req.method != "POST") return json_response({{"error", req.path + " takes POST"}}, 405);
      if (!authorized(req, info.api_token))
        return json_response({{"error", "missing or wrong 'Authorization: Bearer TOKEN' (DATA_DIR/api-token)"}}, 401);
      return watch_request(rt, req);
    }
    if (req.method == "POST") return json_response({{"error", "only GET and HEAD are supported on " + req.path}}, 405);
    if (req.path == "/api/streams") return json_response(streams_json(rt));
    if (req.path == "/api/neighbors") return json_response(neighbors_json(rt));
    if (req.path == "/api/routes") return json_response(routes_json(rt));
    if (req.path == "/api/memory") return json_response(memory_json(rt));
    if (req.path == "/api/economics") return json_response(economics_json(rt));
    if (req.path == "/api/payments") return json_response(payments_json(rt, info));
    if (req.path.rfind("/hls/", 0) == 0) return hls(rt, req.path);
    if (req.path == "/api/status") {
      json status = {{"address", rt.node().address().to_checksum_hex()},
                     {"version", info.version},
                     {"roles", info.roles},
                     {"p2p", info.p2p_endpoint},
                     {"api", info.api_endpoint},
                     {"peers", rt.node().established_count()},
                     {"uptime_s", rt.uptime_s()}};
      if (info.nostr) {
        json relays = json::array();
        for (const auto& r : info.nostr->status()) {
          relays.push_back({{"url", r.url},
                            {"connected", r.connected},
                            {"published", r.published},
                            {"refused", r.refused},
                            {"failures", r.failures},
                            {"last_error", r.last_error},
                            {"last_ok", r.last_ok}});
        }
        status["nostr_relays"] = std::move(relays);
      }
      return json_response(status);
    }
    if (req.path == "/api/peers") {
      json list = json::array();
      for (const auto& p : rt.node().peers(rt.now())) {
        list.push_back({{"address", p.address.to_checksum_hex()},
                        {"endpoint", p.remote.to_string()},
                        {"listen", p.listen_endpoint},
                        {"direction", agent::direction_name(p.direction)},
                        {"roles", p.roles},
                        {"rtt_ms", p.rtt_ms},
                        {"bytes_in", p.bytes_in},
                        {"bytes_out", p.bytes_out},
                        {"connected_s", p.connected_s}});
      }
      return json_response(list);
    }
    if (req.path == "/metrics") {
      std::string text = prometheus_metrics(rt);
      if (info.ingest_refused) {
        Exposition e;
        e.family("openstreaming_ingest_refused_total", "counter",
                 "RTMP pushes refused for a missing or wrong stream key.");
        e.sample("openstreaming_ingest_refused_total", {}, static_cast<double>(info.ingest_refused->load()));
        text += e.str();
      }
      if (info.nostr) {
        Exposition e;
        const auto relays = info.nostr->status();
        e.family("openstreaming_nostr_published_total", "counter", "Announcements a Nostr relay accepted (OK true).");
        for (const auto& r : relays)
          e.sample("openstreaming_nostr_published_total", {{"relay", r.url}}, static_cast<double>(r.published));
        e.family("openstreaming_nostr_refused_total", "counter", "Announcements a Nostr relay refused (OK false).");
        for (const auto& r : relays)
          e.sample("openstreaming_nostr_refused_total", {{"relay", r.url}}, static_cast<double>(r.refused));
        e.family("openstreaming_nostr_failures_total", "counter",
                 "Connects or publishes to a Nostr relay that failed (no answer, garbage, closed).");
        for (const auto& r : relays)
          e.sample("openstreaming_nostr_failures_total", {{"relay", r.url}}, static_cast<double>(r.failures));
        text += e.str();
      }
      return HttpResponse{200, "text/plain; version=0.0.4; charset=utf-8", text};
    }
    return json_response({{"error", "not found: " + req.path}}, 404);
  };
}

} // namespace openstreaming::api
