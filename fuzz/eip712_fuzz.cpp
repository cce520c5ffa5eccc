// Typed data from arbitrary JSON: errors are values, never crashes or unbounded recursion.
#include "core/eip712.h"

using namespace openstreaming;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto j = nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return 0;
  auto td = core::eip712::parse_typed_data(j);
  if (!td) return 0;
  (void)core::eip712::signing_hash(*td);
  return 0;
}
