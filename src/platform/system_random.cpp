#include "platform/system_random.h"

#include <openssl/rand.h>

#include <cstdio>
#include <cstdlib>

namespace openstreaming::platform {

void SystemRandom::fill(std::span<uint8_t> out) {
  if (out.empty()) return;
  if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) {
    // Without entropy no key or nonce is safe; stopping is the only correct answer.
    std::fputs("fatal: the system random generator failed\n", stderr);
    std::abort();
  }
}

} // namespace openstreaming::platform
