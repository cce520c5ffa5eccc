// Winning tickets for ledger tests: signed by a payer's key in the domain a
// ledger snapshot gives, for that snapshot's current round. Header-only.
#pragma once

#include "agent/payments/payments.h"
#include "core/keccak.h"
#include "core/random.h"
#include "pay/ticket.h"
#include "pay/winners.h"

#include <functional>

namespace openstreaming::test {

// What a test may change in a ticket before it is signed: its fields, the
// recipient's random value, the key that signs it.
using TicketMutation = std::function<void(pay::Ticket&, Hash256& rand, const core::PrivateKey*& signer)>;

// A ticket from `payer` to `payee` that always wins (win_prob at its maximum),
// created in `s`'s current round, with `nonce` and face value `face`.
inline pay::Winner winning_ticket(const agent::LedgerSnapshot& s, const core::PrivateKey& payer,
                                  const core::Address& payee, uint64_t nonce, const core::U256& face,
                                  const TicketMutation& mutate = {}) {
  core::DeterministicRandom rng(1000 + nonce);
  Hash256 rand = rng.bytes<32>();
  pay::Ticket t;
  t.recipient = payee;
  t.sender = payer.address();
  t.face_value = face;
  t.win_prob = pay::max_win_prob();
  t.sender_nonce = nonce;
  t.recipient_rand_hash = core::keccak256(rand);
  t.creation_round = s.round;
  t.creation_round_block_hash = s.round_hashes.at(s.round);
  const core::PrivateKey* signer = &payer;
  if (mutate) mutate(t, rand, signer);
  pay::Winner w;
  w.ticket = pay::sign_ticket(*signer, t, s.domain);
  w.recipient_rand = rand;
  w.hash = t.signing_hash(s.domain);
  return w;
}

} // namespace openstreaming::test
