#include "pay/tickets.h"

#include "core/hash.h"
#include "core/keccak.h"

namespace openstreaming::pay {

namespace {
const core::Amount kZero;
void put(Bytes& out, const Hash256& w) { out.insert(out.end(), w.begin(), w.end()); }
} // namespace

Hash256 TicketReceiver::recipient_rand(const core::Address& sender, const U256& face_value, const U256& win_prob,
                                       uint64_t round, const Hash256& block_hash, const U256& seed) const {
  Bytes msg;
  msg.insert(msg.end(), sender.bytes().begin(), sender.bytes().end());
  put(msg, core::to_word(face_value));
  put(msg, core::to_word(win_prob));
  put(msg, core::to_word(U256(round)));
  put(msg, block_hash);
  put(msg, core::to_word(seed));
  return core::hmac_sha256(m_secret, msg);
}

TicketParams TicketReceiver::params(const core::Address& sender, const U256& face_value, const U256& win_prob,
                                    uint64_t round, const Hash256& block_hash, const U256& seed) const {
  TicketParams p;
  p.recipient = m_self;
  p.face_value = face_value;
  p.win_prob = win_prob;
  p.recipient_rand_hash = core::keccak256(recipient_rand(sender, face_value, win_prob, round, block_hash, seed));
  p.seed = seed;
  p.creation_round = round;
  p.creation_round_block_hash = block_hash;
  return p;
}

Result<ReceivedTicket> TicketReceiver::receive(const SignedTicket& st, const U256& seed, const LedgerView& ledger,
                                               const core::Amount& pending) {
  const Ticket& t = st.ticket;
  auto bad = [](const std::string& why) { return make_error(Errc::invalid_input, "ticket rejected: " + why); };
  if (t.recipient != m_self) return bad("for another recipient (" + t.recipient.to_checksum_hex() + ")");
  // Cheap checks first (rounds, block hash, seen nonces and funds are look-ups,
  // the recipientRand one HMAC and one Keccak), the signature recovery last, so
  // junk tickets cost no curve operation; nothing is stored until every check
  // passed (a rejected ticket leaves no state behind).
  if (t.creation_round > U256(UINT64_MAX)) return bad("creation round out of range");
  auto round = static_cast<uint64_t>(t.creation_round);
  uint64_t now = ledger.current_round();
  if (round > now) return bad("created in a future round");
  if (round + m_valid_rounds < now) return bad("expired (round " + std::to_string(round) + ", now " + std::to_string(now) + ")");
  auto hash = ledger.round_block_hash(round);
  if (!hash || *hash != t.creation_round_block_hash) return bad("creationRoundBlockHash does not match the ledger");
  auto seen = m_seen_nonces.find(t.recipient_rand_hash);
  if (seen != m_seen_nonces.end() && seen->second.nonces.count(t.sender_nonce))
    return bad("replayed (nonce " + t.sender_nonce.str() + ")");
  Hash256 rand = recipient_rand(t.sender, t.face_value, t.win_prob, round, t.creation_round_block_hash, seed);
  if (core::keccak256(rand) != t.recipient_rand_hash) return bad("recipientRandHash is not ours for these parameters");
  auto funds = ledger.funds(t.sender);
  if (!funds) return bad("the sender has no account");
  if (funds->withdraw_round != 0) return bad("the sender is withdrawing its deposit");
  core::U256 share = funds->reserve.wei() / std::max<uint64_t>(1, funds->reserve_recipients);
  core::U256 cover = funds->deposit.wei() + share;
  if (cover < pending.wei() + t.face_value) return bad("the sender's funds cannot cover it");
  // The one curve operation, once everything a look-up or a hash can refuse was
  // refused: a replayed, expired, stale-round or not-for-us ticket costs none.
  auto signer = m_recover(st, m_domain);
  if (!signer || *signer != t.sender) return bad("signature is not the sender's");
  // Nonces of parameters whose round can no longer be accepted are forgotten:
  // a ticket from those rounds is refused as expired before the look-up above.
  std::erase_if(m_seen_nonces, [&](const auto& e) { return e.second.round + m_valid_rounds < now; });
  Seen& entry = m_seen_nonces[t.recipient_rand_hash];
  entry.round = round;
  entry.nonces.insert(t.sender_nonce);
  ReceivedTicket r;
  r.recipient_rand = rand;
  r.winner = is_winner(st.signature, rand, t.win_prob);
  r.expected_value = expected_value(t.face_value, t.win_prob);
  return r;
}

void TicketSender::owe(const core::Address& recipient, const core::Amount& value) {
  auto& o = m_owed[recipient];
  o = core::saturating_add(o, value); // a debt never wraps to zero
}

const core::Amount& TicketSender::owed(const core::Address& recipient) const {
  auto it = m_owed.find(recipient);
  return it == m_owed.end() ? kZero : it->second;
}

Result<std::vector<SignedTicket>> TicketSender::pay(const TicketParams& p, std::size_t max_tickets) {
  if (core::Amount(p.face_value) > m_limits.max_face_value) {
    return make_error(Errc::invalid_input, "ticket parameters refused: face value " + p.face_value.str() + " above our limit");
  }
  if (p.win_prob < m_limits.min_win_prob || p.win_prob == 0) {
    return make_error(Errc::invalid_input, "ticket parameters refused: win probability below our limit");
  }
  core::Amount ev = expected_value(p.face_value, p.win_prob);
  if (ev.wei() == 0) return make_error(Errc::invalid_input, "ticket parameters refused: worthless tickets");
  std::vector<SignedTicket> out;
  core::Amount& owed = m_owed[p.recipient];
  while (owed >= ev && out.size() < max_tickets) {
    Ticket t;
    t.recipient = p.recipient;
    t.sender = m_address;
    t.face_value = p.face_value;
    t.win_prob = p.win_prob;
    t.sender_nonce = ++m_nonce[p.recipient];
    t.recipient_rand_hash = p.recipient_rand_hash;
    t.creation_round = p.creation_round;
    t.creation_round_block_hash = p.creation_round_block_hash;
    out.push_back(sign_ticket(m_key, t, m_domain));
    owed = *core::checked_sub(owed, ev);
    ++m_sent;
  }
  return out;
}

core::Amount face_value_for(const core::Amount& redemption_cost) {
  auto r = core::checked_mul(redemption_cost, 100);
  return r ? *r : redemption_cost;
}

} // namespace openstreaming::pay
