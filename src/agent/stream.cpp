#include "agent/stream.h"

#include <algorithm>
#include <cstdint>
#include <iterator>

namespace openstreaming::agent {

bool AdvertisedRoute::through(const core::Address& a) const {
  return std::find(path.begin(), path.end(), a) != path.end();
}

namespace {

constexpr std::size_t kLatencySamples = 512;

// Erases the entries of `keys` (a set or map keyed by PartKey) of `rendition`
// older than segment `oldest`.
template <class Keyed>
void erase_before(Keyed& keys, const std::string& rendition, uint64_t oldest) {
  keys.erase(keys.lower_bound(PartKey{rendition, 0, 0}), keys.lower_bound(PartKey{rendition, oldest, 0}));
}

} // namespace

const char* status_name(StreamStatus s) {
  switch (s) {
  case StreamStatus::live:
    return "live";
  case StreamStatus::ended:
    return "ended";
  }
  return "live";
}

const char* end_reason_name(EndReason r) {
  switch (r) {
  case EndReason::none:
    return "";
  case EndReason::ended:
    return "ended";
  case EndReason::stalled:
    return "stalled";
  case EndReason::expired:
    return "expired";
  }
  return "";
}

std::optional<PartKey> Stream::newest_seen(std::string_view rendition) const {
  auto it = seen.upper_bound(PartKey{std::string(rendition), UINT64_MAX, UINT32_MAX});
  if (it == seen.begin() || std::prev(it)->rendition != rendition) return std::nullopt;
  return *std::prev(it);
}

void Stream::forget_before_window() {
  for (const std::string& rendition : stored.renditions()) {
    uint64_t oldest = *stored.oldest(rendition);
    erase_before(seen, rendition, oldest);
    erase_before(fetched, rendition, oldest);
    erase_before(fetch_asked, rendition, oldest);
    erase_before(fetch_waiters, rendition, oldest);
  }
}

void StreamStats::add_latency(double ms) {
  latency_sum_ms += ms;
  ++latency_count;
  if (latency_ms.size() < kLatencySamples) {
    latency_ms.push_back(ms);
  } else {
    latency_ms[latency_next] = ms;
    latency_next = (latency_next + 1) % kLatencySamples;
  }
}

double StreamStats::latency_quantile(double q) const {
  if (latency_ms.empty()) return 0;
  std::vector<double> v = latency_ms;
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(q * static_cast<double>(v.size() - 1) + 0.5)];
}

} // namespace openstreaming::agent
