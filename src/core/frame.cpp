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
  case FrameType::hello:
    return "hello";
  case FrameType::ping:
    return "ping";
  case FrameType::pong:
    return "pong";
  case FrameType::get_peers:
    return "get_peers";
  case FrameType::peers:
    return "peers";
  case FrameType::disconnect:
    return "disconnect";
  }
  switch (static_cast<MediaFrameType>(type)) {
  case MediaFrameType::part:
    return "part";
  case MediaFrameType::announcement:
    return "announcement";
  case MediaFrameType::subscribe:
    return "subscribe";
  case MediaFrameType::unsubscribe:
    return "unsubscribe";
  case MediaFrameType::have:
    return "have";
  case MediaFrameType::neighbour_state:
    return "neighbour_state";
  case MediaFrameType::subscribe_result:
    return "subscribe_result";
  case MediaFrameType::fetch:
    return "fetch";
  case MediaFrameType::ticket_params:
    return "ticket_params";
  case MediaFrameType::tickets:
    return "tickets";
  }
  return type >= kFirstAppFrameType ? "app" : "unknown";
}

const char* frame_error_name(FrameError e) {
  switch (e) {
  case FrameError::oversized:
    return "oversized_frame";
  case FrameError::undersized:
    return "undersized_frame";
  case FrameError::bad_header_length:
    return "bad_header_length";
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
  Bytes out(frame.wire_size());
  auto prefix = encode_prefix(frame);
  std::memcpy(out.data(), prefix.data(), prefix.size());
  if (!frame.header.empty()) std::memcpy(out.data() + prefix.size(), frame.header.data(), frame.header.size());
  auto payload = frame.payload.view();
  if (!payload.empty()) std::memcpy(out.data() + prefix.size() + frame.header.size(), payload.data(), payload.size());
  return out;
}

std::span<uint8_t> FrameDecoder::prepare() {
  if (m_large) return {m_large->data() + m_large_filled, m_large->size() - m_large_filled};
  if (m_stage.size() < m_stage_len + kReadChunk) m_stage.resize(m_stage_len + kReadChunk);
  return {m_stage.data() + m_stage_len, kReadChunk};
}

std::optional<FrameDecoder::Failure> FrameDecoder::commit(std::size_t n, std::vector<Frame>& out) {
  if (m_failed) return Failure{FrameError::bad_header_length, "decoder already failed"};
  if (m_large) {
    m_large_filled += n;
    if (m_large_filled == m_large->size()) finish_large(out);
    return std::nullopt;
  }
  m_stage_len += n;
  return process(out);
}

std::optional<FrameDecoder::Failure> FrameDecoder::feed(ByteView bytes, std::vector<Frame>& out) {
  while (!bytes.empty()) {
    auto target = prepare();
    std::size_t n = std::min(target.size(), bytes.size());
    std::memcpy(target.data(), bytes.data(), n);
    if (auto f = commit(n, out)) return f;
    bytes = bytes.subspan(n);
  }
  return m_failed ? std::optional<Failure>(Failure{FrameError::bad_header_length, "decoder already failed"})
                  : std::nullopt;
}

void FrameDecoder::finish_large(std::vector<Frame>& out) {
  const uint8_t* p = m_large->data();
  uint32_t body = read_u32(p);
  uint32_t header_len = read_u32(p + 6);
  Frame f;
  f.type = static_cast<uint16_t>((p[4] << 8) | p[5]);
  f.header.assign(p + 10, p + 10 + header_len);
  std::size_t payload_len = body - kMinFrameBody - header_len;
  if (payload_len > 0) f.payload = SharedSlice{m_large, 10 + std::size_t{header_len}, payload_len}; // no copy
  out.push_back(std::move(f));
  m_large.reset();
  m_large_filled = 0;
}

std::optional<FrameDecoder::Failure> FrameDecoder::process(std::vector<Frame>& out) {
  std::size_t pos = 0;
  std::optional<Failure> failure;
  while (m_stage_len - pos >= 4) {
    const uint8_t* p = m_stage.data() + pos;
    const std::size_t avail = m_stage_len - pos;
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
    if (avail < Frame::kPrefixSize) break;
    uint32_t header_len = read_u32(p + 6);
    if (header_len > body - kMinFrameBody) {
      failure = Failure{FrameError::bad_header_length, "header length " + std::to_string(header_len) +
                                                           " exceeds the frame body of " + std::to_string(body)};
      break;
    }
    const std::size_t total = 4 + std::size_t{body};
    if (avail < total) {
      if (body > kLargeFrame) {
        // Move what we have of this frame into its own buffer; the rest is read straight into it.
        m_large = std::make_shared<Bytes>(total);
        std::memcpy(m_large->data(), p, avail);
        m_large_filled = avail;
        pos += avail;
      }
      break;
    }
    Frame f;
    f.type = static_cast<uint16_t>((p[4] << 8) | p[5]);
    f.header.assign(p + 10, p + 10 + header_len);
    std::size_t payload_len = body - kMinFrameBody - header_len;
    if (payload_len > 0) f.payload = SharedSlice::copy_of(ByteView(p + 10 + header_len, payload_len));
    out.push_back(std::move(f));
    pos += total;
  }
  if (failure) {
    m_failed = true;
    m_stage_len = 0;
    return failure;
  }
  if (pos > 0) {
    std::memmove(m_stage.data(), m_stage.data() + pos, m_stage_len - pos);
    m_stage_len -= pos;
  }
  return std::nullopt;
}

} // namespace openstreaming::core
