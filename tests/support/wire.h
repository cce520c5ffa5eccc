// Builders for hand-made protocol frames, shared by unit and functional tests.
#pragma once

#include "agent/identity.h"
#include "agent/node.h"

#include <optional>
#include <wire.pb.h>

namespace openstreaming::test {

template <class Msg>
core::Frame frame_of(core::FrameType type, const Msg& msg) {
  core::Frame f;
  f.type = static_cast<uint16_t>(type);
  f.header.resize(msg.ByteSizeLong());
  msg.SerializeToArray(f.header.data(), static_cast<int>(f.header.size()));
  return f;
}

// A Hello signed by `signer` for `side` of the session with `exporter`; it
// claims `claim` (default: the signer's own address, i.e. honest).
inline wire::v1::Hello make_hello(const core::PrivateKey& signer, agent::TlsSide side, const Hash256& exporter,
                                  std::optional<core::Address> claim = std::nullopt,
                                  uint32_t version = agent::kProtocolVersion,
                                  uint32_t min_version = agent::kMinProtocolVersion) {
  wire::v1::Hello h;
  h.set_version(version);
  h.set_min_version(min_version);
  core::Address a = claim.value_or(signer.address());
  h.set_address(std::string(a.bytes().begin(), a.bytes().end()));
  auto proof = agent::prove_identity(signer, side, exporter);
  h.set_identity_proof(std::string(proof.bytes().begin(), proof.bytes().end()));
  return h;
}

inline std::optional<agent::DisconnectReason> disconnect_reason(const core::Frame& f) {
  if (f.type != static_cast<uint16_t>(core::FrameType::disconnect)) return std::nullopt;
  wire::v1::Disconnect d;
  if (!d.ParseFromArray(f.header.data(), static_cast<int>(f.header.size()))) return std::nullopt;
  return agent::reason_from_wire(d.reason());
}

} // namespace openstreaming::test
