#include "core/hash.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

namespace openstreaming::core {

Hash256 sha256(ByteView data) {
  Hash256 out{};
  SHA256(data.data(), data.size(), out.data());
  return out;
}

Hash256 hmac_sha256(ByteView key, ByteView data) {
  Hash256 out{};
  unsigned int len = 0;
  // An empty key is legal for HMAC; OpenSSL wants a non-null pointer.
  static const uint8_t kEmpty = 0;
  HMAC(EVP_sha256(), key.empty() ? &kEmpty : key.data(), static_cast<int>(key.size()), data.data(), data.size(),
       out.data(), &len);
  return out;
}

bool constant_time_equal(ByteView a, ByteView b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

} // namespace openstreaming::core
