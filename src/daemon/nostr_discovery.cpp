#include "daemon/nostr_discovery.h"

#include "core/announcement.h"
#include "core/hex.h"

#include <algorithm>

namespace openstreaming::daemon {

namespace {
bool is_stream_id(const std::string& w) {
  return w.size() == 64 &&
         std::all_of(w.begin(), w.end(), [](char ch) { return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'); });
}
} // namespace

nlohmann::json discovery_filter(const std::string& watch) {
  nlohmann::json f = {{"kinds", {30311}}, {"limit", 100}};
  if (!is_stream_id(watch)) f["#d"] = {watch};
  return f;
}

std::vector<core::Endpoint> broadcaster_endpoints(const std::vector<core::NostrEvent>& events,
                                                  const std::string& watch) {
  std::vector<const core::NostrEvent*> sorted;
  for (const auto& e : events) sorted.push_back(&e);
  std::stable_sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->created_at > b->created_at; });
  std::vector<core::Endpoint> out;
  for (const auto* e : sorted) {
    auto a = core::read_stream_announcement(*e);
    if (!a || a->status == "ended" || a->endpoint.empty()) continue;
    if (a->name != watch && core::to_hex(a->id, false) != watch) continue;
    auto ep = core::Endpoint::parse(a->endpoint);
    if (!ep || std::find(out.begin(), out.end(), *ep) != out.end()) continue;
    out.push_back(*ep);
  }
  return out;
}

} // namespace openstreaming::daemon
