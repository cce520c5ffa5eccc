// Payments in the live network (docs/payments.md): the node's side of every
// paying relationship, on top of src/pay. No I/O.
//
// Who pays whom: a node that receives media from an upstream pays it for the
// bytes, at the price agreed when the subscription was accepted
// (SubscribeResult.quote_wei_per_mb). Viewers pay edge relays, relays pay their
// upstreams, the first hop pays the broadcaster.
//
//   payee (serves)                         payer (receives)
//   ticket_params (frame 24), each round →   keeps the latest params per payee
//                                        ←   tickets (frame 25) as its debt reaches
//                                            one ticket's expected value
//   checks each ticket against the ledger
//   snapshot; winners queued (and stored
//   by the runtime before anything else)
//   and redeemed in batches two rounds later
//
// Rounds. Parameters are issued for the ledger's current round and accepted
// for that round and the next (TicketReceiver valid_rounds = 1), so a payer
// cannot keep using parameters whose recipientRand has been revealed by a
// redemption. Winners are redeemed once their creation round is two rounds old
// — after the acceptance window closed — and the embedded ledger honours a
// ticket for ledger::Params::ticket_valid_rounds (4) rounds: two rounds of
// slack for a node that crashed with winners queued.
//
// Durability: every winner added or settled becomes a StoreOp the runtime
// writes (SQLite) before it sends or receives anything else; restore() loads
// them at start. A batch lost in a crash is simply resubmitted: the ledger
// answers "already redeemed" for tickets it paid, and those count as redeemed.
//
// The ledger is seen through LedgerSnapshot, refreshed by the runtime (JSON-RPC
// in the daemon, the state machine itself in tests and the simulator).
#pragma once

#include "core/amount.h"
#include "core/result.h"
#include "core/time.h"
#include "pay/tickets.h"
#include "pay/winners.h"

#include <nlohmann/json.hpp>

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace openstreaming::agent {

using core::U256;

struct PaymentOptions {
  bool enabled = false;                                                     // a ledger is configured
  core::Amount redeem_cost = core::Amount::from_wei(1'000'000'000'000'000); // 0.001 ether: face value = 100 x this
  uint64_t ticket_bytes = 256 * 1024; // one ticket's expected value pays for this many bytes
  pay::SenderLimits limits;           // what we accept as a payer
  std::size_t redeem_batch = 64;      // tickets per redemption transaction
  uint64_t redeem_after_rounds = 2;   // a winner is redeemed when its round is this old
  // As a payer: the most we spend (expected value of the tickets we sign) on one
  // relationship in one ledger round, whatever it claims we owe. Debt beyond it
  // waits for the next round.
  core::Amount max_spend_per_round = core::Amount::from_wei(100'000'000'000'000'000); // 0.1 ether
  // As a payee: how many bytes' worth a payer may owe us (served, not yet paid
  // with accepted tickets) before its subscriptions are refused with
  // `payment_overdue`; it may subscribe again once it has paid.
  uint64_t credit_bytes = 8ull << 20;
  // The most addresses watch() returns (and the runtime asks the ledger about
  // per poll), ourselves included.
  std::size_t max_watched = 256;
  // The relationships kept in memory. Beyond it, forget_disconnected() folds
  // disconnected ones into retired() — those we owe nothing and have not paid
  // this round — least money at stake first. Connected ones are always kept.
  std::size_t max_relations = 1024;
};

// The ledger as the runtime last saw it.
struct LedgerSnapshot final : pay::LedgerView {
  uint64_t chain_id = 0;
  pay::TicketDomain domain;
  uint64_t round = 0;
  uint64_t height = 0;
  uint64_t ticket_valid_rounds = 2;
  std::map<uint64_t, Hash256> round_hashes;           // recent rounds
  std::map<core::Address, pay::SenderFunds> accounts; // the payers we watch
  struct Own {
    core::Amount balance, deposit, reserve;
  } self;

  std::optional<pay::SenderFunds> funds(const core::Address& sender) const override;
  uint64_t current_round() const override { return round; }
  std::optional<Hash256> round_block_hash(uint64_t r) const override;
};

// One relationship's money, both directions (a neighbour can be both).
struct PaymentRelation {
  // We pay them.
  core::Amount price_paid; // agreed wei per MB for what they send us (0: we never subscribed)
  core::Amount metered_in; // value of the bytes they sent us
  uint64_t tickets_sent = 0;
  core::Amount ev_sent;                    // expected value of the tickets we sent
  std::optional<pay::TicketParams> params; // their latest
  uint64_t spend_round = 0;                // the ledger round `spent_in_round` counts
  core::Amount spent_in_round;             // expected value signed to them in that round
  uint64_t params_unsolicited = 0;         // parameters sent while we owed them nothing
  // They pay us.
  core::Amount price_charged; // agreed wei per MB for what we send them
  core::Amount metered_out;   // value of the bytes we sent them
  uint64_t tickets_received = 0, tickets_rejected = 0, won = 0, redeemed = 0;
  core::Amount ev_received, won_value, redeemed_value;
  uint64_t params_round = 0;
  bool params_sent = false;
  uint64_t overdue_refusals = 0;                   // subscriptions refused because they owed more than the credit limit
  U256 issued_face_value = 0, issued_win_prob = 0; // the parameters we last gave them
  std::string last_error;                          // the last rejected ticket or refused parameters

  // Adds `other`'s counters (bytes, values, tickets) to these, saturating;
  // prices, parameters and errors are left as they are. Totals over many
  // relationships (and the forgotten ones) are sums made with it.
  void add_counters(const PaymentRelation& other);
};

struct RedeemOutcome {
  Hash256 hash{};
  bool paid = false;  // paid now, or earlier ("already redeemed": only we could have)
  bool retry = false; // the sender cannot cover it now: stays queued while valid
  std::string reason;
};

class Payments {
public:
  Payments(const core::PrivateKey& key, PaymentOptions options);
  const PaymentOptions& options() const { return m_o; }
  bool enabled() const { return m_o.enabled; }
  // Ready once a ledger snapshot arrived (it brings the chain id and domain).
  bool ready() const { return m_ledger.has_value(); }

  void set_ledger(LedgerSnapshot snapshot);
  const std::optional<LedgerSnapshot>& ledger() const { return m_ledger; }
  // Whose funds the next snapshot must carry, at most options().max_watched
  // addresses, in this order: ourselves; the payers among `connected` that we
  // charge (only a connected payer can send tickets to judge against its
  // funds); payers whose tickets wait for a snapshot that shows their funds.
  // A payer that disconnected drops out (its tickets were judged; redeeming
  // its winners needs no snapshot of it), so the set is bounded by the
  // connections, not by everyone ever served.
  std::vector<core::Address> watched(const std::vector<core::Address>& connected) const;

  // ---- We are paid ----
  void agree_charge(const core::Address& payer, const core::Amount& price_per_mb);
  // Meters bytes served to `payer` at the agreed price and returns their value
  // (zero without an agreed price): the one valuation economics uses too.
  core::Amount served(const core::Address& payer, uint64_t bytes);
  // What `payer` owes us beyond the tickets we accepted from it.
  core::Amount unpaid(const core::Address& payer) const;
  // True when payments are on and `payer` owes more than `credit_bytes` at the agreed price.
  bool overdue(const core::Address& payer) const;
  void note_overdue_refusal(const core::Address& payer);
  // Fresh parameters for `payer` when it has none for the current round.
  std::optional<pay::TicketParams> params_due(const core::Address& payer, const U256& seed);
  // Checks tickets from `payer`; winners are queued. Returns how many were rejected.
  std::size_t on_tickets(const core::Address& payer, const U256& seed, const std::vector<pay::SignedTicket>& tickets);

  // ---- We pay ----
  void agree_price(const core::Address& payee, const core::Amount& price_per_mb);
  // Meters bytes received from `payee` at the agreed price (nothing without
  // one: we never pay a neighbour whose price we did not accept) and returns their value.
  core::Amount received(const core::Address& payee, uint64_t bytes);
  // True when we agreed a price with `payee`: only then do its parameters count.
  bool owes(const core::Address& payee) const;
  // Their parameters: an error when unsolicited (we owe them nothing) or beyond
  // our limits (nothing is paid with them).
  Result<void> on_params(const core::Address& payee, const pay::TicketParams& params);
  // Tickets to send `payee` now (none without parameters or debt). Never more
  // than we owe (a ticket is signed only for a full expected value of metered
  // debt), and never more than max_spend_per_round in one round.
  std::vector<pay::SignedTicket> tickets_due(const core::Address& payee);

  // ---- Redemption ----
  // A batch to submit, when none is in flight and some are due.
  std::vector<pay::Winner> take_redemption();
  void on_redeemed(const std::vector<RedeemOutcome>& outcomes);
  void on_redeem_failed(const std::string& why); // nothing known: all stay queued
  bool redemption_in_flight() const { return m_in_flight; }

  // ---- Durability ----
  struct StoreOp {
    bool add = true; // false: remove
    pay::Winner winner;
  };
  void restore(const std::vector<pay::Winner>& winners);
  std::optional<StoreOp> poll_store_op();

  // Bounds relations() by options().max_relations (see there): a stream of
  // throwaway payer identities cannot grow it. A forgotten payer that comes
  // back starts a new relationship (its unpaid debt was at most the credit
  // limit). Returns how many were forgotten.
  std::size_t forget_disconnected(const std::vector<core::Address>& connected);

  const std::map<core::Address, PaymentRelation>& relations() const { return m_rel; }
  // The counters of every forgotten relationship, summed (prices and params
  // empty): totals over relations() plus this never go down.
  const PaymentRelation& retired() const { return m_retired; }
  uint64_t relations_forgotten() const { return m_forgotten; }
  std::size_t winners_queued() const { return m_winners.size() + m_restored.size(); }
  std::vector<pay::Winner> winners() const; // queued, not yet redeemed
  uint64_t winners_expired() const { return m_winners.expired(); }
  const std::string& last_redeem_error() const { return m_redeem_error; }
  uint64_t redemptions_submitted() const { return m_batches; }

private:
  void flush_dropped();

  core::PrivateKey m_key;
  core::Address m_self;
  PaymentOptions m_o;
  Hash256 m_secret{};
  std::optional<LedgerSnapshot> m_ledger;
  std::unique_ptr<pay::TicketReceiver> m_receiver;
  std::unique_ptr<pay::TicketSender> m_sender;
  pay::WinnersQueue m_winners;
  std::vector<pay::Winner> m_restored; // loaded before the ledger was known
  std::map<core::Address, PaymentRelation> m_rel;
  PaymentRelation m_retired;
  uint64_t m_forgotten = 0;
  // Tickets from a payer whose funds the snapshot does not show yet (a new
  // relationship): judged when the next snapshot, which watches it, arrives.
  struct Waiting {
    U256 seed;
    std::vector<pay::SignedTicket> tickets;
  };
  std::map<core::Address, std::vector<Waiting>> m_waiting;
  static constexpr std::size_t kMaxWaitingTickets = 1024;
  std::deque<StoreOp> m_store_ops;
  bool m_in_flight = false;
  std::vector<Hash256> m_batch;
  uint64_t m_batches = 0;
  std::string m_redeem_error;
};

// The embedded ledger's `redeem` transaction for a batch, and its receipt read
// back as one outcome per winner, in the batch's order. Shared by every driver
// that redeems (the daemon's ledger link, the simulator, tests). An error when
// the receipt does not answer for every ticket of the batch.
nlohmann::json redeem_args(const std::vector<pay::Winner>& batch);
Result<std::vector<RedeemOutcome>> redeem_outcomes(const std::vector<pay::Winner>& batch,
                                                   const nlohmann::json& receipt);

} // namespace openstreaming::agent
