// StreamHost: what the stream router needs from the node that carries it —
// the only way StreamRouter reaches out (streams.h). Node implements it; a
// test can implement it to drive the router alone.
//
// No I/O: every call is a state change or a query on the host.
#pragma once

#include "agent/peer_types.h"
#include "core/address.h"
#include "core/amount.h"
#include "core/frame.h"
#include "core/part.h"
#include "core/random.h"
#include "core/time.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace openstreaming::agent {

struct Agent;
struct NodeOptions;

class StreamHost {
public:
  virtual ~StreamHost() = default;

  // ---- Peers --------------------------------------------------------------------
  // Queues an application frame to an established peer; false if it was dropped.
  virtual bool send_app_frame(ConnId conn, core::Frame frame) = 0;
  virtual std::vector<ConnId> established_conns() const = 0;
  virtual bool established(ConnId conn) const = 0;
  // The proven node address of `conn` (after the handshake), nullopt before.
  virtual std::optional<core::Address> address_of(ConnId conn) const = 0;
  virtual double rtt_ms(ConnId conn) const = 0; // smoothed RTT; large if unknown

  // ---- Configuration, the agent, time and randomness ---------------------------
  virtual const NodeOptions& options() const = 0;
  virtual Agent& agent() = 0;                 // memory, empathy, economics: read and told what happened
  virtual int64_t wall_ms(Timestamp now) = 0; // Unix milliseconds at monotonic `now`
  virtual core::RandomSource& random() = 0;
  virtual bool misbehaving(Timestamp now) const = 0; // the configured fault injection is on (tests, demo)

  // ---- Metering and payments ----------------------------------------------------
  virtual void meter_served(ConnId conn, uint64_t bytes) = 0;
  virtual void meter_received(ConnId conn, const core::Address& from, uint64_t bytes) = 0;
  virtual void agree_charge(ConnId conn, const core::Amount& price_per_mb) = 0; // what a subscriber pays us
  virtual void agree_price(ConnId conn, const core::Amount& price_per_mb) = 0;  // what we pay an upstream
  virtual bool payment_overdue(ConnId conn) const = 0;
  virtual void note_overdue_refusal(ConnId conn) = 0;

  // ---- Blame and bookkeeping ----------------------------------------------------
  virtual void note_invalid_part(ConnId conn, const std::string& why) = 0;
  virtual void note_unsolicited(ConnId conn, uint16_t type, Timestamp now) = 0;
  // Disconnects `conn` as hostile (the empathy module has recorded the shunning).
  virtual void shun_peer(ConnId conn, const std::string& why, Timestamp now) = 0;
  // The router forgot a stream: state the host keeps about it goes too.
  virtual void on_stream_erased(const core::StreamId& id) = 0;
};

} // namespace openstreaming::agent
