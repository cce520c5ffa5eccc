// Invariant: whatever decodes re-encodes to the same digits (lowercased, 0x dropped).
#include "core/hex.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

using namespace openstreaming;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto bytes = core::from_hex(text);
  if (!bytes) return 0;
  std::string digits(text);
  if (digits.size() >= 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) digits.erase(0, 2);
  std::transform(digits.begin(), digits.end(), digits.begin(), [](char c) { return std::tolower(c); });
  if (core::to_hex(*bytes, false) != digits) std::abort();
  return 0;
}
