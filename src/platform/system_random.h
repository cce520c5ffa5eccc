// The production RandomSource: OpenSSL's CSPRNG, seeded by the kernel.
#pragma once

#include "core/random.h"

namespace openstreaming::platform {

class SystemRandom final : public core::RandomSource {
public:
  void fill(std::span<uint8_t> out) override;
};

} // namespace openstreaming::platform
