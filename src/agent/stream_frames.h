// Helpers shared by the stream router's files (streams.cpp, stream_routing.cpp,
// stream_repair.cpp): media frames in and out of their protobuf form. Internal
// to src/agent.
#pragma once

#include "agent/hls_window.h"
#include "core/address.h"
#include "core/frame.h"
#include "core/part.h"

#include <cstring>
#include <optional>
#include <string>
#include <wire.pb.h>

namespace openstreaming::agent::stream_frames {

namespace wire = openstreaming::wire::v1;
using core::Frame;
using core::MediaFrameType;

template <class Msg>
inline Frame media_frame(MediaFrameType type, const Msg& msg) {
  Frame f;
  f.type = static_cast<uint16_t>(type);
  f.header.resize(msg.ByteSizeLong());
  msg.SerializeToArray(f.header.data(), static_cast<int>(f.header.size()));
  return f;
}

template <class Msg>
inline bool parse(Msg& msg, const Frame& f) {
  return msg.ParseFromArray(f.header.data(), static_cast<int>(f.header.size()));
}

inline std::optional<core::StreamId> stream_id_from(const std::string& bytes) {
  if (bytes.size() != 32) return std::nullopt;
  core::StreamId id{};
  std::memcpy(id.data(), bytes.data(), 32);
  return id;
}

inline std::string bytes_of(const core::StreamId& id) {
  return std::string(id.begin(), id.end());
}

inline std::string bytes_of(const core::Address& a) {
  return std::string(a.bytes().begin(), a.bytes().end());
}

// A 20-byte wire field as an address; nullopt for any other length.
inline std::optional<core::Address> address_from_bytes(const std::string& bytes) {
  if (bytes.size() != 20) return std::nullopt;
  FixedBytes<20> a{};
  std::memcpy(a.data(), bytes.data(), 20);
  return core::Address(a);
}

// The rendition a request names; an empty name is the source.
inline std::string rendition_or_source(const std::string& rendition) {
  return rendition.empty() ? std::string(kSourceRendition) : rendition;
}

} // namespace openstreaming::agent::stream_frames
