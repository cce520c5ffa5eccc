// The node's payments glue (docs/payments.md): metering, ticket parameters and tickets.
#include "agent/node_peer.h"
#include "agent/payments/payment_frames.h"

#include <wire.pb.h>

namespace openstreaming::agent {

namespace wire = openstreaming::wire::v1;

void Node::meter_served(ConnId conn, uint64_t bytes) {
  auto addr = address_of(conn);
  if (!addr) return;
  m_agent->economics.served(*addr, bytes, m_payments->served(*addr, bytes));
}

void Node::meter_received(ConnId conn, const core::Address& from, uint64_t bytes) {
  m_agent->economics.received(from, bytes, m_payments->received(from, bytes));
  send_tickets(conn, from);
}

void Node::on_stream_erased(const core::StreamId& id) {
  m_route_predictions.erase(id);
  m_agent->propagation.forget(id);
}

bool Node::payment_overdue(ConnId conn) const {
  if (!m_payments->enabled()) return false;
  auto addr = address_of(conn);
  return addr && m_payments->overdue(*addr);
}

void Node::note_overdue_refusal(ConnId conn) {
  if (auto addr = address_of(conn)) {
    m_payments->note_overdue_refusal(*addr);
    m_events.push_back(
        PaymentNote{"payments: " + addr->to_checksum_hex() +
                    " owes more than the credit limit: its subscriptions are refused (payment_overdue)"});
  }
}

void Node::note_unsolicited(ConnId conn, uint16_t type, Timestamp now) {
  ++m_metrics.frames_unsolicited[core::frame_type_name(type)];
  auto addr = address_of(conn);
  if (!addr) return;
  if (m_agent->empathy.on_unsolicited(*addr, wall_ms(now))) {
    shun_peer(conn, "sent frames we never asked for (" + std::string(core::frame_type_name(type)) + ")", now);
  }
}

void Node::agree_charge(ConnId conn, const core::Amount& price_per_mb) {
  if (auto addr = address_of(conn)) m_payments->agree_charge(*addr, price_per_mb);
}

void Node::agree_price(ConnId conn, const core::Amount& price_per_mb) {
  if (auto addr = address_of(conn)) m_payments->agree_price(*addr, price_per_mb);
}

void Node::send_tickets(ConnId conn, const core::Address& payee) {
  auto tickets = m_payments->tickets_due(payee);
  if (tickets.empty()) return;
  U256 seed = m_payments->relations().at(payee).params->seed;
  for (std::size_t i = 0; i < tickets.size(); i += kMaxTicketsPerFrame) {
    std::vector<pay::SignedTicket> chunk(
        tickets.begin() + static_cast<std::ptrdiff_t>(i),
        tickets.begin() + static_cast<std::ptrdiff_t>(std::min(tickets.size(), i + kMaxTicketsPerFrame)));
    send_app_frame(conn, tickets_frame(seed, chunk));
  }
}

void Node::pay_due() {
  for (auto& [id, p] : m_peers) {
    if (p->state == Peer::State::established && p->address) send_tickets(id, *p->address);
  }
}

std::vector<core::Address> Node::ledger_watch() const {
  return m_payments->watched(established_addresses(m_peers));
}

void Node::offer_ticket_params(Timestamp now) {
  (void)now;
  if (!m_payments->enabled() || !m_payments->ready()) return;
  for (ConnId conn : m_streams->subscriber_conns()) {
    auto addr = address_of(conn);
    if (!addr) continue;
    U256 seed = m_env.random().next_u64();
    if (auto params = m_payments->params_due(*addr, seed)) {
      send_app_frame(conn, ticket_params_frame(*params, m_payments->relations().at(*addr).price_charged));
    }
  }
}

void Node::on_ticket_params(Peer& p, const core::Frame& f, Timestamp now) {
  auto params = parse_ticket_params(f);
  if (!params) {
    disconnect(p, DisconnectReason::protocol_error, "malformed ticket_params", now);
    return;
  }
  if (!m_payments->owes(*p.address)) { // we never accepted a price from it: nothing to pay with them
    note_unsolicited(p.conn, f.type, now);
    return;
  }
  if (auto ok = m_payments->on_params(*p.address, *params); !ok) {
    m_events.push_back(PaymentNote{"payments: " + p.address->to_checksum_hex() + ": " + ok.error().message});
    return;
  }
  send_tickets(p.conn, *p.address);
}

void Node::on_tickets(Peer& p, const core::Frame& f, Timestamp now) {
  auto batch = parse_tickets(f);
  if (!batch) {
    disconnect(p, DisconnectReason::protocol_error, "malformed tickets", now);
    return;
  }
  if (auto r = m_payments->relations().find(*p.address);
      r == m_payments->relations().end() || r->second.price_charged.wei() == 0) {
    note_unsolicited(p.conn, f.type, now); // we never charged it: not a payer of ours
    return;
  }
  std::size_t rejected = m_payments->on_tickets(*p.address, batch->seed, batch->tickets);
  if (rejected > 0) {
    const auto& rel = m_payments->relations().at(*p.address);
    m_events.push_back(PaymentNote{"payments: " + std::to_string(rejected) + " ticket(s) from " +
                                   p.address->to_checksum_hex() + " rejected: " + rel.last_error});
  }
}

} // namespace openstreaming::agent
