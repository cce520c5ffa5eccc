// Invariant: an accepted address round-trips through both printed forms.
#include "core/address.h"

#include <cstdlib>

using namespace openstreaming;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto a = core::Address::parse(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!a) return 0;
  auto c = core::Address::parse(a->to_checksum_hex());
  auto l = core::Address::parse(a->to_lower_hex());
  if (!c || !l || *c != *a || *l != *a) std::abort();
  return 0;
}
