// Invariant: any accepted amount prints and re-parses to the same value in every unit.
#include "core/amount.h"

#include <cstdlib>

using namespace openstreaming;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto a = core::Amount::parse(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!a) return 0;
  for (auto unit : {core::Unit::wei, core::Unit::gwei, core::Unit::ether}) {
    auto back = core::Amount::parse(a->format(unit));
    if (!back || *back != *a) std::abort();
  }
  auto wei = core::Amount::from_decimal_wei(a->to_wei_string());
  if (!wei || *wei != *a) std::abort();
  return 0;
}
