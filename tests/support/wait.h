// Polling for functional tests: real processes change state on their own time.
#pragma once

#include <chrono>
#include <functional>
#include <thread>

namespace openstreaming::test {

// Polls `pred` every 100 ms until it holds or `limit` passes; returns its last value.
inline bool wait_until(const std::function<bool()>& pred, std::chrono::seconds limit) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return pred();
}

} // namespace openstreaming::test
