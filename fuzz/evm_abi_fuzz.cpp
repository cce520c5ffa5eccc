// ABI return data and revert payloads on arbitrary bytes (what a hostile chain node
// can send): never crashes, never allocates beyond a small multiple of the input,
// and whatever decodes re-encodes and decodes to the same values. The first byte
// picks the expected types, so one corpus covers the shapes the contracts return.
#include "ledger/evm/abi.h"

#include <cstdlib>

using namespace openstreaming;
using namespace openstreaming::ledger::evm;

namespace {

const char* const kShapes[] = {
    "(((address,address,uint256,uint256,uint256,bytes32,uint256,bytes32),bytes,bytes32)[])", // TicketBroker batch
    "(uint8[])",                                                                             // its outcomes
    "(uint256[][],string[])",
    "((uint256,bytes)[],(address,string)[2])",
    "(string)",
    "(uint256,int8,bool,address,bytes4)",
    "(bytes32[],address[],uint64)",
    "((string,bytes,uint256[]),string)",
    "(uint16[2][2],bytes)",
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  ByteView body(data + 1, size - 1);
  const char* shape = kShapes[data[0] % (sizeof(kShapes) / sizeof(kShapes[0]))];
  auto type = abi::Type::parse(shape);
  if (!type) std::abort();
  auto values = abi::decode(type->components(), body);
  if (values) {
    auto again = abi::encode(type->components(), *values);
    if (!again) std::abort();
    auto back = abi::decode(type->components(), *again);
    if (!back || !(*back == *values)) std::abort();
  }
  auto custom = abi::Function::parse("Locked(uint256,uint256)");
  if (!custom) std::abort();
  auto revert = abi::decode_revert(body, std::span<const abi::Function>(&*custom, 1));
  if (revert) (void)abi::describe(*revert);
  return 0;
}
