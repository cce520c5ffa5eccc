#include "core/frame.h"

#include <cstring>

namespace openstreaming::core {

namespace {
uint32_t read_u32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}
void write_u32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}
} // namespace

const char* frame_type_name(uint16_t type) {
  switch (static_cast<FrameType>(type)) {
  case FrameType::hello: return "hello";
  case FrameType::ping: return "ping";
  case FrameType::pong: return "pong";
  case FrameType::get_peers: return "get_peers";
  case FrameType::peers: return "peers";
  case FrameType::disconnect: return "disconnect";
  }
  return "unknown";
}

const char* frame_error_name(FrameError e) {
  switch (e) {
  case FrameError::oversized: return "oversized_frame";
  case FrameError::undersized: return "undersized_frame";
  case FrameError::bad_header_length: return "bad_header_length";
  }
  return "bad_frame";
}

SharedSlice SharedSlice::copy_of(ByteView bytes) {
  auto buf = std::make_shared<Bytes>(bytes.begin(), bytes.end());
  return SharedSlice{buf, 0, buf->size()};
}

std::array<uint8_t, Frame::kPrefixSize> encode_prefix(const Frame& frame) {
  std::array<uint8_t, Frame::kPrefixSize> p{};
  write_u32(p.data(), static_cast<uint32_t>(frame.wire_size() - 4));
  p[4] = static_cast<uint8_t>(frame.type >> 8);
  p[5] = static_cast<uint8_t>(frame.type);
  write_u32(p.data() + 6, static_cast<uint32_t>(frame.header.size()));
  return p;
}

Bytes encode_frame(const Frame& frame) {
  Bytes out;
  out.reserve(frame.wire_size());
  auto prefix = encode_prefix(frame);
  out.insert(out.end(), prefix.begin(), prefix.end());
  out.insert(out.end(), frame.header.begin(), frame.header.end());
  auto payload = frame.payload.view();
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

std::optional<FrameDecoder::Failure> FrameDecoder::feed(ByteView bytes, std::vector<Frame>& out) {
  if (m_failed) return Failure{FrameError::bad_header_length, "decoder already failed"};
  m_buffer.insert(m_buffer.end(), bytes.begin(), bytes.end());
  std::size_t pos = 0;
  std::optional<Failure> failure;
  while (m_buffer.size() - pos >= 4) {
    const uint8_t* p = m_buffer.data() + pos;
    uint32_t body = read_u32(p);
    if (body > m_max) {
      failure = Failure{FrameError::oversized,
                        "frame of " + std::to_string(body) + " bytes exceeds the limit of " + std::to_string(m_max)};
      break;
    }
    if (body < kMinFrameBody) {
      failure = Failure{FrameError::undersized, "frame body of " + std::to_string(body) + " bytes is too short"};
      break;
    }
    if (m_buffer.size() - pos < 4 + std::size_t{body}) break; // wait for the rest
    uint16_t type = static_cast<uint16_t>((p[4] << 8) | p[5]);
    uint32_t header_len = read_u32(p + 6);
    if (header_len > body - kMinFrameBody) {
      failure = Failure{FrameError::bad_header_length, "header length " + std::to_string(header_len) +
                                                           " exceeds the frame body of " + std::to_string(body)};
      break;
    }
    Frame f;
    f.type = type;
    f.header.assign(p + 10, p + 10 + header_len);
    std::size_t payload_len = body - kMinFrameBody - header_len;
    if (payload_len > 0) f.payload = SharedSlice::copy_of(ByteView(p + 10 + header_len, payload_len));
    out.push_back(std::move(f));
    pos += 4 + std::size_t{body};
  }
  m_buffer.erase(m_buffer.begin(), m_buffer.begin() + static_cast<std::ptrdiff_t>(pos));
  if (failure) {
    m_failed = true;
    m_buffer.clear();
  }
  return failure;
}

} // namespace openstreaming::core
