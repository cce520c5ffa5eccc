#include "sim/scenario.h"

#include "core/amount.h"

#include <toml++/toml.h>

#include <set>

namespace openstreaming::sim {

namespace {

Error bad(const std::string& source, const std::string& what) {
  return make_error(Errc::invalid_input, source + ": " + what);
}

Result<void> only(const toml::table& t, const std::set<std::string>& keys, const std::string& where,
                  const std::string& source) {
  for (const auto& [k, v] : t) {
    if (!keys.count(std::string(k.str()))) return bad(source, "unknown key '" + where + std::string(k.str()) + "'");
  }
  return {};
}

template <class T>
Result<void> num(const toml::table& t, const char* key, T& out, const std::string& where, const std::string& source) {
  const toml::node* n = t.get(key);
  if (!n) return {};
  if (auto i = n->value<int64_t>()) {
    if constexpr (std::is_unsigned_v<T>) {
      if (*i < 0) return bad(source, where + key + " must be >= 0");
    }
    out = static_cast<T>(*i);
    return {};
  }
  if (auto d = n->value<double>()) {
    if constexpr (std::is_integral_v<T>)
      return bad(source, where + key + " must be an integer");
    else {
      out = static_cast<T>(*d);
      return {};
    }
  }
  return bad(source, where + key + " must be a number");
}

Result<void> str(const toml::table& t, const char* key, std::string& out, const std::string& where,
                 const std::string& source) {
  const toml::node* n = t.get(key);
  if (!n) return {};
  auto s = n->value<std::string>();
  if (!s) return bad(source, where + key + " must be a string");
  out = *s;
  return {};
}

Result<void> range(const toml::table& t, const char* key, double (&out)[2], const std::string& where,
                   const std::string& source) {
  const toml::node* n = t.get(key);
  if (!n) return {};
  const toml::array* a = n->as_array();
  if (!a || a->size() != 2) return bad(source, where + key + " must be [low, high]");
  for (std::size_t i = 0; i < 2; ++i) {
    auto v = (*a)[i].value<double>();
    if (!v) return bad(source, where + key + " must hold numbers");
    out[i] = *v;
  }
  return {};
}

const toml::table* section(const toml::table& t, const char* key) {
  const toml::node* n = t.get(key);
  return n ? n->as_table() : nullptr;
}

} // namespace

Result<Scenario> Scenario::parse(const std::string& text, const std::string& source) {
  toml::table t;
  try {
    t = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    return bad(source, "line " + std::to_string(e.source().begin.line) + ": " + std::string(e.description()));
  }
  Scenario s;
  Result<void> r;
  if (!(r = only(t,
                 {"seed", "duration_s", "network", "stream", "viewers", "strategy", "adversary", "churn", "crypto",
                  "payments"},
                 "", source)))
    return r.error();
  if (!(r = num(t, "seed", s.seed, "", source))) return r.error();
  if (!(r = num(t, "duration_s", s.duration_s, "", source))) return r.error();
  if (!(r = str(t, "crypto", s.crypto, "", source))) return r.error();
  for (const char* key : {"network", "stream", "viewers", "strategy", "churn", "payments"}) {
    if (t.get(key) && !section(t, key)) return bad(source, std::string("'") + key + "' must be a table");
  }
  if (const auto* n = section(t, "network")) {
    if (!(r = only(*n, {"nodes", "topology", "degree", "latency_ms", "bandwidth_mbps", "loss"}, "network.", source)))
      return r.error();
    if (!(r = num(*n, "nodes", s.nodes, "network.", source))) return r.error();
    if (!(r = str(*n, "topology", s.topology, "network.", source))) return r.error();
    if (!(r = num(*n, "degree", s.degree, "network.", source))) return r.error();
    if (!(r = range(*n, "latency_ms", s.latency_ms, "network.", source))) return r.error();
    if (!(r = range(*n, "bandwidth_mbps", s.bandwidth_mbps, "network.", source))) return r.error();
    if (!(r = num(*n, "loss", s.loss, "network.", source))) return r.error();
  }
  if (const auto* n = section(t, "stream")) {
    if (!(r = only(*n, {"broadcasters", "bitrate_kbps", "segment_s", "part_s", "playout_delay_s"}, "stream.", source)))
      return r.error();
    if (!(r = num(*n, "broadcasters", s.broadcasters, "stream.", source))) return r.error();
    if (!(r = num(*n, "bitrate_kbps", s.bitrate_kbps, "stream.", source))) return r.error();
    if (!(r = num(*n, "segment_s", s.segment_s, "stream.", source))) return r.error();
    if (!(r = num(*n, "part_s", s.part_s, "stream.", source))) return r.error();
    if (!(r = num(*n, "playout_delay_s", s.playout_delay_s, "stream.", source))) return r.error();
  }
  if (const auto* n = section(t, "viewers")) {
    if (!(r = only(*n, {"fraction", "join_spread_s"}, "viewers.", source))) return r.error();
    if (!(r = num(*n, "fraction", s.viewer_fraction, "viewers.", source))) return r.error();
    if (!(r = num(*n, "join_spread_s", s.join_spread_s, "viewers.", source))) return r.error();
  }
  if (const auto* n = section(t, "strategy")) {
    if (!(r = only(*n, {"name", "dual_feed", "adapt_topology", "learn_weights"}, "strategy.", source)))
      return r.error();
    if (!(r = str(*n, "name", s.strategy, "strategy.", source))) return r.error();
    if (const toml::node* d = n->get("dual_feed")) {
      auto v = d->value<bool>();
      if (!v) return bad(source, "strategy.dual_feed must be true or false");
      s.dual_feed = *v;
    }
    if (const toml::node* d = n->get("adapt_topology")) {
      auto v = d->value<bool>();
      if (!v) return bad(source, "strategy.adapt_topology must be true or false");
      s.adapt_topology = *v;
    }
    if (const toml::node* d = n->get("learn_weights")) {
      auto v = d->value<bool>();
      if (!v) return bad(source, "strategy.learn_weights must be true or false");
      s.learn_weights = *v;
    }
  }
  if (const auto* n = section(t, "churn")) {
    if (!(r = only(*n, {"leave_per_min", "rejoin_s"}, "churn.", source))) return r.error();
    if (!(r = num(*n, "leave_per_min", s.leave_per_min, "churn.", source))) return r.error();
    if (!(r = num(*n, "rejoin_s", s.rejoin_s, "churn.", source))) return r.error();
  }
  if (const auto* n = section(t, "payments")) {
    PaymentScenario& p = s.payments;
    if (!(r = only(*n, {"enabled", "deposit", "reserve", "redeem_cost", "ticket_kb", "block_ms", "round_blocks"},
                   "payments.", source)))
      return r.error();
    if (const toml::node* e = n->get("enabled")) {
      const auto* v = e->as_boolean(); // not value<bool>(): that converts 1 to true
      if (!v) return bad(source, "payments.enabled must be true or false");
      p.enabled = v->get();
    }
    if (!(r = str(*n, "deposit", p.deposit, "payments.", source))) return r.error();
    if (!(r = str(*n, "reserve", p.reserve, "payments.", source))) return r.error();
    if (!(r = str(*n, "redeem_cost", p.redeem_cost, "payments.", source))) return r.error();
    if (!(r = num(*n, "ticket_kb", p.ticket_kb, "payments.", source))) return r.error();
    if (!(r = num(*n, "block_ms", p.block_ms, "payments.", source))) return r.error();
    if (!(r = num(*n, "round_blocks", p.round_blocks, "payments.", source))) return r.error();
  }
  if (const toml::node* adv = t.get("adversary")) {
    const toml::array* a = adv->as_array();
    if (!a) return bad(source, "'adversary' must be an array of tables ([[adversary]])");
    for (const auto& item : *a) {
      const toml::table* at = item.as_table();
      if (!at) return bad(source, "each [[adversary]] must be a table");
      Adversary x;
      if (!(r = only(*at, {"fraction", "behavior", "param", "start_s"}, "adversary.", source))) return r.error();
      if (!(r = num(*at, "fraction", x.fraction, "adversary.", source))) return r.error();
      if (!(r = str(*at, "behavior", x.behavior, "adversary.", source))) return r.error();
      if (!(r = num(*at, "param", x.param, "adversary.", source))) return r.error();
      if (!(r = num(*at, "start_s", x.start_s, "adversary.", source))) return r.error();
      s.adversaries.push_back(x);
    }
  }
  if (auto v = s.validate(); !v) return bad(source, v.error().message);
  return s;
}

Result<void> Scenario::validate() const {
  auto no = [](const std::string& w) { return make_error(Errc::invalid_input, w); };
  if (duration_s <= 0 || duration_s > 86400) return no("duration_s must be in (0, 86400]");
  if (nodes < 2 || nodes > 200000) return no("network.nodes must be 2..200000");
  if (topology != "random-regular" && topology != "geometric" && topology != "barabasi-albert") {
    return no("network.topology must be random-regular, geometric or barabasi-albert (not '" + topology + "')");
  }
  if (degree < 2 || degree >= nodes) return no("network.degree must be >= 2 and < nodes");
  if (latency_ms[0] < 0 || latency_ms[1] < latency_ms[0])
    return no("network.latency_ms must be [low, high] with 0 <= low <= high");
  if (bandwidth_mbps[0] <= 0 || bandwidth_mbps[1] < bandwidth_mbps[0])
    return no("network.bandwidth_mbps must be [low, high] with 0 < low <= high");
  if (loss < 0 || loss >= 1) return no("network.loss must be in [0, 1)");
  if (broadcasters < 1 || broadcasters >= nodes) return no("stream.broadcasters must be >= 1 and < nodes");
  if (bitrate_kbps <= 0 || bitrate_kbps > 100000) return no("stream.bitrate_kbps must be in (0, 100000]");
  if (part_s <= 0 || segment_s < part_s) return no("stream.part_s must be > 0 and <= segment_s");
  if (viewer_fraction < 0 || viewer_fraction > 1) return no("viewers.fraction must be in [0, 1]");
  if (strategy != "agent" && strategy != "random" && strategy != "latency" && strategy != "gossip" &&
      strategy != "stake-weighted") {
    return no("strategy.name must be agent, random, latency, gossip or stake-weighted (not '" + strategy + "')");
  }
  if (crypto != "real" && crypto != "cost-model") return no("crypto must be \"real\" or \"cost-model\"");
  double adv = 0;
  for (const auto& a : adversaries) {
    static const std::set<std::string> known = {"drop",      "delay",     "corrupt",      "lie-capacity",
                                                "overprice", "free-ride", "covert-flash", "sybil"};
    if (!known.count(a.behavior))
      return no("adversary.behavior '" + a.behavior +
                "' is not one of drop, delay, corrupt, lie-capacity, overprice, free-ride, covert-flash, sybil");
    if (a.fraction < 0 || a.fraction > 1) return no("adversary.fraction must be in [0, 1]");
    adv += a.fraction;
  }
  if (adv > 0.9) return no("adversary fractions add up to more than 0.9");
  if (leave_per_min < 0 || leave_per_min > 1) return no("churn.leave_per_min must be in [0, 1]");
  for (const auto& [key, text] : {std::pair<const char*, const std::string&>{"deposit", payments.deposit},
                                  {"reserve", payments.reserve},
                                  {"redeem_cost", payments.redeem_cost}}) {
    auto a = core::Amount::parse(text);
    if (!a || a->wei() == 0)
      return no(std::string("payments.") + key + " must be a positive amount such as \"1ether\"");
  }
  if (payments.ticket_kb < 1 || payments.ticket_kb > 1 << 20) return no("payments.ticket_kb must be 1..1048576");
  if (payments.block_ms < 10 || payments.block_ms > 60000) return no("payments.block_ms must be 10..60000");
  if (payments.round_blocks < 1 || payments.round_blocks > 1000) return no("payments.round_blocks must be 1..1000");
  if (payments.enabled && strategy == "gossip") return no("payments are not modelled for the gossip baseline");
  return {};
}

} // namespace openstreaming::sim
