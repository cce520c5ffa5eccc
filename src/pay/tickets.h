// Both ends of a ticket relationship (docs/payments.md). No I/O.
//
// Recipient: recipientRand is stateless — HMAC-SHA256(secret, sender ‖ faceValue
// ‖ winProb ‖ creationRound ‖ creationRoundBlockHash ‖ seed) — so it keeps no
// per-sender secret, only the nonces it has seen per rand hash (replay). It
// checks recipient, signature, rand hash, nonce, expiry (creation round within
// `valid_rounds` and the round's block hash as the ledger knows it) and the
// sender's funds as the ledger sees them (deposit + its share of the reserve −
// winners already pending against it).
//
// Sender: credit per relationship (what it owes for bytes received); when the
// debt reaches a ticket's expected value it issues a ticket. The face value is
// chosen so that redemption costs at most 1 % of it; parameters beyond the
// sender's limits (face value, win probability) are refused.
#pragma once

#include "pay/ticket.h"

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <vector>

namespace openstreaming::pay {

// What a recipient needs to know from the ledger.
struct SenderFunds {
  core::Amount deposit;
  core::Amount reserve;
  uint64_t reserve_recipients = 1; // the reserve is shared among this many recipients
  uint64_t withdraw_round = 0;     // 0: no unlock pending
};

class LedgerView {
public:
  virtual ~LedgerView() = default;
  virtual std::optional<SenderFunds> funds(const core::Address& sender) const = 0;
  virtual uint64_t current_round() const = 0;
  virtual std::optional<Hash256> round_block_hash(uint64_t round) const = 0;
};

// The parameters a recipient hands a sender for its next tickets.
struct TicketParams {
  core::Address recipient;
  U256 face_value = 0;
  U256 win_prob = 0;
  Hash256 recipient_rand_hash{};
  U256 seed = 0; // echoed back with each ticket
  uint64_t creation_round = 0;
  Hash256 creation_round_block_hash{};
};

struct ReceivedTicket {
  bool winner = false;
  Hash256 recipient_rand{}; // needed to redeem a winner
  core::Amount expected_value;
};

class TicketReceiver {
public:
  // How a ticket's signer is recovered (ticket_signer; tests count the calls).
  using SignerRecovery = std::function<Result<core::Address>(const SignedTicket&, const TicketDomain&)>;
  TicketReceiver(core::Address self, Hash256 secret, TicketDomain domain, uint64_t valid_rounds = 2,
                 SignerRecovery recover = ticket_signer)
      : m_self(self), m_secret(secret), m_domain(std::move(domain)), m_valid_rounds(valid_rounds),
        m_recover(std::move(recover)) {}

  Hash256 recipient_rand(const core::Address& sender, const U256& face_value, const U256& win_prob, uint64_t round,
                         const Hash256& block_hash, const U256& seed) const;
  TicketParams params(const core::Address& sender, const U256& face_value, const U256& win_prob, uint64_t round,
                      const Hash256& block_hash, const U256& seed) const;

  // Checks a ticket; `pending` is what winners already queued against this sender
  // are worth. Every check but the signature runs first: a ticket refused for
  // anything else costs no ECDSA recovery.
  Result<ReceivedTicket> receive(const SignedTicket& st, const U256& seed, const LedgerView& ledger,
                                 const core::Amount& pending);
  const TicketDomain& domain() const { return m_domain; }

private:
  core::Address m_self;
  Hash256 m_secret;
  TicketDomain m_domain;
  uint64_t m_valid_rounds;
  SignerRecovery m_recover;
  struct Seen {
    uint64_t round = 0; // creation round of the parameters behind this rand hash
    std::set<U256> nonces;
  };
  std::map<Hash256, Seen> m_seen_nonces; // per recipientRandHash, pruned once the round expires
  friend class TicketReceiverPeer;       // tests: the pruning keeps this bounded
};

struct SenderLimits {
  core::Amount max_face_value = core::Amount::from_wei(1'000'000'000'000'000'000ULL); // 1 ether
  U256 min_win_prob = 1;                                                              // refuse rarer tickets
};

class TicketSender {
public:
  TicketSender(const core::PrivateKey& key, TicketDomain domain, SenderLimits limits = {})
      : m_key(key), m_address(key.address()), m_domain(std::move(domain)), m_limits(limits) {}

  // Adds to what we owe `recipient` (metered bytes x its price).
  void owe(const core::Address& recipient, const core::Amount& value);
  const core::Amount& owed(const core::Address& recipient) const;
  // Tickets to send now with the recipient's parameters: one per expected value
  // owed, at most `max_tickets`. Errors when the parameters are beyond our limits.
  Result<std::vector<SignedTicket>> pay(const TicketParams& params, std::size_t max_tickets = 16);
  const core::Address& address() const { return m_address; }
  uint64_t tickets_sent() const { return m_sent; }

private:
  core::PrivateKey m_key;
  core::Address m_address;
  TicketDomain m_domain;
  SenderLimits m_limits;
  std::map<core::Address, core::Amount> m_owed;
  std::map<core::Address, U256> m_nonce;
  uint64_t m_sent = 0;
};

// The face value for a redemption cost: 100 x cost, so redeeming costs <= 1 % of it.
core::Amount face_value_for(const core::Amount& redemption_cost);

} // namespace openstreaming::pay
