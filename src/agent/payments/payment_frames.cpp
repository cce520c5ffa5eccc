#include "agent/payments/payment_frames.h"

#include <cstring>
#include <wire.pb.h>

namespace openstreaming::agent {

namespace wire = openstreaming::wire::v1;

namespace {

std::string word(const U256& v) {
  auto w = core::to_word(v);
  return std::string(reinterpret_cast<const char*>(w.data()), w.size());
}
std::string raw(const uint8_t* p, std::size_t n) {
  return std::string(reinterpret_cast<const char*>(p), n);
}

std::optional<U256> word_from(const std::string& s) {
  if (s.size() != 32) return std::nullopt;
  std::array<uint8_t, 32> w{};
  std::memcpy(w.data(), s.data(), 32);
  return core::from_word(w);
}
std::optional<Hash256> hash_from(const std::string& s) {
  if (s.size() != 32) return std::nullopt;
  Hash256 h{};
  std::memcpy(h.data(), s.data(), 32);
  return h;
}
std::optional<core::Address> address_from(const std::string& s) {
  if (s.size() != 20) return std::nullopt;
  FixedBytes<20> a{};
  std::memcpy(a.data(), s.data(), 20);
  return core::Address(a);
}

template <class Msg>
core::Frame frame_of(core::MediaFrameType type, const Msg& msg) {
  core::Frame f;
  f.type = static_cast<uint16_t>(type);
  f.header.resize(msg.ByteSizeLong());
  msg.SerializeToArray(f.header.data(), static_cast<int>(f.header.size()));
  return f;
}

} // namespace

core::Frame ticket_params_frame(const pay::TicketParams& p, const core::Amount& price_per_mb) {
  wire::TicketParams m;
  m.set_recipient(raw(p.recipient.bytes().data(), 20));
  m.set_face_value(word(p.face_value));
  m.set_win_prob(word(p.win_prob));
  m.set_recipient_rand_hash(raw(p.recipient_rand_hash.data(), 32));
  m.set_seed(word(p.seed));
  m.set_creation_round(p.creation_round);
  m.set_creation_round_block_hash(raw(p.creation_round_block_hash.data(), 32));
  m.set_price_wei_per_mb(price_per_mb.to_wei_string());
  return frame_of(core::MediaFrameType::ticket_params, m);
}

std::optional<pay::TicketParams> parse_ticket_params(const core::Frame& f) {
  wire::TicketParams m;
  if (!m.ParseFromArray(f.header.data(), static_cast<int>(f.header.size()))) return std::nullopt;
  auto recipient = address_from(m.recipient());
  auto face = word_from(m.face_value());
  auto win = word_from(m.win_prob());
  auto rand_hash = hash_from(m.recipient_rand_hash());
  auto seed = word_from(m.seed());
  auto block = hash_from(m.creation_round_block_hash());
  if (!recipient || !face || !win || !rand_hash || !seed || !block) return std::nullopt;
  pay::TicketParams p;
  p.recipient = *recipient;
  p.face_value = *face;
  p.win_prob = *win;
  p.recipient_rand_hash = *rand_hash;
  p.seed = *seed;
  p.creation_round = m.creation_round();
  p.creation_round_block_hash = *block;
  return p;
}

core::Frame tickets_frame(const U256& seed, const std::vector<pay::SignedTicket>& tickets) {
  wire::TicketBatch m;
  m.set_seed(word(seed));
  for (const auto& st : tickets) {
    const pay::Ticket& t = st.ticket;
    auto* o = m.add_tickets();
    o->set_recipient(raw(t.recipient.bytes().data(), 20));
    o->set_sender(raw(t.sender.bytes().data(), 20));
    o->set_face_value(word(t.face_value));
    o->set_win_prob(word(t.win_prob));
    o->set_sender_nonce(word(t.sender_nonce));
    o->set_recipient_rand_hash(raw(t.recipient_rand_hash.data(), 32));
    o->set_creation_round(static_cast<uint64_t>(t.creation_round));
    o->set_creation_round_block_hash(raw(t.creation_round_block_hash.data(), 32));
    const auto& sig = st.signature.bytes();
    o->set_signature(raw(sig.data(), sig.size()));
  }
  return frame_of(core::MediaFrameType::tickets, m);
}

std::optional<TicketBatchMsg> parse_tickets(const core::Frame& f) {
  wire::TicketBatch m;
  if (!m.ParseFromArray(f.header.data(), static_cast<int>(f.header.size()))) return std::nullopt;
  if (static_cast<std::size_t>(m.tickets_size()) > kMaxTicketsPerFrame) return std::nullopt;
  auto seed = word_from(m.seed());
  if (!seed) return std::nullopt;
  TicketBatchMsg out;
  out.seed = *seed;
  for (const auto& o : m.tickets()) {
    auto recipient = address_from(o.recipient());
    auto sender = address_from(o.sender());
    auto face = word_from(o.face_value());
    auto win = word_from(o.win_prob());
    auto nonce = word_from(o.sender_nonce());
    auto rand_hash = hash_from(o.recipient_rand_hash());
    auto block = hash_from(o.creation_round_block_hash());
    auto sig = core::RecoverableSignature::parse(
        ByteView(reinterpret_cast<const uint8_t*>(o.signature().data()), o.signature().size()));
    if (!recipient || !sender || !face || !win || !nonce || !rand_hash || !block || !sig) return std::nullopt;
    pay::SignedTicket st;
    st.ticket.recipient = *recipient;
    st.ticket.sender = *sender;
    st.ticket.face_value = *face;
    st.ticket.win_prob = *win;
    st.ticket.sender_nonce = *nonce;
    st.ticket.recipient_rand_hash = *rand_hash;
    st.ticket.creation_round = o.creation_round();
    st.ticket.creation_round_block_hash = *block;
    st.signature = *sig;
    out.tickets.push_back(std::move(st));
  }
  return out;
}

} // namespace openstreaming::agent
