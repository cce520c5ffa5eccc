// Paired A/B measurement for "ratio against a baseline measured in the same run".
//
// The machine is shared and noisy: absolute times drift by 10-20 % within a
// run. Timing A and B in alternating batches (A B B A, A B B A, ...) exposes
// both to the same drift, and the median of the per-round ratios A/B is stable
// where two separately measured medians are not.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <vector>

namespace openstreaming::bench {

struct PairedResult {
  double a_ns = 0;         // median time per call of A
  double b_ns = 0;         // median time per call of B
  double ratio = 0;        // median over rounds of (A time / B time)
  double ratio_p25 = 0;    // spread of the per-round ratios
  double ratio_p75 = 0;
  uint64_t iterations = 0; // calls per batch
  int rounds = 0;
};

template <class F>
double time_batch_ns(F& f, uint64_t iterations) {
  auto t0 = std::chrono::steady_clock::now();
  for (uint64_t i = 0; i < iterations; ++i) f();
  auto t1 = std::chrono::steady_clock::now();
  return static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count());
}

inline double quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(q * static_cast<double>(v.size() - 1) + 0.5)];
}

// Runs `rounds` rounds; each batch lasts about `batch_ms` of B.
template <class A, class B>
PairedResult paired(A a, B b, int rounds, double batch_ms) {
  // Calibrate on B; warm both up.
  uint64_t iterations = 1;
  while (time_batch_ns(b, iterations) < batch_ms * 1e6 && iterations < (uint64_t{1} << 40)) iterations *= 2;
  time_batch_ns(a, iterations);
  std::vector<double> ta, tb, ratio;
  for (int r = 0; r < rounds; ++r) {
    double x, y;
    if (r % 2 == 0) {
      x = time_batch_ns(a, iterations);
      y = time_batch_ns(b, iterations);
    } else {
      y = time_batch_ns(b, iterations);
      x = time_batch_ns(a, iterations);
    }
    ta.push_back(x / static_cast<double>(iterations));
    tb.push_back(y / static_cast<double>(iterations));
    ratio.push_back(x / y);
  }
  return {quantile(ta, 0.5), quantile(tb, 0.5), quantile(ratio, 0.5), quantile(ratio, 0.25), quantile(ratio, 0.75),
          iterations, rounds};
}

} // namespace openstreaming::bench
