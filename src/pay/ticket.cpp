#include "pay/ticket.h"

#include "core/eip712.h"
#include "core/hex.h"
#include "core/keccak.h"

#include <cmath>

namespace openstreaming::pay {

namespace eip712 = core::eip712;

Hash256 TicketDomain::separator() const {
  if (!m_cache || std::get<0>(*m_cache) != chain_id || std::get<1>(*m_cache) != verifying_contract) {
    m_cache.emplace(chain_id, verifying_contract, eip712::domain_separator("OpenStreaming", "1", chain_id, verifying_contract));
  }
  return std::get<2>(*m_cache);
}

nlohmann::json TicketDomain::to_json() const {
  return {{"name", "OpenStreaming"},
          {"version", "1"},
          {"chainId", chain_id.str()},
          {"verifyingContract", verifying_contract.to_checksum_hex()}};
}

Hash256 Ticket::struct_hash() const {
  static const Hash256 type_hash = core::keccak256(as_bytes(kTicketType));
  core::Keccak256 h;
  h.update(type_hash)
      .update(eip712::word(recipient))
      .update(eip712::word(sender))
      .update(eip712::word(face_value))
      .update(eip712::word(win_prob))
      .update(eip712::word(sender_nonce))
      .update(recipient_rand_hash)
      .update(eip712::word(creation_round))
      .update(creation_round_block_hash);
  return h.finalize();
}

Hash256 Ticket::signing_hash(const TicketDomain& domain) const { return eip712::digest(domain.separator(), struct_hash()); }

nlohmann::json Ticket::to_json() const {
  return {{"recipient", recipient.to_checksum_hex()},
          {"sender", sender.to_checksum_hex()},
          {"faceValue", face_value.str()},
          {"winProb", win_prob.str()},
          {"senderNonce", sender_nonce.str()},
          {"recipientRandHash", core::to_hex(recipient_rand_hash)},
          {"creationRound", creation_round.str()},
          {"creationRoundBlockHash", core::to_hex(creation_round_block_hash)}};
}

Result<Ticket> Ticket::from_json(const nlohmann::json& j) {
  if (!j.is_object()) return make_error(Errc::invalid_input, "ticket: not an object");
  auto text = [&](const char* k) -> Result<std::string> {
    if (!j.contains(k) || !j[k].is_string()) return make_error(Errc::invalid_input, std::string("ticket: '") + k + "' must be a string");
    return j[k].get<std::string>();
  };
  auto number = [&](const char* k) -> Result<U256> {
    auto t = text(k);
    if (!t) return t.error();
    auto a = core::Amount::from_decimal_wei(*t);
    if (!a) return make_error(Errc::invalid_input, std::string("ticket: '") + k + "': " + a.error().message);
    return a->wei();
  };
  auto address = [&](const char* k) -> Result<core::Address> {
    auto t = text(k);
    if (!t) return t.error();
    auto a = core::Address::parse(*t);
    if (!a) return make_error(Errc::invalid_input, std::string("ticket: '") + k + "': " + a.error().message);
    return *a;
  };
  auto word = [&](const char* k) -> Result<Hash256> {
    auto t = text(k);
    if (!t) return t.error();
    auto h = core::from_hex_fixed<32>(*t);
    if (!h) return make_error(Errc::invalid_input, std::string("ticket: '") + k + "' must be 32 bytes of hex");
    return *h;
  };
  Ticket t;
  auto r = address("recipient");
  if (!r) return r.error();
  t.recipient = *r;
  auto s = address("sender");
  if (!s) return s.error();
  t.sender = *s;
  for (auto [k, out] : {std::pair{"faceValue", &t.face_value}, std::pair{"winProb", &t.win_prob},
                        std::pair{"senderNonce", &t.sender_nonce}, std::pair{"creationRound", &t.creation_round}}) {
    auto n = number(k);
    if (!n) return n.error();
    *out = *n;
  }
  for (auto [k, out] : {std::pair{"recipientRandHash", &t.recipient_rand_hash},
                        std::pair{"creationRoundBlockHash", &t.creation_round_block_hash}}) {
    auto w = word(k);
    if (!w) return w.error();
    *out = *w;
  }
  return t;
}

SignedTicket sign_ticket(const core::PrivateKey& sender, const Ticket& t, const TicketDomain& domain) {
  return SignedTicket{t, core::sign_hash(sender, t.signing_hash(domain))};
}

Result<core::Address> ticket_signer(const SignedTicket& st, const TicketDomain& domain) {
  auto pub = core::recover_public_key(st.ticket.signing_hash(domain), st.signature);
  if (!pub) return pub.error();
  return pub->address();
}

const U256& max_win_prob() {
  static const U256 max = ~U256(0);
  return max;
}

U256 win_prob_from(double probability) {
  if (!(probability > 0)) return 1;
  if (probability >= 1) return max_win_prob();
  // probability in parts per 2^53, scaled up exactly: no floating point on the 256-bit value.
  auto ppq = static_cast<uint64_t>(std::ldexp(probability, 53));
  U256 v = (max_win_prob() >> 53) * ppq;
  return v == 0 ? U256(1) : v;
}

bool is_winner(const core::RecoverableSignature& signature, const Hash256& recipient_rand, const U256& win_prob) {
  core::Keccak256 h;
  h.update(signature.bytes()).update(recipient_rand);
  return core::from_word(h.finalize()) < win_prob;
}

core::Amount expected_value(const U256& face_value, const U256& win_prob) {
  auto r = core::mul_div(core::Amount(face_value), win_prob, max_win_prob());
  return r ? *r : core::Amount{};
}

} // namespace openstreaming::pay
