#include "daemon/node_config.h"

#include "core/nostr_relay.h"

#include <toml++/toml.h>

#include <algorithm>
#include <set>

namespace openstreaming::daemon {

namespace {

Error config_error(const std::string& source, const std::string& what) {
  return make_error(Errc::invalid_input, source + ": " + what);
}

template <class T>
Result<void> get(const toml::table& t, const char* key, const std::string& source, T& out) {
  const toml::node* n = t.get(key);
  if (!n) return {};
  if constexpr (std::is_same_v<T, std::string>) {
    if (!n->is_string()) return config_error(source, std::string("'") + key + "' must be a string");
    out = *n->value<std::string>();
  } else if constexpr (std::is_same_v<T, bool>) {
    if (!n->is_boolean()) return config_error(source, std::string("'") + key + "' must be true or false");
    out = *n->value<bool>();
  } else if constexpr (std::is_same_v<T, int64_t>) {
    if (!n->is_integer()) return config_error(source, std::string("'") + key + "' must be an integer");
    out = *n->value<int64_t>();
  } else if constexpr (std::is_same_v<T, double>) {
    if (!n->is_number()) return config_error(source, std::string("'") + key + "' must be a number");
    out = *n->value<double>();
  } else {
    const toml::array* arr = n->as_array();
    if (!arr) return config_error(source, std::string("'") + key + "' must be an array of strings");
    out.clear();
    for (const auto& item : *arr) {
      if (!item.is_string()) return config_error(source, std::string("'") + key + "' must be an array of strings");
      out.push_back(*item.value<std::string>());
    }
  }
  return {};
}

Result<void> check_keys(const toml::table& t, const std::set<std::string>& allowed, const std::string& where,
                        const std::string& source) {
  for (const auto& [k, v] : t) {
    if (!allowed.count(std::string(k.str()))) {
      return config_error(source, "unknown key '" + where + std::string(k.str()) + "'");
    }
  }
  return {};
}

} // namespace

Result<void> parse_node_config(std::string_view toml_text, const std::string& source, NodeConfig& c) {
  toml::table t;
  try { // Debian's toml++ is built with exceptions: parse errors throw
    t = toml::parse(toml_text, source);
  } catch (const toml::parse_error& err) {
    return config_error(source,
                        "line " + std::to_string(err.source().begin.line) + ": " + std::string(err.description()));
  }
  if (auto r =
          check_keys(t, {"key",      "password_file",  "data_dir",        "listen",        "api",         "bootstrap",
                         "roles",    "max_peers",      "target_peers",    "peer_exchange", "timing",      "ingest",
                         "stream",   "rtmp_listen",    "srt_listen",      "watch",         "agent",       "ledger",
                         "payments", "api_token_file", "stream_key_file", "contracts",     "nostr_relays"},
                     "", source);
      !r) {
    return r;
  }
  Result<void> r;
  if (!(r = get(t, "key", source, c.key))) return r;
  if (!(r = get(t, "password_file", source, c.password_file))) return r;
  if (!(r = get(t, "data_dir", source, c.data_dir))) return r;
  if (!(r = get(t, "listen", source, c.listen))) return r;
  if (!(r = get(t, "api", source, c.api))) return r;
  if (!(r = get(t, "bootstrap", source, c.bootstrap))) return r;
  if (!(r = get(t, "roles", source, c.roles))) return r;
  if (!(r = get(t, "max_peers", source, c.max_peers))) return r;
  if (!(r = get(t, "target_peers", source, c.target_peers))) return r;
  if (!(r = get(t, "peer_exchange", source, c.peer_exchange))) return r;
  if (!(r = get(t, "ingest", source, c.ingest))) return r;
  if (!(r = get(t, "stream", source, c.stream))) return r;
  if (!(r = get(t, "rtmp_listen", source, c.rtmp_listen))) return r;
  if (!(r = get(t, "srt_listen", source, c.srt_listen))) return r;
  if (!(r = get(t, "watch", source, c.watch))) return r;
  if (!(r = get(t, "nostr_relays", source, c.nostr_relays))) return r;
  if (!(r = get(t, "ledger", source, c.ledger))) return r;
  if (!(r = get(t, "contracts", source, c.contracts))) return r;
  if (!(r = get(t, "api_token_file", source, c.api_token_file))) return r;
  if (!(r = get(t, "stream_key_file", source, c.stream_key_file))) return r;
  if (const toml::node* pay = t.get("payments")) {
    const toml::table* pt = pay->as_table();
    if (!pt) return config_error(source, "'payments' must be a table");
    if (auto k = check_keys(*pt,
                            {"redeem_cost", "ticket_kb", "max_face_value", "poll_ms", "max_spend_per_round",
                             "credit_kb", "confirmations", "max_gas_price"},
                            "payments.", source);
        !k)
      return k;
    if (!(r = get(*pt, "redeem_cost", source, c.payments.redeem_cost))) return r;
    if (!(r = get(*pt, "max_face_value", source, c.payments.max_face_value))) return r;
    if (!(r = get(*pt, "ticket_kb", source, c.payments.ticket_kb))) return r;
    if (!(r = get(*pt, "poll_ms", source, c.payments.poll_ms))) return r;
    if (!(r = get(*pt, "max_spend_per_round", source, c.payments.max_spend_per_round))) return r;
    if (!(r = get(*pt, "credit_kb", source, c.payments.credit_kb))) return r;
    if (!(r = get(*pt, "confirmations", source, c.payments.confirmations))) return r;
    if (!(r = get(*pt, "max_gas_price", source, c.payments.max_gas_price))) return r;
  }
  if (const toml::node* agent = t.get("agent")) {
    const toml::table* at = agent->as_table();
    if (!at) return config_error(source, "'agent' must be a table");
    if (auto k = check_keys(*at,
                            {"enabled", "upload_capacity_kbps", "cost_per_mb", "cpu_cost_per_mb", "max_price_per_mb",
                             "w_latency", "w_bandwidth", "w_economics", "w_empathy", "hysteresis",
                             "reflect_interval_ms", "state_interval_ms", "dual_feed", "learn_weights", "adapt_topology",
                             "topology_interval_ms", "topology_min_age_ms", "diverse_peers"},
                            "agent.", source);
        !k) {
      return k;
    }
    AgentConfig& a = c.agent;
    for (auto [key, field] :
         {std::pair{"enabled", &a.enabled}, std::pair{"dual_feed", &a.dual_feed},
          std::pair{"adapt_topology", &a.adapt_topology}, std::pair{"learn_weights", &a.learn_weights}}) {
      if (!(r = get(*at, key, source, *field))) return r;
    }
    for (auto [key, field] :
         {std::pair{"upload_capacity_kbps", &a.upload_capacity_kbps},
          std::pair{"reflect_interval_ms", &a.reflect_interval_ms},
          std::pair{"state_interval_ms", &a.state_interval_ms},
          std::pair{"topology_interval_ms", &a.topology_interval_ms},
          std::pair{"topology_min_age_ms", &a.topology_min_age_ms}, std::pair{"diverse_peers", &a.diverse_peers}}) {
      if (!(r = get(*at, key, source, *field))) return r;
    }
    for (auto [key, field] :
         {std::pair{"cost_per_mb", &a.cost_per_mb}, std::pair{"cpu_cost_per_mb", &a.cpu_cost_per_mb},
          std::pair{"max_price_per_mb", &a.max_price_per_mb}}) {
      if (!(r = get(*at, key, source, *field))) return r;
    }
    for (auto [key, field] : {std::pair{"w_latency", &a.w_latency}, std::pair{"w_bandwidth", &a.w_bandwidth},
                              std::pair{"w_economics", &a.w_economics}, std::pair{"w_empathy", &a.w_empathy},
                              std::pair{"hysteresis", &a.hysteresis}}) {
      if (!(r = get(*at, key, source, *field))) return r;
    }
  }
  if (const toml::node* timing = t.get("timing")) {
    const toml::table* tt = timing->as_table();
    if (!tt) return config_error(source, "'timing' must be a table");
    if (auto k = check_keys(*tt,
                            {"ping_interval_ms", "idle_timeout_ms", "handshake_timeout_ms", "reconnect_base_ms",
                             "reconnect_max_ms", "stream_stall_ms", "pex_interval_ms", "nostr_discovery_ms"},
                            "timing.", source);
        !k) {
      return k;
    }
    if (!(r = get(*tt, "ping_interval_ms", source, c.ping_interval_ms))) return r;
    if (!(r = get(*tt, "idle_timeout_ms", source, c.idle_timeout_ms))) return r;
    if (!(r = get(*tt, "handshake_timeout_ms", source, c.handshake_timeout_ms))) return r;
    if (!(r = get(*tt, "reconnect_base_ms", source, c.reconnect_base_ms))) return r;
    if (!(r = get(*tt, "reconnect_max_ms", source, c.reconnect_max_ms))) return r;
    if (!(r = get(*tt, "stream_stall_ms", source, c.stream_stall_ms))) return r;
    if (!(r = get(*tt, "pex_interval_ms", source, c.pex_interval_ms))) return r;
    if (!(r = get(*tt, "nostr_discovery_ms", source, c.nostr_discovery_ms))) return r;
  }
  return {};
}

Result<agent::NodeOptions> to_node_options(const NodeConfig& c) {
  auto bad = [](const std::string& what) { return make_error(Errc::invalid_input, what); };
  if (c.key.empty())
    return bad("no key: pass --key FILE or set key = \"FILE\" (create one with `openstreaming keys new`)");
  if (auto l = core::Endpoint::parse(c.listen, true); !l) return bad("--listen: " + l.error().message);
  if (auto a = core::Endpoint::parse(c.api, true); !a) return bad("--api: " + a.error().message);
  if (c.max_peers < 1 || c.max_peers > 10000) return bad("max_peers must be between 1 and 10000");
  if (c.target_peers < 0) return bad("target_peers must be between 0 and max_peers");
  for (int64_t v : {c.ping_interval_ms, c.idle_timeout_ms, c.handshake_timeout_ms, c.reconnect_base_ms,
                    c.reconnect_max_ms, c.stream_stall_ms, c.pex_interval_ms, c.nostr_discovery_ms}) {
    if (v < 10 || v > 3'600'000) return bad("timing values must be between 10 ms and 1 hour");
  }
  if (c.idle_timeout_ms <= c.ping_interval_ms) return bad("timing.idle_timeout_ms must exceed timing.ping_interval_ms");
  int sources = !c.ingest.empty() + !c.rtmp_listen.empty() + !c.srt_listen.empty();
  if (sources > 1) return bad("--ingest, --rtmp-listen and --srt-listen exclude each other");
  if (sources == 1 && c.stream.empty()) return bad("--ingest, --rtmp-listen and --srt-listen need --stream NAME");
  if (c.stream.size() > 64 || c.stream.find_first_of("/?#\\ ") != std::string::npos)
    return bad("--stream: 1-64 characters, no spaces, / ? # or \\");
  if (!c.rtmp_listen.empty()) {
    auto ep = core::Endpoint::parse(c.rtmp_listen);
    if (!ep) return bad("--rtmp-listen: " + ep.error().message);
  }
  if (!c.srt_listen.empty()) {
    auto ep = core::Endpoint::parse(c.srt_listen);
    if (!ep) return bad("--srt-listen: " + ep.error().message);
  }
  agent::NodeOptions o;
  const AgentConfig& a = c.agent;
  if (a.upload_capacity_kbps < 0 || a.upload_capacity_kbps > 100'000'000)
    return bad("agent.upload_capacity_kbps must be 0..100000000");
  for (double w : {a.w_latency, a.w_bandwidth, a.w_economics, a.w_empathy}) {
    if (!(w >= 0 && w <= 1)) return bad("agent weights must be between 0 and 1");
  }
  if (!(a.hysteresis >= 0 && a.hysteresis <= 1)) return bad("agent.hysteresis must be between 0 and 1");
  if (a.reflect_interval_ms < 100 || a.reflect_interval_ms > 600'000 || a.state_interval_ms < 100 ||
      a.state_interval_ms > 600'000) {
    return bad("agent.reflect_interval_ms and agent.state_interval_ms must be between 100 ms and 10 min");
  }
  if (a.topology_interval_ms < 1000 || a.topology_interval_ms > 86'400'000 || a.topology_min_age_ms < 0 ||
      a.topology_min_age_ms > 86'400'000)
    return bad("agent.topology_interval_ms must be between 1 s and 1 day, agent.topology_min_age_ms at most 1 day");
  if (a.diverse_peers < 0 || a.diverse_peers > 64) return bad("agent.diverse_peers must be 0..64");
  auto cost = core::Amount::parse(a.cost_per_mb);
  if (!cost) return bad("agent.cost_per_mb: " + cost.error().message);
  auto cpu = core::Amount::parse(a.cpu_cost_per_mb);
  if (!cpu) return bad("agent.cpu_cost_per_mb: " + cpu.error().message);
  o.agent_config.enabled = a.enabled;
  o.agent_config.economics.bandwidth_cost_wei_per_mb = *cost;
  o.agent_config.economics.cpu_cost_wei_per_mb = *cpu;
  o.agent_config.economics.capacity_kbps = static_cast<uint64_t>(a.upload_capacity_kbps);
  if (!a.max_price_per_mb.empty()) {
    auto m = core::Amount::parse(a.max_price_per_mb);
    if (!m) return bad("agent.max_price_per_mb: " + m.error().message);
    o.agent_config.max_price_wei_per_mb = *m;
  }
  const PaymentsConfig& pc = c.payments;
  o.payments.enabled = !c.ledger.empty();
  if (!c.contracts.empty() && c.ledger.empty()) return bad("contracts: needs a ledger (--ledger evm+http://HOST:PORT)");
  auto redeem = core::Amount::parse(pc.redeem_cost);
  if (!redeem || redeem->wei() == 0)
    return bad("payments.redeem_cost: " + (redeem ? std::string("must be above 0") : redeem.error().message));
  o.payments.redeem_cost = *redeem;
  auto max_face = core::Amount::parse(pc.max_face_value);
  if (!max_face) return bad("payments.max_face_value: " + max_face.error().message);
  o.payments.limits.max_face_value = *max_face;
  if (pc.ticket_kb < 1 || pc.ticket_kb > 1'000'000) return bad("payments.ticket_kb must be 1..1000000");
  o.payments.ticket_bytes = static_cast<uint64_t>(pc.ticket_kb) * 1024;
  if (pc.poll_ms < 50 || pc.poll_ms > 60'000) return bad("payments.poll_ms must be 50..60000");
  auto spend = core::Amount::parse(pc.max_spend_per_round);
  if (!spend || spend->wei() == 0)
    return bad("payments.max_spend_per_round: " + (spend ? std::string("must be above 0") : spend.error().message));
  o.payments.max_spend_per_round = *spend;
  if (pc.credit_kb < 1 || pc.credit_kb > 16'777'216) return bad("payments.credit_kb must be 1..16777216");
  o.payments.credit_bytes = static_cast<uint64_t>(pc.credit_kb) * 1024;
  if (pc.confirmations < 1 || pc.confirmations > 1000) return bad("payments.confirmations must be 1..1000");
  if (!pc.max_gas_price.empty()) {
    auto cap = core::Amount::parse(pc.max_gas_price);
    if (!cap || cap->wei() == 0)
      return bad("payments.max_gas_price: " + (cap ? std::string("must be above 0") : cap.error().message));
  }
  o.agent_config.propagation.w_latency = a.w_latency;
  o.agent_config.propagation.w_bandwidth = a.w_bandwidth;
  o.agent_config.propagation.w_economics = a.w_economics;
  o.agent_config.propagation.w_empathy = a.w_empathy;
  o.agent_config.propagation.hysteresis = a.hysteresis;
  o.agent_config.propagation.dual_feed = a.dual_feed;
  o.agent_config.reflect_interval = std::chrono::milliseconds(a.reflect_interval_ms);
  o.agent_config.empathy.state_interval = std::chrono::milliseconds(a.state_interval_ms);
  o.agent_config.propagation.learn_weights = a.learn_weights;
  o.agent_config.topology.enabled = a.adapt_topology;
  o.agent_config.topology.interval = std::chrono::milliseconds(a.topology_interval_ms);
  o.agent_config.topology.min_age = std::chrono::milliseconds(a.topology_min_age_ms);
  o.agent_config.topology.diverse_peers = static_cast<std::size_t>(a.diverse_peers);
  for (const auto& b : c.bootstrap) {
    auto ep = core::Endpoint::parse(b);
    if (!ep) return bad("--bootstrap: " + ep.error().message);
    o.bootstrap.push_back(*ep);
  }
  if (c.nostr_relays.size() > 16) return bad("--nostr-relay: at most 16 relays");
  for (const auto& u : c.nostr_relays) {
    if (auto url = core::RelayUrl::parse(u); !url) return bad("--nostr-relay: " + url.error().message);
  }
  for (const auto& r : c.roles) {
    if (std::find(known_roles().begin(), known_roles().end(), r) == known_roles().end()) {
      return bad("unknown role '" + r + "' (relay, broadcaster, viewer, transcoder, orchestrator)");
    }
    // Refused, not accepted silently: the node would announce the role to its
    // peers (in its Hello) without doing any of its work.
    if (r == "transcoder" || r == "orchestrator")
      return bad("--role " + r + " is not implemented yet: a node can be a relay, broadcaster or viewer");
  }
  o.roles = c.roles;
  o.max_peers = static_cast<std::size_t>(c.max_peers);
  o.target_peers = static_cast<std::size_t>(std::min(c.target_peers, c.max_peers)); // never more than we may keep
  o.peer_exchange = c.peer_exchange;
  o.ping_interval = std::chrono::milliseconds(c.ping_interval_ms);
  o.idle_timeout = std::chrono::milliseconds(c.idle_timeout_ms);
  o.handshake_timeout = std::chrono::milliseconds(c.handshake_timeout_ms);
  o.reconnect_base = std::chrono::milliseconds(c.reconnect_base_ms);
  o.reconnect_max = std::chrono::milliseconds(std::max(c.reconnect_max_ms, c.reconnect_base_ms));
  o.stream_stall_timeout = std::chrono::milliseconds(c.stream_stall_ms);
  o.pex_interval = std::chrono::milliseconds(c.pex_interval_ms);
  o.upstream_silence = std::chrono::milliseconds(std::max<int64_t>(c.stream_stall_ms * 3 / 10, 10));
  return o;
}

} // namespace openstreaming::daemon
