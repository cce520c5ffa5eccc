// RLP and EIP-1559 transactions on arbitrary bytes: never crashes, never recurses
// past the depth cap, and anything accepted is canonical — it re-encodes to exactly
// the input (one byte string per value), and an accepted transaction re-encodes to
// the same raw bytes.
#include "ledger/evm/rlp.h"
#include "ledger/evm/tx.h"

#include <cstdlib>
#include <cstring>

using namespace openstreaming;
using namespace openstreaming::ledger::evm;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ByteView input(data, size);
  auto item = rlp::decode(input);
  if (item) {
    Bytes again = rlp::encode(*item);
    if (again.size() != size || std::memcmp(again.data(), data, size) != 0) std::abort();
  }
  auto tx = decode_eip1559(input);
  if (tx) {
    Bytes raw = encode(*tx);
    if (raw.size() != size || std::memcmp(raw.data(), data, size) != 0) std::abort();
    (void)recover_sender(*tx);
  }
  return 0;
}
