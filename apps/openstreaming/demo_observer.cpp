#include "apps/openstreaming/demo_observer.h"

#include "api/http_client.h"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace openstreaming::cli::demo {

namespace {

Result<json> get_json(const std::string& hostport, const std::string& path) {
  auto url = api::HttpUrl::parse("http://" + hostport + path);
  if (!url) return url.error();
  auto r = api::http_get(*url, std::chrono::seconds(2));
  if (!r) return r.error();
  auto j = json::parse(r->body, nullptr, false);
  if (j.is_discarded()) return make_error(Errc::io, hostport + path + ": not JSON");
  return j;
}

json find_stream(const json& list) {
  if (!list.is_array()) return nullptr;
  for (const auto& s : list) {
    if (s.value("name", "") == kStream) return s;
  }
  return nullptr;
}

} // namespace

Observer::Observer(std::vector<Member>& members, DemoLedger& ledger) : m_members(members), m_ledger(ledger) {
  for (const auto& m : members) m_name_of[m.key.address().to_checksum_hex()] = m.name;
}

json Observer::poll(double t) {
  json nodes = json::array(), edges = json::array();
  std::map<std::string, std::vector<double>> scores_of; // address -> scores others give it
  for (const auto& m : m_members) {
    json n = {{"name", m.name}, {"role", m.role},           {"address", m.key.address().to_checksum_hex()},
              {"api", m.api},   {"misbehave", m.misbehave}, {"alive", !m.stopped}};
    if (m.api.empty() || m.stopped) {
      nodes.push_back(n);
      continue;
    }
    auto streams = get_json(m.api, "/api/streams");
    auto routes = get_json(m.api, "/api/routes");
    auto neighbours = get_json(m.api, "/api/neighbors");
    auto payments = get_json(m.api, "/api/payments");
    n["alive"] = streams.ok();
    json s = streams ? find_stream(*streams) : json(nullptr);
    if (!s.is_null()) {
      n["stream"] = {{"id", s["id"]}, {"status", s["status"]}, {"stats", s["stats"]}};
      n["hls"] = "/node/" + m.name + "/hls/" + s["id"].get<std::string>() + "/source/index.m3u8"; // same origin
      if (m.role == "broadcaster") m_stream_id = s["id"].get<std::string>();
    }
    std::string primary;
    if (routes && routes->is_array()) {
      for (const auto& r : *routes) {
        if (r.value("name", "") != kStream) continue;
        if (r["primary"].is_string()) primary = r["primary"].get<std::string>();
        n["route"] = {{"primary", r["primary"]},
                      {"switches", r["switches"]},
                      {"last_switch_reason", r["last_switch_reason"]},
                      {"parts_missing", r["parts_missing"]},
                      {"parts_repaired", r["parts_repaired"]}};
      }
    }
    json nb = json::array();
    if (neighbours && neighbours->is_array()) {
      for (const auto& x : *neighbours) {
        std::string a = x.value("address", "");
        double score = x["coherence"].value("score", 1.0);
        std::string status = x.value("status", "trusted");
        nb.push_back({{"address", a},
                      {"name", name_of(a)},
                      {"status", status},
                      {"score", score},
                      {"connected", x.value("connected", false)}});
        if (x.value("connected", false)) scores_of[a].push_back(score);
        note_status(t, m.name, a, status);
        if (a == primary) edges.push_back({{"from", name_of(a)}, {"to", m.name}, {"score", score}, {"status", status}});
      }
    }
    n["neighbors"] = nb;
    note_route(t, m.name, primary);
    if (payments && payments->is_object()) {
      n["payments"] = {{"tickets", (*payments)["tickets"]},
                       {"balance", (*payments)["balance"]},
                       {"totals", (*payments)["totals"]},
                       {"winners_queued", (*payments)["winners_queued"]}};
      m_last_payments[m.name] = *payments;
    }
    if (!s.is_null()) m_last_stream[m.name] = s;
    if (routes) m_last_routes[m.name] = n.value("route", json(nullptr));
    nodes.push_back(n);
  }
  for (auto& n : nodes) {
    const auto& v = scores_of[n["address"].get<std::string>()];
    n["rated"] = v.empty() ? json(nullptr) : json(*std::min_element(v.begin(), v.end()));
  }
  json accounts = json::array();
  if (auto view = m_ledger.accounts(m_members)) {
    // Members' accounts in the dashboard's order (the members' order).
    for (const auto& m : m_members) {
      auto it = view->accounts.find(m.key.address().to_checksum_hex());
      if (it == view->accounts.end()) continue;
      const json& a = it->second;
      accounts.push_back(
          {{"name", m.name}, {"balance", a["balance"]}, {"deposit", a["deposit"]}, {"reserve", a["reserve"]}});
      m_last_accounts[m.name] = a;
    }
    m_last_fees = view->fees;
  }
  if (auto st = m_ledger.status()) m_ledger_status = *st;
  uint64_t redeemed = 0;
  for (const auto& [name, p] : m_last_payments) redeemed += p["tickets"].value("redeemed", uint64_t{0});
  m_redeemed_series.push_back({t, redeemed});
  if (m_redeemed_series.size() > 600) m_redeemed_series.erase(m_redeemed_series.begin());
  return {{"t", t},
          {"stream", {{"name", kStream}, {"id", m_stream_id}}},
          {"nodes", nodes},
          {"edges", edges},
          {"ledger",
           {{"url", m_ledger.url()},
            {"backend", m_ledger.backend()},
            {"status", m_ledger_status},
            {"accounts", accounts},
            {"fees", m_last_fees.str()},
            {"redeemed", m_redeemed_series}}},
          {"events", m_events}};
}

std::optional<std::pair<double, std::string>> Observer::first_distrust_of(const std::string& name) const {
  auto it = m_first_distrust.find(name);
  if (it == m_first_distrust.end()) return std::nullopt;
  return it->second;
}

std::string Observer::name_of(const std::string& addr) const {
  auto it = m_name_of.find(addr);
  return it == m_name_of.end() ? addr.substr(0, 10) : it->second;
}

void Observer::event(double t, const std::string& text) {
  m_events.push_back({{"t", std::round(t * 10) / 10}, {"text", text}});
  if (m_events.size() > 200) m_events.erase(m_events.begin());
}

void Observer::note_status(double t, const std::string& judge, const std::string& addr, const std::string& status) {
  std::string key = judge + "|" + addr;
  std::string& before = m_status[key];
  if (before.empty()) before = "trusted";
  if (status == before) return;
  event(t, judge + " rates " + name_of(addr) + " " + status + " (was " + before + ")");
  if (status != "trusted" && !m_first_distrust.count(name_of(addr))) m_first_distrust[name_of(addr)] = {t, judge};
  before = status;
}

void Observer::note_route(double t, const std::string& node, const std::string& primary) {
  std::string& before = m_primary[node];
  if (primary.empty() || primary == before) return;
  if (!before.empty()) {
    event(t, node + " re-routes " + name_of(before) + " -> " + name_of(primary));
    m_reroutes.emplace_back(t, node, name_of(before), name_of(primary));
  }
  before = primary;
}

} // namespace openstreaming::cli::demo
