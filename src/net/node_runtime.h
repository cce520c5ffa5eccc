// The live runtime: drives one agent::Node from a Boost.Asio event loop over
// TCP + TLS 1.3 (docs/architecture.md). Everything here is adapter: framing is
// core::FrameDecoder, every decision is the Node's. Keep it thin — anything
// the simulator cannot exercise lives here, so bugs hide here.
//
// Threads: none of its own. All handlers run on the io_context the caller
// runs (one thread: `openstreaming node` calls io.run() on main).
//
// Per connection: a TLS stream, a frame decoder, and a write queue. Writes
// coalesce small frames into one TLS record batch; a large payload goes out as
// its own buffer straight from the shared part buffer (no copy).
#pragma once

#include "agent/node.h"
#include "net/tls.h"

#include <boost/asio.hpp>

#include <functional>
#include <map>
#include <memory>

namespace openstreaming::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

struct RuntimeOptions {
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 0;         // 0: the OS picks
  std::size_t max_pending_tls = 64; // TLS handshakes in progress; beyond, new sockets are closed at once
  Duration tls_timeout = 10s;       // TCP connect + TLS handshake
  Duration close_linger = 2s;       // after our last write, wait this long for the peer's EOF
  std::size_t max_frame_size = core::kDefaultMaxFrameSize;
  // Upload capacity: all writes together go out at most this fast, in 16 KiB
  // chunks, each buffer's chunks back to back (a part goes out at the full rate,
  // parts queue behind each other). 0: unlimited.
  uint64_t upload_kbps = 0;
};

struct TransportMetrics {
  uint64_t tls_handshake_failures = 0; // includes plain garbage on the port
  uint64_t connections_rejected = 0;   // over max_pending_tls
  uint64_t connect_failures = 0;       // TCP/TLS failures when dialing
};

// Where the node's payment side effects go (api::LedgerLink in the daemon).
// Called on the event loop, from pump(), before any frame is written.
class PaymentsIo {
public:
  virtual ~PaymentsIo() = default;
  virtual void persist(const agent::Payments::StoreOp& op) = 0; // durably, before returning
  virtual void redeem(std::vector<pay::Winner> batch) = 0;      // asynchronously; the result comes back via post()
};

class NodeRuntime {
public:
  // Binds the listener first, so the Node can advertise the real port (port 0 allowed).
  static Result<std::unique_ptr<NodeRuntime>> create(asio::io_context& io, const core::PrivateKey& key,
                                                     agent::NodeOptions node_options, RuntimeOptions options);
  ~NodeRuntime();

  void start();
  // Tells every peer, flushes, then calls `done` (or after a deadline). Stops accepting at once.
  void shutdown(std::function<void()> done);

  // Runs `fn` with the node (e.g. to send application frames), then flushes its outputs.
  void post(const std::function<void(agent::Node&)>& fn) {
    fn(*m_node);
    pump();
  }

  tcp::endpoint p2p_endpoint() const { return m_bound; }
  agent::Node& node() { return *m_node; }
  const TransportMetrics& transport_metrics() const { return m_metrics; }
  Timestamp now() const;
  double uptime_s() const;
  // Called for every node event (after logging), e.g. by tests or APIs.
  std::function<void(const agent::Event&)> on_event;
  // Persists the agent's memory: loaded now, saved when the node says so and by save_memory().
  void set_memory_store(agent::MemoryStore* store);
  void save_memory();
  void set_payments_io(PaymentsIo* io) { m_payments_io = io; }
  asio::io_context& io_context() { return m_io; }

private:
  class Connection;
  class Sink; // the node's outputs, taken by agent::drain()
  using ConnPtr = std::shared_ptr<Connection>;

  NodeRuntime(asio::io_context& io, RuntimeOptions options);
  void accept_next();
  void connect(agent::ConnId id, const core::Endpoint& ep);
  void start_read(const ConnPtr& c);
  void write(const ConnPtr& c, core::Frame frame);
  void flush(const ConnPtr& c);
  void write_done(const ConnPtr& c, boost::system::error_code ec, std::size_t bytes);
  void paced_write(const ConnPtr& c, std::vector<asio::const_buffer> bufs, std::size_t bytes);
  void paced_chunk(const ConnPtr& c);
  // Both take the pointer by value: they may erase the connection's entry in
  // m_conns, and a reference into that map would dangle mid-call.
  void request_close(ConnPtr c);
  void finish(ConnPtr c);
  void pump();
  void arm_timer(Timestamp at);
  void log_event(const agent::Event& e);

  asio::io_context& m_io;
  RuntimeOptions m_options;
  std::shared_ptr<ssl::context> m_server_ctx, m_client_ctx;
  tcp::acceptor m_acceptor;
  tcp::resolver m_resolver;
  asio::steady_timer m_timer;
  std::optional<Timestamp> m_timer_at;
  tcp::endpoint m_bound;
  std::unique_ptr<agent::Environment> m_env;
  std::unique_ptr<agent::Node> m_node;
  std::map<agent::ConnId, ConnPtr> m_conns;
  std::size_t m_pending_tls = 0;
  TransportMetrics m_metrics;
  std::chrono::steady_clock::time_point m_started = std::chrono::steady_clock::now();
  std::function<void()> m_on_shutdown;
  std::unique_ptr<asio::steady_timer> m_shutdown_deadline;
  bool m_stopping = false;
  agent::MemoryStore* m_store = nullptr;
  PaymentsIo* m_payments_io = nullptr;
  std::chrono::steady_clock::time_point m_pace_free_at{};
};

} // namespace openstreaming::net
