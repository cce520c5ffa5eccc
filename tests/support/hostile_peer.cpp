#include "support/hostile_peer.h"

#include "agent/payments/payment_frames.h"
#include "core/hex.h"
#include "core/keccak.h"
#include "core/nostr.h"
#include "support/wire.h"

#include <stdexcept>

namespace openstreaming::test {

namespace {
namespace wire = openstreaming::wire::v1;
using core::MediaFrameType;

template <class Msg>
core::Frame media(MediaFrameType type, const Msg& msg) {
  core::Frame f;
  f.type = static_cast<uint16_t>(type);
  f.header.resize(msg.ByteSizeLong());
  msg.SerializeToArray(f.header.data(), static_cast<int>(f.header.size()));
  return f;
}
std::string bytes_of(const core::StreamId& id) {
  return std::string(id.begin(), id.end());
}
} // namespace

HostilePeer::HostilePeer(const core::PrivateKey& key, const std::string& p2p)
    : m_key(key), m_address(key.address()), m_tls(std::make_unique<TlsClient>(p2p)) {
  auto hello = m_tls->read_frame(std::chrono::seconds(10));
  if (!hello || hello->type != static_cast<uint16_t>(core::FrameType::hello))
    throw std::runtime_error("hostile peer: no hello from " + p2p);
  m_tls->send_frame(frame_of(core::FrameType::hello, make_hello(m_key, agent::TlsSide::client, m_tls->exporter())));
  m_tls->set_receive_timeout(std::chrono::milliseconds(50));
}

core::StreamId HostilePeer::announce_for(const core::PrivateKey& broadcaster, const std::string& name,
                                         int64_t created_s) {
  const core::Address address = broadcaster.address();
  core::StreamId id = core::make_stream_id(address, name);
  core::NostrTags tags = {{"d", name},
                          {"title", name},
                          {"status", "live"},
                          {"streaming", ""},
                          {"openstreaming:stream", core::to_hex(id, false)},
                          {"openstreaming:address", address.to_checksum_hex()},
                          {"openstreaming:renditions", "source"}};
  Hash256 aux{};
  aux[0] = static_cast<uint8_t>(created_s);
  auto ev = core::sign_event(broadcaster, created_s, 30311, std::move(tags), "", aux);
  wire::Announcement a;
  a.set_event_json(core::to_json(ev).dump());
  send(media(MediaFrameType::announcement, a));
  return id;
}

void HostilePeer::subscribe_result(const core::StreamId& id, bool accepted, const std::string& quote_wei_per_mb) {
  wire::SubscribeResult r;
  r.set_stream_id(bytes_of(id));
  r.set_rendition("source");
  r.set_accepted(accepted);
  r.set_quote_wei_per_mb(quote_wei_per_mb);
  send(media(MediaFrameType::subscribe_result, r));
}

void HostilePeer::subscribe(const core::StreamId& id, bool resume) {
  wire::Subscribe s;
  s.set_stream_id(bytes_of(id));
  s.set_rendition("source");
  s.set_resume(resume);
  send(media(MediaFrameType::subscribe, s));
}

void HostilePeer::ticket_params(const pay::TicketParams& params) {
  send(agent::ticket_params_frame(params, core::Amount()));
}

void HostilePeer::state(uint64_t seq, uint64_t capacity_kbps) {
  wire::StateBody body;
  body.set_seq(seq);
  body.set_capacity_kbps(capacity_kbps);
  std::string bytes = body.SerializeAsString();
  core::Keccak256 h;
  h.update(as_bytes(std::string_view("openstreaming/state/v1"))).update(as_bytes(bytes));
  auto sig = core::sign_hash(m_key, h.finalize());
  wire::NeighbourState msg;
  msg.set_body(bytes);
  msg.set_signature(std::string(sig.bytes().begin(), sig.bytes().end()));
  send(media(MediaFrameType::neighbour_state, msg));
}

void HostilePeer::tickets(const pay::TicketParams& params, std::size_t n) {
  pay::TicketSender sender(m_key, pay::TicketDomain{});
  for (std::size_t i = 0; i < n; ++i)
    sender.owe(params.recipient, pay::expected_value(params.face_value, params.win_prob));
  auto batch = sender.pay(params, n);
  if (batch) send(agent::tickets_frame(params.seed, *batch));
}

void HostilePeer::part(const core::StreamId& id, uint64_t segment, uint32_t part, std::size_t bytes,
                       int64_t ingest_unix_ms) {
  core::PartInfo info;
  info.stream_id = id;
  info.segment = segment;
  info.part = part;
  info.independent = part == 0;
  info.pts_us = static_cast<int64_t>(segment * 4 + part) * 500'000;
  info.duration_us = 500'000;
  info.ingest_unix_ms = ingest_unix_ms;
  Bytes payload(bytes, static_cast<uint8_t>(part));
  info.payload_hash = core::keccak256(payload);
  auto sig = core::sign_part(m_key, info);
  wire::PartHeader h;
  h.set_stream_id(bytes_of(id));
  h.set_rendition("source");
  h.set_segment(segment);
  h.set_part(part);
  h.set_independent(info.independent);
  h.set_pts_us(info.pts_us);
  h.set_duration_us(info.duration_us);
  h.set_ingest_unix_ms(ingest_unix_ms);
  h.set_payload_hash(std::string(info.payload_hash.begin(), info.payload_hash.end()));
  h.set_producer_signature(std::string(sig.bytes().begin(), sig.bytes().end()));
  core::Frame f = media(MediaFrameType::part, h);
  f.payload = core::SharedSlice::copy_of(payload);
  send(f);
}

void HostilePeer::send(const core::Frame& f) {
  if (m_closed) return;
  try {
    m_tls->send_frame(f);
  } catch (const std::exception&) {
    m_closed = true; // the node hung up on us
  }
}

bool HostilePeer::pump(std::chrono::milliseconds d) {
  auto until = std::chrono::steady_clock::now() + d;
  while (!m_closed) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    auto f = m_tls->read_frame(left);
    if (!f) {
      // A timeout only ends this pump; EOF or an error means the node hung up.
      // (Judging by the clock would count a read that returned at its rounded-down
      // timeout as a hang-up.)
      if (m_tls->closed()) m_closed = true;
      break;
    }
    ++m_counts[f->type];
    if (f->type == static_cast<uint16_t>(core::FrameType::disconnect)) {
      wire::Disconnect dc;
      if (dc.ParseFromArray(f->header.data(), static_cast<int>(f->header.size()))) m_reason = dc.reason();
      m_closed = true;
    } else if (f->type == static_cast<uint16_t>(core::FrameType::ping)) {
      wire::Ping p;
      if (p.ParseFromArray(f->header.data(), static_cast<int>(f->header.size()))) {
        wire::Pong pong;
        pong.set_nonce(p.nonce());
        send(frame_of(core::FrameType::pong, pong));
      }
    }
  }
  return !m_closed;
}

} // namespace openstreaming::test
