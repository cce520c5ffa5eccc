// Signature parsing and recovery on arbitrary bytes: never crashes, and an
// accepted signature is always canonical (v 27/28, low s).
#include "core/address.h"
#include "core/keccak.h"
#include "core/secp256k1.h"

#include <cstdlib>

using namespace openstreaming;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto sig = core::RecoverableSignature::parse(ByteView(data, size));
  if (!sig) return 0;
  if (sig->bytes()[64] != 27 && sig->bytes()[64] != 28) std::abort();
  if (sig->bytes()[32] > 0x7f) std::abort(); // low s: s <= n/2 < 2^255
  auto pub = core::recover_public_key(core::keccak256(ByteView(data, size)), *sig);
  if (pub) (void)pub->address();
  return 0;
}
