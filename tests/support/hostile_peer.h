// A scripted hostile peer for functional tests: a real TLS session with a
// real identity (it proves its key in the Hello like any node), speaking the
// wire protocol by hand so a test can send exactly the frames an attacker
// would — announcements under its own key, acceptances nobody asked for,
// greedy ticket parameters, validly signed parts pushed unasked, neighbour
// states and tickets, floods.
// It answers pings so an idle timeout does not end an attack early.
#pragma once

#include "core/frame.h"
#include "core/part.h"
#include "core/secp256k1.h"
#include "pay/tickets.h"
#include "support/tls_client.h"

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace openstreaming::test {

class HostilePeer {
public:
  // Connects to the node at `p2p` ("host:port") and completes the handshake;
  // throws std::runtime_error when the node does not answer with a Hello.
  HostilePeer(const core::PrivateKey& key, const std::string& p2p);

  const core::Address& address() const { return m_address; }

  // A live stream `name` announced under our own key (NIP-53, BIP-340 signed
  // exactly as a broadcaster does). `created_s` must grow between calls.
  core::StreamId announce(const std::string& name, int64_t created_s) { return announce_for(m_key, name, created_s); }
  // The same for a stream of another broadcaster key (throwaway keys for floods).
  core::StreamId announce_for(const core::PrivateKey& broadcaster, const std::string& name, int64_t created_s);
  void subscribe_result(const core::StreamId& id, bool accepted, const std::string& quote_wei_per_mb);
  void subscribe(const core::StreamId& id, bool resume = false);
  void ticket_params(const pay::TicketParams& params);
  // A neighbour state signed by us, as a node sends them (`seq` must grow for
  // the node to take it; a repeated seq is a replay).
  void state(uint64_t seq, uint64_t capacity_kbps);
  // `n` tickets signed by us against `params` (as if we owed their value).
  void tickets(const pay::TicketParams& params, std::size_t n);
  // A part of our own stream `id`, signed by us (valid for whoever takes it).
  void part(const core::StreamId& id, uint64_t segment, uint32_t part, std::size_t bytes, int64_t ingest_unix_ms);
  void send(const core::Frame& f);

  // Reads what the node sends for `d` (answering pings); counts frames by
  // type. False once the connection is closed.
  bool pump(std::chrono::milliseconds d);
  uint64_t received(core::MediaFrameType t) const { return count(static_cast<uint16_t>(t)); }
  uint64_t count(uint16_t type) const {
    auto it = m_counts.find(type);
    return it == m_counts.end() ? 0 : it->second;
  }
  bool closed() const { return m_closed; }
  // The reason in the node's Disconnect frame, if it sent one.
  const std::optional<uint32_t>& disconnect_reason() const { return m_reason; }

private:
  core::PrivateKey m_key;
  core::Address m_address;
  std::unique_ptr<TlsClient> m_tls;
  std::map<uint16_t, uint64_t> m_counts;
  std::optional<uint32_t> m_reason;
  bool m_closed = false;
};

} // namespace openstreaming::test
