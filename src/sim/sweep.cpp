#include "sim/sweep.h"

#include "sim/report.h"
#include "sim/sim_random.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <set>
#include <sstream>

namespace openstreaming::sim {

namespace {

using nlohmann::json;

const std::vector<std::string> kStrategies = {"agent", "random", "latency", "gossip", "stake-weighted"};

Error bad(const std::string& source, const std::string& what) {
  return make_error(Errc::invalid_input, source + ": " + what);
}

double unit_draw(core::RandomSource& rng) {
  return static_cast<double>(rng.next_u64() >> 11) * (1.0 / 9007199254740992.0);
}

// A sampler's [lo, hi] bounds.
Result<std::pair<double, double>> bounds(const toml::node& n, const std::string& where, const std::string& source) {
  const toml::array* a = n.as_array();
  if (!a || a->size() != 2) return bad(source, where + " must be [low, high]");
  auto lo = (*a)[0].value<double>(), hi = (*a)[1].value<double>();
  if (!lo || !hi) return bad(source, where + " must hold two numbers");
  if (!(*lo <= *hi) || !std::isfinite(*lo) || !std::isfinite(*hi)) return bad(source, where + " needs low <= high");
  return std::pair{*lo, *hi};
}

// The resolved form of `n`, boxed as the single element of an array (toml++
// inserts only concrete node types; visiting the box's element gives one).
// Recursion depth is bounded by the parser's own nesting limit.
Result<toml::array> resolve(const toml::node& n, core::RandomSource& rng, const std::string& where,
                            const std::string& source) {
  toml::array box;
  if (const toml::table* t = n.as_table()) {
    static const std::set<std::string> kinds = {"uniform", "int", "log_int", "choice"};
    if (t->size() == 1 && kinds.count(std::string(t->begin()->first.str()))) {
      const std::string kind(t->begin()->first.str());
      const toml::node& arg = t->begin()->second;
      const std::string at = where + "." + kind;
      if (kind == "choice") {
        const toml::array* a = arg.as_array();
        if (!a || a->empty()) return bad(source, at + " must be a non-empty array");
        return resolve((*a)[rng.uniform(a->size())], rng, where, source);
      }
      auto b = bounds(arg, at, source);
      if (!b) return b.error();
      auto [lo, hi] = *b;
      if (kind == "uniform") {
        double v = lo + (hi - lo) * unit_draw(rng);
        box.push_back(std::round(v * 1e4) / 1e4); // readable scenario files; 1e-4 is far below any effect
      } else {
        if (lo != std::floor(lo) || hi != std::floor(hi)) return bad(source, at + " bounds must be integers");
        if (kind == "log_int" && lo < 1) return bad(source, at + " bounds must be >= 1");
        int64_t v = 0;
        if (kind == "int") {
          v = static_cast<int64_t>(lo) + static_cast<int64_t>(rng.uniform(static_cast<uint64_t>(hi - lo) + 1));
        } else {
          double l = std::log(lo), h = std::log(hi + 1);
          v = std::clamp(static_cast<int64_t>(std::floor(std::exp(l + (h - l) * unit_draw(rng)))),
                         static_cast<int64_t>(lo), static_cast<int64_t>(hi));
        }
        box.push_back(v);
      }
      return box;
    }
    toml::table out;
    for (const auto& [k, v] : *t) {
      auto r = resolve(v, rng, where.empty() ? std::string(k.str()) : where + "." + std::string(k.str()), source);
      if (!r) return r.error();
      (*r)[0].visit([&](auto& x) { out.insert_or_assign(k, std::move(x)); });
    }
    box.push_back(std::move(out));
    return box;
  }
  if (const toml::array* a = n.as_array()) {
    toml::array out;
    for (std::size_t i = 0; i < a->size(); ++i) {
      auto r = resolve((*a)[i], rng, where + "[" + std::to_string(i) + "]", source);
      if (!r) return r.error();
      (*r)[0].visit([&](auto& x) { out.push_back(std::move(x)); });
    }
    box.push_back(std::move(out));
    return box;
  }
  n.visit([&](const auto& x) { box.push_back(x); });
  return box;
}

// Sample i's own generator: the first k samples are the same whatever the count.
uint64_t sample_seed(uint64_t seed, std::size_t i) {
  uint64_t z = seed + 0x9e3779b97f4a7c15ULL * (static_cast<uint64_t>(i) + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::string fixed(double v, int digits) {
  std::ostringstream o;
  o << std::fixed << std::setprecision(digits) << v;
  return o.str();
}

std::string esc(const std::string& s) { return html_escape(s); }

double num_or(const json& j, const char* a, const char* b, double fallback) {
  if (!j.contains(a)) return fallback;
  const json& x = b ? j[a] : j;
  const json& v = b ? (x.contains(b) ? x[b] : json()) : j[a];
  return v.is_number() ? v.get<double>() : fallback;
}

std::string describe(const Scenario& s) {
  std::ostringstream o;
  o << s.topology << " " << s.nodes << "n d" << s.degree << ", up " << fixed(s.bandwidth_mbps[0], 1) << "-"
    << fixed(s.bandwidth_mbps[1], 0) << " Mb/s, " << fixed(s.latency_ms[0], 0) << "-" << fixed(s.latency_ms[1], 0)
    << " ms, loss " << fixed(s.loss * 100, 2) << "%, " << s.broadcasters << " bc, " << fixed(s.viewer_fraction * 100, 0)
    << "% viewers";
  if (s.leave_per_min > 0) o << ", churn " << fixed(s.leave_per_min * 100, 1) << "%/min";
  for (const auto& a : s.adversaries) {
    if (a.fraction > 0) o << ", " << fixed(a.fraction * 100, 0) << "% " << a.behavior;
  }
  return o.str();
}

} // namespace

Result<std::vector<SweepSample>> sample_space(const std::string& space_text, const std::string& source,
                                              std::size_t count, uint64_t seed, uint64_t max_nodes) {
  if (count < 1 || count > 10000) return bad(source, "the sweep's count must be 1..10000");
  toml::table space;
  try {
    space = toml::parse(space_text, source);
  } catch (const toml::parse_error& e) {
    return bad(source, "line " + std::to_string(e.source().begin.line) + ": " + std::string(e.description()));
  }
  if (space.get("seed")) return bad(source, "a space may not set 'seed': the sweep draws each scenario's seed");
  if (const toml::table* st = space["strategy"].as_table(); st && st->get("name")) {
    return bad(source, "a space may not set strategy.name: --strategies chooses them");
  }
  std::vector<SweepSample> out;
  for (std::size_t i = 0; i < count; ++i) {
    SimRandom rng(sample_seed(seed, i));
    auto r = resolve(space, rng, "", source);
    if (!r) return r.error();
    toml::table* t = (*r)[0].as_table();
    t->insert_or_assign("seed", static_cast<int64_t>(rng.next_u64() % 1'000'000'000));
    if (max_nodes) {
      if (toml::table* net = (*t)["network"].as_table()) {
        if (auto n = (*net)["nodes"].value<int64_t>(); n && *n > static_cast<int64_t>(max_nodes))
          net->insert_or_assign("nodes", static_cast<int64_t>(max_nodes));
      }
    }
    std::ostringstream text;
    text << "# drawn by openstreaming sim sweep from " << source << ", seed " << seed << ", sample " << i << "\n"
         << toml::toml_formatter(*t, toml::toml_formatter::default_flags | toml::format_flags::relaxed_float_precision)
         << "\n";
    SweepSample s;
    s.index = i;
    s.name = (i < 10 ? "s0" : "s") + std::to_string(i);
    s.toml = text.str();
    auto sc = Scenario::parse(s.toml, source + " sample " + std::to_string(i));
    if (!sc) return sc.error();
    s.scenario = std::move(*sc);
    s.scenario.name = s.name;
    out.push_back(std::move(s));
  }
  return out;
}

Result<std::vector<std::string>> parse_strategies(const std::string& list) {
  std::vector<std::string> out;
  std::stringstream in(list);
  std::string name;
  while (std::getline(in, name, ',')) {
    if (name.empty()) continue;
    if (std::find(kStrategies.begin(), kStrategies.end(), name) == kStrategies.end())
      return make_error(Errc::invalid_input,
                        "unknown strategy '" + name + "': agent, random, latency, gossip or stake-weighted");
    if (std::find(out.begin(), out.end(), name) != out.end())
      return make_error(Errc::invalid_input, "strategy '" + name + "' is listed twice");
    out.push_back(name);
  }
  if (out.empty()) return make_error(Errc::invalid_input, "--strategies lists no strategy");
  return out;
}

json sweep_table(const std::vector<SweepRow>& rows, const std::vector<std::string>& strategies) {
  json scenarios = json::array();
  std::map<std::string, uint64_t> wins;
  const bool has_agent = std::find(strategies.begin(), strategies.end(), "agent") != strategies.end();
  uint64_t agent_ok = 0, adversarial = 0, agent_best_adv = 0, honest = 0, agent_p95_ok = 0, compared = 0;
  for (const SweepRow& row : rows) {
    json per = json::object();
    std::string winner;
    double best_c = -1;
    for (std::size_t k = 0; k < strategies.size() && k < row.summaries.size(); ++k) {
      best_c = std::max(best_c, num_or(row.summaries[k], "continuity_index", nullptr, 0));
    }
    double winner_p95 = 1e300;
    for (std::size_t k = 0; k < strategies.size() && k < row.summaries.size(); ++k) {
      const json& j = row.summaries[k];
      double c = num_or(j, "continuity_index", nullptr, 0), p95 = num_or(j, "latency_ms", "p95", 1e300);
      per[strategies[k]] = {{"continuity", c},
                            {"latency_p95_ms", p95 >= 1e300 ? json(nullptr) : json(p95)},
                            {"duplicate_ratio", num_or(j, "duplicate_ratio", nullptr, 0)},
                            {"honest_earnings_gini", num_or(j, "honest_earnings_gini", nullptr, 0)},
                            {"adversary_isolation_s", j.value("adversary_isolation_s", json(nullptr))},
                            {"wall_s", num_or(j, "wall_s", nullptr, 0)}};
      if (c >= best_c - 0.001 && p95 < winner_p95) winner = strategies[k], winner_p95 = p95;
    }
    if (!winner.empty()) ++wins[winner];
    bool adv = std::any_of(row.sample.scenario.adversaries.begin(), row.sample.scenario.adversaries.end(),
                           [](const Adversary& a) { return a.fraction > 0; });
    json standing = nullptr;
    if (has_agent && strategies.size() > 1 && row.summaries.size() == strategies.size()) {
      ++compared;
      double agent_c = per["agent"]["continuity"], agent_p95 = num_or(per["agent"], "latency_p95_ms", nullptr, 1e300);
      double base_c = -1, base_p95 = 1e300;
      for (const auto& s : strategies) {
        if (s == "agent") continue;
        base_c = std::max(base_c, per[s]["continuity"].get<double>());
        base_p95 = std::min(base_p95, num_or(per[s], "latency_p95_ms", nullptr, 1e300));
      }
      bool holds = agent_c >= base_c - 0.005;
      bool strictly = agent_c > base_c;
      bool p95_ok = agent_p95 <= base_p95 * 1.10;
      agent_ok += holds;
      if (adv) {
        ++adversarial;
        agent_best_adv += strictly;
      } else {
        ++honest;
        agent_p95_ok += p95_ok;
      }
      standing = {{"best_baseline_continuity", base_c},
                  {"continuity_margin", agent_c - base_c},
                  {"holds", holds},
                  {"strictly_best", strictly},
                  {"p95_within_10pct", p95_ok}};
    }
    scenarios.push_back({{"name", row.sample.name},
                         {"description", describe(row.sample.scenario)},
                         {"adversarial", adv},
                         {"nodes", row.sample.scenario.nodes},
                         {"topology", row.sample.scenario.topology},
                         {"strategies", per},
                         {"winner", winner},
                         {"agent", standing}});
  }
  json rates = json::object();
  for (const auto& s : strategies) {
    rates[s] = rows.empty() ? 0.0 : static_cast<double>(wins[s]) / static_cast<double>(rows.size());
  }
  json agent = nullptr;
  if (compared) {
    agent = {{"scenarios", compared},
             {"holds", agent_ok},
             {"holds_share", static_cast<double>(agent_ok) / static_cast<double>(compared)},
             {"adversarial", adversarial},
             {"strictly_best_adversarial", agent_best_adv},
             {"honest", honest},
             {"p95_within_10pct_honest", agent_p95_ok},
             {"goal_met", static_cast<double>(agent_ok) >= 0.95 * static_cast<double>(compared) &&
                              agent_best_adv == adversarial && agent_p95_ok == honest}};
  }
  return {{"strategies", strategies}, {"scenarios", scenarios}, {"win_rate", rates}, {"agent", agent}};
}

Result<void> write_sweep_report(const std::string& dir, const json& table) {
  const auto& strategies = table["strategies"];
  std::ostringstream md, html;
  md << "| scenario |";
  for (const auto& s : strategies) md << " " << s.get<std::string>() << " |";
  md << " winner |\n|---|";
  for (std::size_t k = 0; k < strategies.size(); ++k) md << "---|";
  md << "---|\n";
  html << "<!doctype html><html><head><meta charset=utf-8><title>OpenStreaming sweep</title><style>"
          "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;"
          "padding:4px 8px;text-align:right}td.d{text-align:left}td.w{background:#d4f4d4;font-weight:bold}"
          "td.l{background:#f8d4d4}</style></head><body><h1>Scenario sweep</h1>"
          "<p>Each cell: continuity index / p95 latency (ms). Winner: the highest continuity; within 0.001 of it, "
          "the lowest p95. Red: the agent below the best baseline by more than 0.005.</p><table><tr><th>scenario</th>"
          "<th>parameters</th>";
  for (const auto& s : strategies) html << "<th>" << esc(s.get<std::string>()) << "</th>";
  html << "<th>winner</th></tr>\n";
  for (const auto& sc : table["scenarios"]) {
    const std::string name = sc["name"], winner = sc["winner"];
    md << "| " << name << " " << sc["description"].get<std::string>() << " |";
    html << "<tr><td class=d>" << esc(name) << "</td><td class=d>" << esc(sc["description"].get<std::string>())
         << "</td>";
    for (const auto& s : strategies) {
      const json& r = sc["strategies"].value(s.get<std::string>(), json::object());
      double c = r.value("continuity", 0.0);
      std::string p95 = r.contains("latency_p95_ms") && r["latency_p95_ms"].is_number()
                            ? fixed(r["latency_p95_ms"].get<double>(), 0)
                            : "-";
      md << " " << fixed(c, 3) << " / " << p95 << " |";
      std::string cls = s == winner ? " class=w" : "";
      if (s == "agent" && sc["agent"].is_object() && !sc["agent"]["holds"].get<bool>()) cls = " class=l";
      html << "<td" << cls << ">" << fixed(c, 3) << " / " << p95 << "</td>";
    }
    md << " " << winner << " |\n";
    html << "<td class=d>" << esc(winner) << "</td></tr>\n";
  }
  html << "</table><h2>Win rate</h2><ul>";
  md << "\nWin rate:";
  for (const auto& s : strategies) {
    double r = table["win_rate"][s.get<std::string>()];
    md << " " << s.get<std::string>() << " " << fixed(r * 100, 0) << "%;";
    html << "<li>" << esc(s.get<std::string>()) << ": " << fixed(r * 100, 0) << " %</li>";
  }
  html << "</ul>";
  md << "\n";
  if (table["agent"].is_object()) {
    const json& a = table["agent"];
    std::ostringstream line;
    line << "The agent within 0.005 of the best baseline's continuity in " << a["holds"].get<uint64_t>() << " of "
         << a["scenarios"].get<uint64_t>() << " scenarios; strictly best in " << a["strictly_best_adversarial"]
         << " of " << a["adversarial"] << " adversarial ones; p95 within 10 % of the best baseline's in "
         << a["p95_within_10pct_honest"] << " of " << a["honest"] << " honest ones. Goal "
         << (a["goal_met"].get<bool>() ? "met" : "not met") << ".";
    md << "\n" << line.str() << "\n";
    html << "<p>" << esc(line.str()) << "</p>";
  }
  html << "</body></html>\n";
  if (auto r = write_file(dir + "/sweep.json", table.dump(2) + "\n"); !r) return r.error();
  if (auto r = write_file(dir + "/table.md", md.str()); !r) return r.error();
  return write_file(dir + "/report.html", html.str());
}

} // namespace openstreaming::sim
