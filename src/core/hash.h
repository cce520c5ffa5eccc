// SHA-256 and HMAC-SHA256 (OpenSSL).
#pragma once

#include "core/bytes.h"

namespace openstreaming::core {

Hash256 sha256(ByteView data);
Hash256 hmac_sha256(ByteView key, ByteView data);

// Constant-time comparison for MACs and secrets.
bool constant_time_equal(ByteView a, ByteView b);

} // namespace openstreaming::core
