// Framing: bytes <-> frames, and nothing about what a frame means (STYLE.md §4).
//
// Wire layout of one frame (all integers big-endian):
//
//   offset  size  field
//   0       4     length L of everything after this field; kMinFrameBody <= L <= max_frame_size
//   4       2     type (FrameType; unknown values are passed up, the meaning layer decides)
//   6       4     header length H, H <= L - 6
//   10      H     header: the protobuf message for this type
//   10+H    L-6-H payload: opaque bytes (media), never parsed by protobuf
//
// The payload lives in a shared, immutable buffer so a relay can forward one
// received part to many peers without copying it again.
//
// Thread safety: none needed; each decoder belongs to one connection.
#pragma once

#include "core/bytes.h"
#include "core/result.h"

#include <cstdint>
#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace openstreaming::core {

enum class FrameType : uint16_t {
  hello = 1,
  ping = 2,
  pong = 3,
  get_peers = 4,
  peers = 5,
  disconnect = 6,
};
const char* frame_type_name(uint16_t type); // "hello", ..., or "unknown"

// A read-only view into a shared buffer.
struct SharedSlice {
  std::shared_ptr<const Bytes> buffer;
  std::size_t offset = 0;
  std::size_t size = 0;

  ByteView view() const { return buffer ? ByteView(buffer->data() + offset, size) : ByteView(); }
  static SharedSlice copy_of(ByteView bytes);
};

struct Frame {
  uint16_t type = 0;
  Bytes header;        // serialized protobuf
  SharedSlice payload; // may be empty

  static constexpr std::size_t kPrefixSize = 10;
  std::size_t wire_size() const { return kPrefixSize + header.size() + payload.size; }
};

inline constexpr std::size_t kMinFrameBody = 6;
inline constexpr std::size_t kDefaultMaxFrameSize = 4 << 20; // 4 MiB: a 0.5 s part at 60 Mbit/s

// The 10-byte prefix for `frame`. Writers send prefix, header, payload as one gather write.
std::array<uint8_t, Frame::kPrefixSize> encode_prefix(const Frame& frame);
// Whole frame in one buffer (tests, fuzzing, small control frames).
Bytes encode_frame(const Frame& frame);

enum class FrameError { oversized, undersized, bad_header_length };
const char* frame_error_name(FrameError e);

// Incremental decoder. feed() any chunking of the byte stream; complete frames
// are appended to `out`. After an error the stream is unusable: the caller
// must close the connection (the error says why, for the disconnect reason).
class FrameDecoder {
public:
  explicit FrameDecoder(std::size_t max_frame_size = kDefaultMaxFrameSize) : m_max(max_frame_size) {}

  struct Failure {
    FrameError error;
    std::string detail;
  };
  // Returns the failure, if any; frames decoded before it are still in `out`.
  std::optional<Failure> feed(ByteView bytes, std::vector<Frame>& out);
  // Bytes of an unfinished frame are buffered (a close now means a truncated frame).
  bool has_partial_frame() const { return !m_buffer.empty(); }
  std::size_t buffered() const { return m_buffer.size(); }

private:
  std::size_t m_max;
  Bytes m_buffer;
  bool m_failed = false;
};

} // namespace openstreaming::core
