// The state the dashboard shows and the summary is made of. Built by the poller.
// Its poll() reads every node's HTTP API and the ledger (blocking HTTP, 2 s
// timeouts): call it on the poller thread, not on an event loop.
#pragma once

#include "apps/openstreaming/demo.h"
#include "apps/openstreaming/demo_ledger.h"

#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace openstreaming::cli::demo {

using nlohmann::json;

class Observer {
public:
  Observer(std::vector<Member>& members, DemoLedger& ledger);

  // One snapshot at `t` seconds since the start: what the dashboard shows.
  json poll(double t);

  const json& events() const { return m_events; }
  const std::map<std::string, json>& last_payments() const { return m_last_payments; }
  const std::map<std::string, json>& last_streams() const { return m_last_stream; }
  const std::map<std::string, json>& last_routes() const { return m_last_routes; }
  const std::map<std::string, json>& last_accounts() const { return m_last_accounts; }
  // The fees the members had paid in the state last_accounts() is of.
  const core::U256& last_fees() const { return m_last_fees; }
  std::optional<std::pair<double, std::string>> first_distrust_of(const std::string& name) const;
  const std::vector<std::tuple<double, std::string, std::string, std::string>>& reroutes() const { return m_reroutes; }
  std::string name_of(const std::string& addr) const;

private:
  void event(double t, const std::string& text);
  void note_status(double t, const std::string& judge, const std::string& addr, const std::string& status);
  void note_route(double t, const std::string& node, const std::string& primary);

  std::vector<Member>& m_members;
  DemoLedger& m_ledger;
  core::U256 m_last_fees{0};
  std::map<std::string, std::string> m_name_of;
  std::map<std::string, std::string> m_status, m_primary;
  std::map<std::string, std::pair<double, std::string>> m_first_distrust;
  std::vector<std::tuple<double, std::string, std::string, std::string>> m_reroutes;
  std::map<std::string, json> m_last_payments, m_last_stream, m_last_routes, m_last_accounts;
  std::vector<std::pair<double, uint64_t>> m_redeemed_series;
  json m_ledger_status = json::object();
  json m_events = json::array();
  std::string m_stream_id;
};

} // namespace openstreaming::cli::demo
