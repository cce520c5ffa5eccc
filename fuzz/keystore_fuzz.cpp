// Keystore files are untrusted: any bytes give a key or an Error, within tight
// KDF limits so the fuzzer explores parsing rather than burning time in scrypt.
#include "core/keystore.h"

using namespace openstreaming;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  core::keystore::DecryptLimits limits;
  limits.max_scrypt_work = 1 << 16;
  limits.max_pbkdf2_iterations = 16;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)core::keystore::decrypt(text, "pw", limits);
  (void)core::keystore::stated_address(text);
  return 0;
}
