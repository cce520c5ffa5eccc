// Frame decoder on arbitrary bytes, fed in arbitrary chunks: never crashes,
// never buffers more than one frame, and every decoded frame re-encodes to
// exactly the bytes it came from.
#include "core/frame.h"

#include <cstdlib>
#include <cstring>

using namespace openstreaming;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::size_t max = 1 << 16;
  core::FrameDecoder decoder(max);
  std::vector<core::Frame> frames;
  std::size_t chunk = 1 + data[0] % 64;
  std::size_t pos = 1, consumed_ok = 1;
  bool failed = false;
  while (pos < size && !failed) {
    std::size_t n = std::min(chunk, size - pos);
    failed = decoder.feed(ByteView(data + pos, n), frames).has_value();
    pos += n;
    if (decoder.buffered() > max + 4 + 64) std::abort();
  }
  // Re-encode what was decoded; it must be a prefix of the input.
  for (const auto& f : frames) {
    Bytes enc = core::encode_frame(f);
    if (consumed_ok + enc.size() > size || std::memcmp(enc.data(), data + consumed_ok, enc.size()) != 0) std::abort();
    consumed_ok += enc.size();
  }
  return 0;
}
