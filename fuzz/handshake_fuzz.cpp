// The node core fed an inbound session whose frames come from the fuzzer,
// with time advanced by the input (state machines with fuzzed
// time). The first byte may inject a genuinely valid Hello on connection 0,
// so the fuzzer also explores established sessions (it cannot forge one).
// Invariants: only that connection can ever be established, queues stay bounded.
#include "agent/identity.h"
#include "agent/node.h"

#include <cstdlib>
#include <wire.pb.h>

using namespace openstreaming;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static core::DeterministicRandom key_rng(7);
  static const core::PrivateKey key = core::PrivateKey::generate(key_rng);
  agent::DeterministicEnvironment env{1};
  agent::NodeOptions o;
  o.max_peers = 2;
  o.send_queue_limit = 4096;
  o.send_window = 1024;
  agent::Node node(key, o, env);
  Timestamp now = timestamp_from_us(1'000'000'000);
  node.handle_start(now);
  Hash256 exporter{};
  agent::ConnId conns[3];
  for (int i = 0; i < 3; ++i)
    conns[i] = node.handle_accepted(core::Endpoint{"127.0.0.1", static_cast<uint16_t>(1000 + i)}, exporter, now);

  static const core::PrivateKey peer = core::PrivateKey::generate(key_rng);
  std::size_t pos = 0;
  bool honest_hello = size > 0 && (data[0] & 1);
  if (size > 0) ++pos;
  if (honest_hello) {
    wire::v1::Hello h;
    h.set_version(agent::kProtocolVersion);
    h.set_min_version(agent::kMinProtocolVersion);
    const core::Address peer_address = peer.address(); // one object: begin() and end() must match
    h.set_address(std::string(peer_address.bytes().begin(), peer_address.bytes().end()));
    auto proof = agent::prove_identity(peer, agent::TlsSide::client, exporter);
    h.set_identity_proof(std::string(proof.bytes().begin(), proof.bytes().end()));
    core::Frame f;
    f.type = static_cast<uint16_t>(core::FrameType::hello);
    f.header.resize(h.ByteSizeLong());
    h.SerializeToArray(f.header.data(), static_cast<int>(f.header.size()));
    node.handle_frame(conns[0], std::move(f), now);
  }
  core::FrameDecoder decoder(1 << 16);
  std::vector<core::Frame> frames;
  while (pos + 2 <= size) {
    uint8_t conn_sel = data[pos] % 3;
    uint8_t dt = data[pos + 1];
    pos += 2;
    std::size_t n = std::min<std::size_t>(size - pos, 1 + (dt % 128));
    frames.clear();
    if (decoder.feed(ByteView(data + pos, n), frames)) decoder = core::FrameDecoder(1 << 16);
    pos += n;
    now += std::chrono::milliseconds(dt * 40);
    for (auto& f : frames) node.handle_frame(conns[conn_sel], std::move(f), now);
    node.handle_timeout(now);
    std::size_t queued = 0;
    while (auto t = node.poll_transmit()) {
      queued += t->frame.wire_size();
      if (dt & 1) node.handle_sent(t->conn, t->frame.wire_size(), now);
    }
    while (node.poll_action()) {
    }
    while (node.poll_event()) {
    }
    // Only the injected honest Hello can establish a session; anything more
    // would mean the fuzzer forged an identity proof.
    if (node.established_count() > (honest_hello ? 1u : 0u)) std::abort();
    if (queued > 3 * (o.send_queue_limit + o.send_window)) std::abort();
  }
  return 0;
}
