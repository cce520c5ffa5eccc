#include "agent/payments/payments.h"

#include "core/hash.h"
#include "core/hex.h"

#include <algorithm>

namespace openstreaming::agent {

namespace {
// Totals saturate (core::saturating_*): a money counter never wraps or resets.
core::Amount value_of(const core::Amount& price_per_mb, uint64_t bytes) {
  return core::saturating_mul_div(price_per_mb, core::U256(bytes), core::U256(1'000'000));
}
void add_to(core::Amount& total, const core::Amount& v) {
  total = core::saturating_add(total, v);
}
} // namespace

std::optional<pay::SenderFunds> LedgerSnapshot::funds(const core::Address& sender) const {
  auto it = accounts.find(sender);
  if (it == accounts.end()) return std::nullopt;
  return it->second;
}

std::optional<Hash256> LedgerSnapshot::round_block_hash(uint64_t r) const {
  auto it = round_hashes.find(r);
  if (it == round_hashes.end()) return std::nullopt;
  return it->second;
}

Payments::Payments(const core::PrivateKey& key, PaymentOptions options)
    : m_key(key), m_self(key.address()), m_o(std::move(options)) {
  // recipientRand's secret: derived from the node key, so it survives restarts
  // without a file of its own and is known to no one else.
  static constexpr std::string_view kLabel = "openstreaming/ticket-secret/v1";
  m_secret = core::hmac_sha256(ByteView(key.secret().data(), key.secret().size()),
                               ByteView(reinterpret_cast<const uint8_t*>(kLabel.data()), kLabel.size()));
}

void Payments::set_ledger(LedgerSnapshot snapshot) {
  bool first = !m_ledger;
  if (m_ledger && m_ledger->chain_id != snapshot.chain_id) return; // another ledger: ignore (the runtime reports it)
  m_ledger = std::move(snapshot);
  if (first) {
    // Parameters are accepted for their round and the next (see the header).
    m_receiver = std::make_unique<pay::TicketReceiver>(m_self, m_secret, m_ledger->domain, 1);
    m_sender = std::make_unique<pay::TicketSender>(m_key, m_ledger->domain, m_o.limits);
    m_winners = pay::WinnersQueue(m_ledger->ticket_valid_rounds, m_o.redeem_after_rounds);
    for (auto& w : m_restored) m_winners.add(std::move(w));
    m_restored.clear();
    // What we owed before the ledger was known.
    for (const auto& [payee, r] : m_rel) {
      if (r.metered_in.wei() > r.ev_sent.wei())
        m_sender->owe(payee, core::Amount(r.metered_in.wei() - r.ev_sent.wei()));
    }
  }
  auto waiting = std::exchange(m_waiting, {});
  for (auto& [payer, batches] : waiting) {
    for (auto& w : batches) on_tickets(payer, w.seed, w.tickets);
  }
}

std::vector<core::Address> Payments::watched(const std::vector<core::Address>& connected) const {
  std::vector<core::Address> out{m_self};
  auto add = [&](const core::Address& a) {
    if (out.size() < m_o.max_watched && std::find(out.begin(), out.end(), a) == out.end()) out.push_back(a);
  };
  for (const auto& a : connected) {
    auto it = m_rel.find(a);
    if (it != m_rel.end() && it->second.price_charged.wei() > 0) add(a);
  }
  for (const auto& [a, w] : m_waiting) add(a);
  return out;
}

void PaymentRelation::add_counters(const PaymentRelation& r) {
  add_to(metered_in, r.metered_in);
  add_to(metered_out, r.metered_out);
  add_to(ev_sent, r.ev_sent);
  add_to(ev_received, r.ev_received);
  add_to(won_value, r.won_value);
  add_to(redeemed_value, r.redeemed_value);
  tickets_sent += r.tickets_sent;
  tickets_received += r.tickets_received;
  tickets_rejected += r.tickets_rejected;
  won += r.won;
  redeemed += r.redeemed;
  overdue_refusals += r.overdue_refusals;
  params_unsolicited += r.params_unsolicited;
}

std::size_t Payments::forget_disconnected(const std::vector<core::Address>& connected) {
  if (m_rel.size() <= m_o.max_relations) return 0;
  const uint64_t round = m_ledger ? m_ledger->round : 0;
  auto at_stake = [](const PaymentRelation& r) {
    return r.metered_out > r.ev_received ? r.metered_out.wei() - r.ev_received.wei() : U256(0);
  };
  std::vector<std::pair<U256, core::Address>> candidates;
  for (const auto& [a, r] : m_rel) {
    if (std::find(connected.begin(), connected.end(), a) != connected.end()) continue;
    if (m_waiting.count(a)) continue;                                   // tickets still to judge
    if (r.metered_in > r.ev_sent) continue;                             // we owe them: a debt we do not forget
    if (r.spend_round == round && r.spent_in_round.wei() > 0) continue; // this round's spending cap holds
    candidates.emplace_back(at_stake(r), a);
  }
  std::sort(candidates.begin(), candidates.end());
  std::size_t forgotten = 0;
  for (const auto& [stake, a] : candidates) {
    if (m_rel.size() <= m_o.max_relations) break;
    auto it = m_rel.find(a);
    m_retired.add_counters(it->second);
    m_rel.erase(it);
    ++forgotten;
  }
  m_forgotten += forgotten;
  return forgotten;
}

// ---- We are paid ------------------------------------------------------------------

void Payments::agree_charge(const core::Address& payer, const core::Amount& price_per_mb) {
  PaymentRelation& r = m_rel[payer];
  if (r.price_charged != price_per_mb) r.params_sent = false; // the win probability follows the price
  r.price_charged = price_per_mb;
}

core::Amount Payments::served(const core::Address& payer, uint64_t bytes) {
  auto it = m_rel.find(payer);
  if (it == m_rel.end() || it->second.price_charged.wei() == 0) return {};
  core::Amount v = value_of(it->second.price_charged, bytes);
  add_to(it->second.metered_out, v);
  return v;
}

core::Amount Payments::unpaid(const core::Address& payer) const {
  auto it = m_rel.find(payer);
  if (it == m_rel.end() || it->second.metered_out <= it->second.ev_received) return {};
  return core::Amount(it->second.metered_out.wei() - it->second.ev_received.wei());
}

bool Payments::overdue(const core::Address& payer) const {
  if (!m_o.enabled || !m_ledger) return false; // nothing can be paid yet: no one is overdue
  auto it = m_rel.find(payer);
  if (it == m_rel.end() || it->second.price_charged.wei() == 0) return false;
  return unpaid(payer) > value_of(it->second.price_charged, m_o.credit_bytes);
}

void Payments::note_overdue_refusal(const core::Address& payer) {
  ++m_rel[payer].overdue_refusals;
}

std::optional<pay::TicketParams> Payments::params_due(const core::Address& payer, const U256& seed) {
  if (!m_o.enabled || !m_ledger) return std::nullopt;
  auto it = m_rel.find(payer);
  if (it == m_rel.end() || it->second.price_charged.wei() == 0) return std::nullopt;
  PaymentRelation& r = it->second;
  if (r.params_sent && r.params_round == m_ledger->round) return std::nullopt;
  auto hash = m_ledger->round_block_hash(m_ledger->round);
  if (!hash) return std::nullopt;
  // One ticket pays for ticket_bytes at the agreed price; the face value keeps
  // the redemption cost at 1 % of it; the win probability makes up the rest.
  core::Amount ev = value_of(r.price_charged, m_o.ticket_bytes);
  core::Amount face = pay::face_value_for(m_o.redeem_cost);
  if (ev.wei() == 0) return std::nullopt;
  U256 win;
  if (ev >= face) {
    face = ev; // worth more than a face value: every ticket wins
    win = pay::max_win_prob();
  } else {
    win = pay::max_win_prob() / face.wei() * ev.wei(); // floor(max / face) x ev <= max
  }
  r.params_sent = true;
  r.params_round = m_ledger->round;
  r.issued_face_value = face.wei();
  r.issued_win_prob = win;
  return m_receiver->params(payer, face.wei(), win, m_ledger->round, *hash, seed);
}

std::size_t Payments::on_tickets(const core::Address& payer, const U256& seed,
                                 const std::vector<pay::SignedTicket>& tickets) {
  if (!m_o.enabled) return tickets.size();
  PaymentRelation& r = m_rel[payer];
  if (!m_ledger || !m_ledger->funds(payer)) { // not watched yet: wait for the next snapshot
    std::size_t held = 0;
    for (const auto& w : m_waiting[payer]) held += w.tickets.size();
    if (held + tickets.size() <= kMaxWaitingTickets) {
      m_waiting[payer].push_back({seed, tickets});
      return 0;
    }
    r.tickets_rejected += tickets.size();
    r.last_error = "ticket rejected: too many tickets before the ledger showed the sender's funds";
    return tickets.size();
  }
  std::size_t rejected = 0;
  for (const auto& t : tickets) {
    if (t.ticket.sender != payer) { // signed for another relationship
      ++rejected;
      ++r.tickets_rejected;
      r.last_error = "ticket rejected: sender is not the neighbour that sent it";
      continue;
    }
    auto got = m_receiver->receive(t, seed, *m_ledger, m_winners.pending_from(payer));
    if (!got) {
      ++rejected;
      ++r.tickets_rejected;
      r.last_error = got.error().message;
      continue;
    }
    ++r.tickets_received;
    add_to(r.ev_received, got->expected_value);
    if (got->winner) {
      ++r.won;
      add_to(r.won_value, core::Amount(t.ticket.face_value));
      pay::Winner w{t, got->recipient_rand, t.ticket.signing_hash(m_ledger->domain)};
      m_winners.add(w);
      m_store_ops.push_back({true, std::move(w)});
    }
  }
  return rejected;
}

// ---- We pay -------------------------------------------------------------------------

void Payments::agree_price(const core::Address& payee, const core::Amount& price_per_mb) {
  m_rel[payee].price_paid = price_per_mb;
}

core::Amount Payments::received(const core::Address& payee, uint64_t bytes) {
  auto it = m_rel.find(payee);
  if (it == m_rel.end() || it->second.price_paid.wei() == 0) return {};
  core::Amount v = value_of(it->second.price_paid, bytes);
  add_to(it->second.metered_in, v);
  if (m_sender) m_sender->owe(payee, v);
  return v;
}

bool Payments::owes(const core::Address& payee) const {
  auto it = m_rel.find(payee);
  return it != m_rel.end() && it->second.price_paid.wei() > 0;
}

Result<void> Payments::on_params(const core::Address& payee, const pay::TicketParams& params) {
  auto known = m_rel.find(payee);
  if (known == m_rel.end() || known->second.price_paid.wei() == 0) {
    // No relationship (never created here: a stranger must not grow our map).
    if (known != m_rel.end()) ++known->second.params_unsolicited;
    return make_error(Errc::invalid_input, "parameters refused: we owe this neighbour nothing");
  }
  PaymentRelation& r = known->second;
  if (params.recipient != payee) {
    r.last_error = "parameters refused: they name another recipient";
    return make_error(Errc::invalid_input, r.last_error);
  }
  if (core::Amount(params.face_value) > m_o.limits.max_face_value) {
    r.last_error = "parameters refused: face value " + params.face_value.str() + " wei above our limit";
    return make_error(Errc::invalid_input, r.last_error);
  }
  if (params.win_prob < m_o.limits.min_win_prob || params.win_prob == 0) {
    r.last_error = "parameters refused: win probability below our limit";
    return make_error(Errc::invalid_input, r.last_error);
  }
  r.params = params;
  return {};
}

std::vector<pay::SignedTicket> Payments::tickets_due(const core::Address& payee) {
  if (!m_o.enabled || !m_sender) return {};
  auto it = m_rel.find(payee);
  if (it == m_rel.end() || !it->second.params) return {};
  PaymentRelation& r = it->second;
  // Parameters older than the acceptance window would be refused: wait for fresh ones.
  if (m_ledger && r.params->creation_round + 1 < m_ledger->round) return {};
  core::Amount ev = pay::expected_value(r.params->face_value, r.params->win_prob);
  if (ev.wei() == 0) return {};
  if (m_ledger && r.spend_round != m_ledger->round) {
    r.spend_round = m_ledger->round;
    r.spent_in_round = {};
  }
  // How many tickets the round's spending limit still allows.
  core::U256 room =
      m_o.max_spend_per_round > r.spent_in_round ? m_o.max_spend_per_round.wei() - r.spent_in_round.wei() : 0;
  core::U256 allowed = room / ev.wei();
  if (allowed == 0) {
    r.last_error = "spending limit for this round reached (" + m_o.max_spend_per_round.to_display() + ")";
    return {};
  }
  std::size_t max_tickets = allowed < 16 ? static_cast<std::size_t>(allowed) : 16;
  auto batch = m_sender->pay(*r.params, max_tickets);
  if (!batch) {
    r.last_error = batch.error().message;
    return {};
  }
  for (std::size_t i = 0; i < batch->size(); ++i) {
    add_to(r.ev_sent, ev);
    add_to(r.spent_in_round, ev);
  }
  r.tickets_sent += batch->size();
  return std::move(*batch);
}

// ---- Redemption ---------------------------------------------------------------------

void Payments::flush_dropped() {
  for (const auto& h : m_winners.take_dropped()) {
    pay::Winner w;
    w.hash = h;
    m_store_ops.push_back({false, std::move(w)});
  }
}

std::vector<pay::Winner> Payments::take_redemption() {
  if (!m_o.enabled || !m_ledger || m_in_flight) return {};
  auto due = m_winners.due(m_ledger->round, m_o.redeem_batch);
  flush_dropped();
  if (due.empty()) return {};
  m_in_flight = true;
  m_batch.clear();
  for (const auto& w : due) m_batch.push_back(w.hash);
  ++m_batches;
  return due;
}

void Payments::on_redeemed(const std::vector<RedeemOutcome>& outcomes) {
  m_in_flight = false;
  m_redeem_error.clear();
  std::map<Hash256, pay::Winner> by_hash;
  for (const auto& w : m_winners.pending()) by_hash.emplace(w.hash, w);
  for (const auto& o : outcomes) {
    auto it = by_hash.find(o.hash);
    if (it == by_hash.end()) continue;
    const pay::Ticket& t = it->second.ticket.ticket;
    if (o.paid) {
      PaymentRelation& r = m_rel[t.sender];
      ++r.redeemed;
      add_to(r.redeemed_value, core::Amount(t.face_value));
    } else if (!o.retry) {
      m_redeem_error = o.reason;
    }
    m_winners.settled(o.hash, o.retry && !o.paid);
    if (!m_winners.contains(o.hash)) m_store_ops.push_back({false, it->second});
  }
}

void Payments::on_redeem_failed(const std::string& why) {
  m_in_flight = false;
  m_redeem_error = why;
}

// ---- Durability ---------------------------------------------------------------------

void Payments::restore(const std::vector<pay::Winner>& winners) {
  for (const auto& w : winners) {
    if (m_ledger)
      m_winners.add(w);
    else
      m_restored.push_back(w);
  }
}

std::vector<pay::Winner> Payments::winners() const {
  auto out = m_winners.pending();
  out.insert(out.end(), m_restored.begin(), m_restored.end());
  return out;
}

std::optional<Payments::StoreOp> Payments::poll_store_op() {
  if (m_store_ops.empty()) return std::nullopt;
  StoreOp op = std::move(m_store_ops.front());
  m_store_ops.pop_front();
  return op;
}

nlohmann::json redeem_args(const std::vector<pay::Winner>& batch) {
  nlohmann::json items = nlohmann::json::array();
  for (const auto& w : batch) {
    items.push_back({{"ticket", w.ticket.ticket.to_json()},
                     {"signature", w.ticket.signature.to_hex()},
                     {"recipient_rand", core::to_hex(w.recipient_rand)}});
  }
  return {{"tickets", std::move(items)}};
}

Result<std::vector<RedeemOutcome>> redeem_outcomes(const std::vector<pay::Winner>& batch,
                                                   const nlohmann::json& receipt) {
  const nlohmann::json* results = receipt.is_object() && receipt.contains("results") ? &receipt["results"] : nullptr;
  if (!results || !results->is_array() || results->size() != batch.size())
    return make_error(Errc::invalid_input, "ledger: a redemption receipt that does not match the batch");
  std::vector<RedeemOutcome> out;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const nlohmann::json& r = (*results)[i];
    RedeemOutcome o;
    o.hash = batch[i].hash;
    o.reason = r.is_object() && r.contains("reason") && r["reason"].is_string() ? r["reason"].get<std::string>() : "";
    // "already redeemed": only the recipient can redeem, so it was us, before a crash.
    o.paid = (r.is_object() && r.contains("paid") && r["paid"] == true) || o.reason == "already redeemed";
    o.retry = !o.paid && o.reason.find("cannot cover") != std::string::npos;
    out.push_back(std::move(o));
  }
  return out;
}

} // namespace openstreaming::agent
