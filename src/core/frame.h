// Framing: bytes <-> frames, and nothing about what a frame means.
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
#include "core/time.h"

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
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
  // 7..15 reserved for the peer protocol; 16 and above are application frames
  // (media, payments), passed up only when the node accepts that type.
};
inline constexpr uint16_t kFirstAppFrameType = 16;

// Media frame types (application range).
enum class MediaFrameType : uint16_t {
  part = 16,
  announcement = 17,
  subscribe = 18,
  unsubscribe = 19,
  have = 20,
  neighbour_state = 21, // empathy protocol (docs/agent.md)
  subscribe_result = 22,
  fetch = 23,
  ticket_params = 24, // payments (docs/payments.md)
  tickets = 25,
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
  // Receive side only, set by the runtime: when the frame's first bytes arrived
  // (for a large frame, its transfer time tells the sender's real upload rate).
  std::optional<Timestamp> first_byte_at;

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

// Incremental decoder. Two ways to give it bytes:
//  - feed(bytes): copies them in (tests, fuzzing, any chunking);
//  - prepare() then commit(n): the caller reads straight into the span that
//    prepare() returns. Once a large frame's header is known, that span is the
//    frame's own payload buffer, so the payload is never copied after the
//    socket read (the zero-copy receive path of the live runtime).
// After an error the stream is unusable: the caller must close the connection
// (the failure says why, for the disconnect reason).
class FrameDecoder {
public:
  // Frames with a body above this size are assembled in their own buffer.
  static constexpr std::size_t kLargeFrame = 16 << 10;
  static constexpr std::size_t kReadChunk = 64 << 10;

  explicit FrameDecoder(std::size_t max_frame_size = kDefaultMaxFrameSize) : m_max(max_frame_size) {}

  struct Failure {
    FrameError error;
    std::string detail;
  };

  std::span<uint8_t> prepare();
  // `n` bytes were written at the start of the span from the last prepare().
  // Complete frames are appended to `out`; returns the failure, if any.
  std::optional<Failure> commit(std::size_t n, std::vector<Frame>& out);
  std::optional<Failure> feed(ByteView bytes, std::vector<Frame>& out);

  // Bytes of an unfinished frame are buffered (a close now means a truncated frame).
  bool has_partial_frame() const { return m_large != nullptr || m_stage_len > 0; }
  std::size_t buffered() const { return m_large ? m_large_filled : m_stage_len; }

private:
  std::optional<Failure> process(std::vector<Frame>& out);
  void finish_large(std::vector<Frame>& out);

  std::size_t m_max;
  Bytes m_stage;                  // staging area for prefixes and small frames
  std::size_t m_stage_len = 0;    // valid bytes in m_stage
  std::shared_ptr<Bytes> m_large; // the large frame being received, length prefix included
  std::size_t m_large_filled = 0;
  bool m_failed = false;
};

} // namespace openstreaming::core
