// Small values shared by the agent's unit tests.
#pragma once

#include "core/address.h"
#include "core/amount.h"
#include "core/time.h"

namespace openstreaming::agent::test_values {

inline core::Address addr(uint8_t n) {
  core::Address a;
  auto bytes = a.bytes();
  bytes[19] = n;
  return core::Address(bytes);
}

inline core::Amount gwei(uint64_t n) {
  return core::Amount::from_wei(n * 1'000'000'000ULL);
}

inline Timestamp at_s(double s) {
  return timestamp_from_us(static_cast<int64_t>(s * 1e6));
}

} // namespace openstreaming::agent::test_values
