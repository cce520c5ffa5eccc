// A paying node fed by an established neighbour whose frames come from the
// fuzzer. Unlike the handshake target, the session is real and a stream from
// a known broadcaster is already announced, watched and subscribed to through
// that neighbour, so fuzzed parts, subscriptions, fetches, states, ticket
// parameters and tickets reach the stream and payment paths. Part checks and
// state signatures are replaced by cheap stand-ins the fuzzer can satisfy (a
// payload whose first byte is not 0xff is "valid"), as the simulator's cost
// model does; the announcement check is the real one.
// Invariants: the stream window stays within its byte cap, the node keeps at
// most max_streams streams, queues stay bounded, and the node never pays a
// neighbour whose price it did not accept.
#include "agent/identity.h"
#include "agent/node.h"
#include "agent/payments/payment_frames.h"
#include "core/hex.h"
#include "core/nostr.h"

#include <cstdlib>
#include <cstring>
#include <wire.pb.h>

using namespace openstreaming;

namespace {
namespace pb = openstreaming::wire::v1;
using core::MediaFrameType;

template <class Msg>
core::Frame frame(MediaFrameType type, const Msg& msg) {
  core::Frame f;
  f.type = static_cast<uint16_t>(type);
  f.header.resize(msg.ByteSizeLong());
  msg.SerializeToArray(f.header.data(), static_cast<int>(f.header.size()));
  return f;
}

// Reads fuzz input as little fields; past the end everything is zero.
struct Input {
  const uint8_t* data;
  std::size_t size, pos = 0;
  uint8_t u8() { return pos < size ? data[pos++] : 0; }
  uint32_t u32() { return u8() | (uint32_t{u8()} << 8) | (uint32_t{u8()} << 16) | (uint32_t{u8()} << 24); }
  std::string bytes(std::size_t max) {
    std::size_t n = std::min<std::size_t>(u8() % (max + 1), size - std::min(size, pos));
    std::string s(reinterpret_cast<const char*>(data + pos), n);
    pos += n;
    return s;
  }
  bool done() const { return pos >= size; }
};

struct Keys {
  core::DeterministicRandom rng{7};
  core::PrivateKey node = core::PrivateKey::generate(rng), peer = core::PrivateKey::generate(rng),
                   broadcaster = core::PrivateKey::generate(rng);
  core::StreamId id = core::make_stream_id(broadcaster.address(), "show");
  std::string announcement = [&] {
    Hash256 aux{};
    core::NostrTags tags = {{"d", "show"},
                            {"title", "show"},
                            {"status", "live"},
                            {"streaming", ""},
                            {"openstreaming:stream", core::to_hex(id, false)},
                            {"openstreaming:address", broadcaster.address().to_checksum_hex()},
                            {"openstreaming:renditions", "source"}};
    return core::to_json(core::sign_event(broadcaster, 1'700'000'000, 30311, std::move(tags), "", aux)).dump();
  }();
};
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Keys k;
  agent::DeterministicEnvironment env{1};
  agent::NodeOptions o;
  o.max_peers = 4;
  o.send_queue_limit = 1 << 20;
  o.send_window = 1 << 16;
  o.max_streams = 8;
  o.payments.enabled = true;
  const core::Address peer_address = k.peer.address();
  o.part_verifier = [](const core::PartInfo&, ByteView payload, ByteView, const core::Address&) {
    return payload.empty() || payload[0] != 0xff ? core::PartCheck::ok : core::PartCheck::bad_hash;
  };
  o.state_recover = [peer_address](const Hash256&, const core::RecoverableSignature& sig) -> Result<core::Address> {
    if (sig.bytes()[0] == 1) return peer_address;
    return make_error(Errc::bad_signature, "not the peer's");
  };
  agent::Node node(k.node, o, env);
  Timestamp now = timestamp_from_us(1'000'000'000);
  node.handle_start(now);
  agent::LedgerSnapshot snap;
  snap.chain_id = 1337;
  snap.round = 5;
  snap.ticket_valid_rounds = 4;
  for (uint64_t r = 0; r <= 5; ++r) snap.round_hashes[r] = Hash256{static_cast<uint8_t>(r)};
  snap.accounts[peer_address] = {core::Amount::from_wei(1'000'000'000'000'000'000ULL), core::Amount(), 1, 0};
  node.payments().set_ledger(snap);

  Hash256 exporter{};
  agent::ConnId conn = node.handle_accepted(core::Endpoint{"127.0.0.1", 1000}, exporter, now);
  auto drain = [&](bool sent) {
    std::size_t queued = 0;
    while (auto t = node.poll_transmit()) {
      queued += t->frame.wire_size();
      if (sent) node.handle_sent(t->conn, t->frame.wire_size(), now);
    }
    while (node.poll_action()) {
    }
    while (node.poll_event()) {
    }
    while (node.payments().poll_store_op()) {
    }
    return queued;
  };
  {
    pb::Hello h;
    h.set_version(agent::kProtocolVersion);
    h.set_min_version(agent::kMinProtocolVersion);
    h.set_address(std::string(peer_address.bytes().begin(), peer_address.bytes().end()));
    auto proof = agent::prove_identity(k.peer, agent::TlsSide::client, exporter);
    h.set_identity_proof(std::string(proof.bytes().begin(), proof.bytes().end()));
    core::Frame f;
    f.type = static_cast<uint16_t>(core::FrameType::hello);
    f.header.resize(h.ByteSizeLong());
    h.SerializeToArray(f.header.data(), static_cast<int>(f.header.size()));
    node.handle_frame(conn, std::move(f), now);
    pb::Announcement a;
    a.set_event_json(k.announcement);
    node.handle_frame(conn, frame(MediaFrameType::announcement, a), now);
    pb::Have have;
    have.set_stream_id(std::string(k.id.begin(), k.id.end()));
    have.set_rendition("source");
    have.set_hops(0);
    node.handle_frame(conn, frame(MediaFrameType::have, have), now);
    node.streams().watch("show", now); // subscribes through the peer
    drain(true);
  }
  if (!node.established(conn)) std::abort(); // the honest setup must hold

  Input in{data, size};
  const std::string sid(k.id.begin(), k.id.end());
  while (!in.done() && node.established(conn)) {
    uint8_t op = in.u8();
    uint8_t dt = in.u8();
    // The stream id is the known one unless the fuzzer asks for another.
    std::string stream = (op & 0x80) ? in.bytes(40) : sid;
    core::Frame f;
    switch (op % 10) {
    case 0: { // a part
      pb::PartHeader h;
      h.set_stream_id(stream);
      h.set_rendition((op & 0x40) ? in.bytes(40) : "source");
      h.set_segment(in.u8());
      h.set_part(in.u8());
      h.set_independent(in.u8() & 1);
      h.set_pts_us(static_cast<int64_t>(in.u32()));
      h.set_duration_us(in.u32() % 2'000'000);
      h.set_ingest_unix_ms(1'700'000'000'000 + to_us(now) / 1000 - in.u8() * 10);
      h.set_payload_hash(std::string(32, '\0'));
      h.set_end_of_stream((in.u8() & 0x1f) == 0);
      h.set_producer_signature(std::string(65, '\0'));
      f = frame(MediaFrameType::part, h);
      std::size_t n = in.u32() % (64 << 10);
      Bytes payload(n, static_cast<uint8_t>(in.u8()));
      f.payload = core::SharedSlice::copy_of(payload);
      break;
    }
    case 1:
    case 2: { // subscribe / unsubscribe, maybe with a resume point
      pb::Subscribe s;
      s.set_stream_id(stream);
      s.set_rendition("source");
      s.set_resume(in.u8() & 1);
      s.set_resume_segment(in.u8());
      s.set_resume_part(in.u8());
      if (in.u8() & 1) s.set_max_price_wei_per_mb(in.bytes(20));
      f = frame(op % 10 == 1 ? MediaFrameType::subscribe : MediaFrameType::unsubscribe, s);
      break;
    }
    case 3: { // an answer to our Subscribe, at a fuzzed quote
      pb::SubscribeResult r;
      r.set_stream_id(stream);
      r.set_rendition("source");
      r.set_accepted(in.u8() & 1);
      r.set_reason(in.bytes(70));
      r.set_quote_wei_per_mb(in.u8() & 1 ? std::to_string(in.u32()) : in.bytes(30));
      f = frame(MediaFrameType::subscribe_result, r);
      break;
    }
    case 4: { // have
      pb::Have h;
      h.set_stream_id(stream);
      h.set_rendition("source");
      h.set_hops(in.u8());
      f = frame(MediaFrameType::have, h);
      break;
    }
    case 5: { // fetch
      pb::Fetch r;
      r.set_stream_id(stream);
      r.set_rendition("source");
      r.set_segment(in.u8());
      r.set_part(in.u8());
      f = frame(MediaFrameType::fetch, r);
      break;
    }
    case 6: { // ticket parameters naming us or the peer
      pay::TicketParams p;
      p.recipient = in.u8() & 1 ? peer_address : k.node.address();
      p.face_value = core::U256(in.u32()) * core::U256(1'000'000'000'000ULL);
      p.win_prob = in.u8() & 1 ? pay::max_win_prob() : core::U256(in.u32());
      p.seed = in.u32();
      p.creation_round = in.u8() % 8;
      p.creation_round_block_hash = Hash256{static_cast<uint8_t>(p.creation_round)};
      f = agent::ticket_params_frame(p, core::Amount::from_wei(in.u32()));
      break;
    }
    case 7: { // raw bytes as any application frame type
      f.type = static_cast<uint16_t>(16 + in.u8() % 10);
      std::string h = in.bytes(255);
      f.header.assign(h.begin(), h.end());
      break;
    }
    case 8: { // a state message (signature stand-in: first byte 1 = the peer's)
      pb::NeighbourState st;
      st.set_body(in.bytes(200));
      std::string sig(65, '\0');
      sig[0] = static_cast<char>(in.u8() & 1);
      st.set_signature(sig);
      f = frame(MediaFrameType::neighbour_state, st);
      break;
    }
    default: { // an announcement of some other stream (real check: the fuzzer cannot forge it)
      pb::Announcement a;
      a.set_event_json(in.bytes(255));
      f = frame(MediaFrameType::announcement, a);
      break;
    }
    }
    now += std::chrono::milliseconds(dt * 20);
    node.handle_frame(conn, std::move(f), now);
    node.handle_timeout(now);
    std::size_t queued = drain(dt & 1);
    if (queued > 3 * (o.send_queue_limit + o.send_window)) std::abort();
    if (node.streams().streams().size() > o.max_streams) std::abort();
    for (const auto& [id, s] : node.streams().streams()) {
      if (s.stored.bytes() > agent::StreamRouter::kMaxWindowBytes + (64u << 10)) std::abort();
    }
    for (const auto& [addr, rel] : node.payments().relations()) {
      if (rel.tickets_sent > 0 && rel.price_paid.wei() == 0) std::abort(); // paid without an agreed price
    }
  }
  return 0;
}
