#include "net/node_runtime.h"

#include "agent/drain.h"
#include "platform/system_random.h"

#include <spdlog/spdlog.h>

#include <array>
#include <deque>

namespace openstreaming::net {

namespace {

class LiveEnvironment final : public agent::Environment {
public:
  core::RandomSource& random() override { return m_random; }
  int64_t wall_clock_ms(Timestamp now) override {
    (void)now;
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

private:
  platform::SystemRandom m_random;
};

std::chrono::steady_clock::time_point to_steady(Timestamp t) {
  return std::chrono::steady_clock::time_point(
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(t.time_since_epoch()));
}

agent::DisconnectReason reason_of(core::FrameError e) {
  return e == core::FrameError::oversized ? agent::DisconnectReason::oversized_frame
                                          : agent::DisconnectReason::bad_frame;
}

constexpr std::size_t kCoalesceLimit = 64 << 10; // bytes of small frames per TLS write
constexpr std::size_t kSmallPayload = 16 << 10;  // payloads above this are written from their own buffer

} // namespace

class NodeRuntime::Connection {
public:
  Connection(asio::io_context& io, tcp::socket sock, ssl::context& ctx, std::size_t max_frame)
      : stream(std::move(sock), ctx), timer(io), decoder(max_frame) {}
  ssl::stream<tcp::socket> stream;
  asio::steady_timer timer;
  core::FrameDecoder decoder;
  agent::ConnId id = 0;
  core::Endpoint remote;
  bool registered = false; // the node knows this id as a live session
  bool closing = false;    // close requested: flush, then shut down
  bool finished = false;
  bool writing = false;
  std::deque<core::Frame> queue;
  Bytes scratch;   // coalesced small frames of the write in progress
  core::Frame big; // a frame whose payload is written from its own buffer
  std::array<uint8_t, core::Frame::kPrefixSize> big_prefix{};
  std::optional<Timestamp> partial_since; // when the frame now being received started arriving
  // Paced write in progress (RuntimeOptions::upload_kbps).
  asio::steady_timer pace_timer{stream.get_executor()};
  std::vector<asio::const_buffer> pace_bufs;
  std::size_t pace_offset = 0, pace_total = 0;
  std::chrono::steady_clock::time_point pace_start{};
};

NodeRuntime::NodeRuntime(asio::io_context& io, RuntimeOptions options)
    : m_io(io), m_options(std::move(options)), m_acceptor(io), m_resolver(io), m_timer(io) {}

NodeRuntime::~NodeRuntime() = default;

Result<std::unique_ptr<NodeRuntime>> NodeRuntime::create(asio::io_context& io, const core::PrivateKey& key,
                                                         agent::NodeOptions node_options, RuntimeOptions options) {
  std::unique_ptr<NodeRuntime> rt(new NodeRuntime(io, std::move(options)));
  auto server_ctx = make_server_context();
  if (!server_ctx) return server_ctx.error();
  rt->m_server_ctx = *server_ctx;
  rt->m_client_ctx = make_client_context();

  boost::system::error_code ec;
  auto addr = asio::ip::make_address(rt->m_options.listen_host, ec);
  if (ec) return make_error(Errc::invalid_input, "--listen: '" + rt->m_options.listen_host + "' is not an IP address");
  tcp::endpoint ep(addr, rt->m_options.listen_port);
  rt->m_acceptor.open(ep.protocol(), ec);
  if (!ec) rt->m_acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) rt->m_acceptor.bind(ep, ec);
  if (!ec) rt->m_acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return make_error(Errc::io, "cannot listen on " + rt->m_options.listen_host + ":" +
                                    std::to_string(rt->m_options.listen_port) + ": " + ec.message());
  }
  rt->m_bound = rt->m_acceptor.local_endpoint();
  node_options.listen_endpoint = core::Endpoint{rt->m_bound.address().to_string(), rt->m_bound.port()}.to_string();
  rt->m_env = std::make_unique<LiveEnvironment>();
  rt->m_node = std::make_unique<agent::Node>(key, std::move(node_options), *rt->m_env);
  return rt;
}

Timestamp NodeRuntime::now() const {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch());
  return Timestamp(us);
}

double NodeRuntime::uptime_s() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - m_started).count();
}

void NodeRuntime::start() {
  accept_next();
  m_node->handle_start(now());
  pump();
}

void NodeRuntime::accept_next() {
  m_acceptor.async_accept([this](boost::system::error_code ec, tcp::socket sock) {
    if (ec == asio::error::operation_aborted || !m_acceptor.is_open()) return;
    if (ec) {
      spdlog::warn("accept failed: {}", ec.message());
      accept_next();
      return;
    }
    if (m_pending_tls >= m_options.max_pending_tls || m_stopping) {
      // A flood of half-open connections must not starve everyone else.
      ++m_metrics.connections_rejected;
      boost::system::error_code ignore;
      sock.close(ignore);
      accept_next();
      return;
    }
    boost::system::error_code ignore;
    sock.set_option(tcp::no_delay(true), ignore);
    auto remote = sock.remote_endpoint(ignore);
    auto c = std::make_shared<Connection>(m_io, std::move(sock), *m_server_ctx, m_options.max_frame_size);
    c->remote = core::Endpoint{remote.address().to_string(), remote.port()};
    ++m_pending_tls;
    c->timer.expires_after(std::chrono::microseconds(m_options.tls_timeout.count()));
    c->timer.async_wait([c](boost::system::error_code tec) {
      if (!tec) c->stream.lowest_layer().close(tec);
    });
    c->stream.async_handshake(ssl::stream_base::server, [this, c](boost::system::error_code hec) {
      --m_pending_tls;
      c->timer.cancel();
      auto exporter = hec ? Result<Hash256>(make_error(Errc::io, hec.message()))
                          : export_identity_secret(c->stream.native_handle());
      if (!exporter || m_stopping) {
        ++m_metrics.tls_handshake_failures;
        spdlog::debug("inbound TLS handshake from {} failed: {}", c->remote.to_string(),
                      exporter ? "stopping" : exporter.error().message);
        boost::system::error_code ignore2;
        c->stream.lowest_layer().close(ignore2);
        return;
      }
      c->id = m_node->handle_accepted(c->remote, *exporter, now());
      c->registered = true;
      m_conns[c->id] = c;
      start_read(c);
      pump();
    });
    accept_next();
  });
}

void NodeRuntime::connect(agent::ConnId id, const core::Endpoint& ep) {
  auto c = std::make_shared<Connection>(m_io, tcp::socket(m_io), *m_client_ctx, m_options.max_frame_size);
  c->id = id;
  c->remote = ep;
  m_conns[id] = c;
  c->timer.expires_after(std::chrono::microseconds(m_options.tls_timeout.count()));
  c->timer.async_wait([c](boost::system::error_code ec) {
    if (!ec) c->stream.lowest_layer().close(ec);
  });
  auto fail = [this, c](const std::string& why) {
    if (c->finished) return;
    ++m_metrics.connect_failures;
    spdlog::debug("dial {} failed: {}", c->remote.to_string(), why);
    finish(c);
  };
  m_resolver.async_resolve(
      ep.host, std::to_string(ep.port),
      [this, c, fail](boost::system::error_code ec, tcp::resolver::results_type results) {
        if (ec || c->closing) return fail(ec ? ec.message() : "cancelled");
        asio::async_connect(
            c->stream.lowest_layer(), results, [this, c, fail](boost::system::error_code cec, const tcp::endpoint&) {
              if (cec || c->closing) return fail(cec ? cec.message() : "cancelled");
              boost::system::error_code ignore;
              c->stream.lowest_layer().set_option(tcp::no_delay(true), ignore);
              c->stream.async_handshake(ssl::stream_base::client, [this, c, fail](boost::system::error_code hec) {
                if (hec || c->closing) return fail(hec ? "TLS: " + hec.message() : "cancelled");
                c->timer.cancel();
                auto exporter = export_identity_secret(c->stream.native_handle());
                if (!exporter) return fail(exporter.error().message);
                c->registered = true;
                m_node->handle_connected(c->id, *exporter, now());
                start_read(c);
                pump();
              });
            });
      });
}

void NodeRuntime::start_read(const ConnPtr& c) {
  auto target = c->decoder.prepare(); // for a large frame: its own payload buffer (zero copy)
  c->stream.async_read_some(
      asio::buffer(target.data(), target.size()), [this, c](boost::system::error_code ec, std::size_t n) {
        if (c->finished) return;
        if (ec) {
          if (c->decoder.has_partial_frame() && !c->closing) {
            m_node->handle_framing_error(
                c->id, agent::DisconnectReason::truncated_frame,
                "connection closed inside a frame (" + std::to_string(c->decoder.buffered()) + " bytes)", now());
          }
          finish(c);
          return;
        }
        std::vector<core::Frame> frames;
        bool had_partial = c->decoder.has_partial_frame();
        auto failure = c->decoder.commit(n, frames);
        Timestamp t = now();
        // When each frame began to arrive: its transfer time is the sender's real rate.
        for (std::size_t i = 0; i < frames.size(); ++i) {
          frames[i].first_byte_at = i == 0 && had_partial && c->partial_since ? *c->partial_since : t;
        }
        if (c->decoder.has_partial_frame() && (!frames.empty() || !had_partial)) c->partial_since = t;
        for (auto& f : frames) m_node->handle_frame(c->id, std::move(f), t);
        if (failure) m_node->handle_framing_error(c->id, reason_of(failure->error), failure->detail, t);
        pump();
        if (!c->finished) start_read(c); // keep reading while closing, to see the peer's EOF
      });
}

void NodeRuntime::write(const ConnPtr& c, core::Frame frame) {
  c->queue.push_back(std::move(frame));
  if (!c->writing) flush(c);
}

void NodeRuntime::flush(const ConnPtr& c) {
  if (c->finished) return;
  if (c->queue.empty()) {
    c->writing = false;
    if (c->closing) request_close(c);
    return;
  }
  c->writing = true;
  c->scratch.clear();
  std::vector<asio::const_buffer> bufs;
  std::size_t bytes = 0;
  if (c->queue.front().payload.size > kSmallPayload) {
    // Large payload: prefix+header coalesced, payload straight from the shared buffer.
    c->big = std::move(c->queue.front());
    c->queue.pop_front();
    c->big_prefix = core::encode_prefix(c->big);
    c->scratch.insert(c->scratch.end(), c->big_prefix.begin(), c->big_prefix.end());
    c->scratch.insert(c->scratch.end(), c->big.header.begin(), c->big.header.end());
    auto payload = c->big.payload.view();
    bufs.push_back(asio::buffer(c->scratch));
    bufs.push_back(asio::buffer(payload.data(), payload.size()));
    bytes = c->big.wire_size();
  } else {
    while (!c->queue.empty() && c->queue.front().payload.size <= kSmallPayload &&
           (c->scratch.empty() || c->scratch.size() + c->queue.front().wire_size() <= kCoalesceLimit)) {
      Bytes one = core::encode_frame(c->queue.front());
      c->scratch.insert(c->scratch.end(), one.begin(), one.end());
      c->queue.pop_front();
    }
    bufs.push_back(asio::buffer(c->scratch));
    bytes = c->scratch.size();
  }
  if (m_options.upload_kbps > 0) {
    paced_write(c, std::move(bufs), bytes);
    return;
  }
  asio::async_write(c->stream, bufs,
                    [this, c, bytes](boost::system::error_code ec, std::size_t) { write_done(c, ec, bytes); });
}

void NodeRuntime::write_done(const ConnPtr& c, boost::system::error_code ec, std::size_t bytes) {
  if (c->finished) return;
  c->big = core::Frame{};
  if (ec) {
    finish(c);
    return;
  }
  m_node->handle_sent(c->id, bytes, now());
  pump();
  flush(c);
}

// Pacing (written here because no library on the list shapes a TLS stream):
// one node-wide schedule; each buffer reserves the next free span of it and
// goes out in 16 KiB chunks at their scheduled times.
void NodeRuntime::paced_write(const ConnPtr& c, std::vector<asio::const_buffer> bufs, std::size_t bytes) {
  auto now_steady = std::chrono::steady_clock::now();
  double ns_per_byte = 8e6 / static_cast<double>(m_options.upload_kbps);
  c->pace_start = std::max(now_steady, m_pace_free_at);
  m_pace_free_at =
      c->pace_start + std::chrono::nanoseconds(static_cast<int64_t>(static_cast<double>(bytes) * ns_per_byte));
  c->pace_bufs = std::move(bufs);
  c->pace_offset = 0;
  c->pace_total = bytes;
  paced_chunk(c);
}

void NodeRuntime::paced_chunk(const ConnPtr& c) {
  if (c->finished) return;
  if (c->pace_offset >= c->pace_total) {
    c->pace_bufs.clear();
    write_done(c, {}, c->pace_total);
    return;
  }
  constexpr std::size_t kChunk = 16 << 10;
  std::size_t len = std::min(kChunk, c->pace_total - c->pace_offset);
  std::vector<asio::const_buffer> slice;
  std::size_t skip = c->pace_offset, want = len;
  for (const auto& b : c->pace_bufs) {
    if (skip >= b.size()) {
      skip -= b.size();
      continue;
    }
    std::size_t take = std::min(b.size() - skip, want);
    slice.push_back(asio::buffer(static_cast<const uint8_t*>(b.data()) + skip, take));
    want -= take;
    skip = 0;
    if (want == 0) break;
  }
  double ns_per_byte = 8e6 / static_cast<double>(m_options.upload_kbps);
  auto due =
      c->pace_start + std::chrono::nanoseconds(static_cast<int64_t>(static_cast<double>(c->pace_offset) * ns_per_byte));
  c->pace_timer.expires_at(due);
  c->pace_timer.async_wait([this, c, slice = std::move(slice), len](boost::system::error_code tec) {
    if (c->finished) return;
    if (tec) {
      write_done(c, tec, 0);
      return;
    }
    asio::async_write(c->stream, slice, [this, c, len](boost::system::error_code ec, std::size_t) {
      if (c->finished) return;
      if (ec) {
        write_done(c, ec, 0);
        return;
      }
      c->pace_offset += len;
      paced_chunk(c);
    });
  });
}

void NodeRuntime::set_memory_store(agent::MemoryStore* store) {
  m_store = store;
  if (m_store) {
    if (auto snapshot = m_store->load()) m_node->agent().memory.restore(*snapshot);
  }
}

void NodeRuntime::save_memory() {
  if (m_store) m_store->save(m_node->agent().memory.snapshot());
}

void NodeRuntime::request_close(ConnPtr c) {
  c->closing = true;
  if (c->finished || c->writing) return; // flush() comes back here when the queue is empty
  if (!c->registered) {
    // Still dialing: abandon it; the pending operation fails and finishes it.
    boost::system::error_code ignore;
    c->stream.lowest_layer().close(ignore);
    finish(c);
    return;
  }
  // Our last frame is written: half-close and give the peer a moment to read it.
  boost::system::error_code ignore;
  c->stream.lowest_layer().shutdown(tcp::socket::shutdown_send, ignore);
  c->timer.expires_after(std::chrono::microseconds(m_options.close_linger.count()));
  c->timer.async_wait([this, c](boost::system::error_code ec) {
    if (!ec) finish(c);
  });
}

void NodeRuntime::finish(ConnPtr c) {
  if (c->finished) return;
  c->finished = true;
  boost::system::error_code ignore;
  c->timer.cancel();
  c->pace_timer.cancel();
  c->stream.lowest_layer().close(ignore);
  m_conns.erase(c->id);
  if (c->registered)
    m_node->handle_closed(c->id, now());
  else
    m_node->handle_connect_failed(c->id, now());
  pump();
}

class NodeRuntime::Sink final : public agent::NodeSink {
public:
  explicit Sink(NodeRuntime& rt) : m_rt(rt) {}
  // Winners reach the disk before anything goes out (a crash loses none).
  void persist(const agent::Payments::StoreOp& op) override {
    if (m_rt.m_payments_io) m_rt.m_payments_io->persist(op);
  }
  void redeem(std::vector<pay::Winner> batch) override {
    if (m_rt.m_payments_io)
      m_rt.m_payments_io->redeem(std::move(batch));
    else
      m_rt.m_node->payments().on_redeem_failed("no ledger to redeem on"); // they stay queued
  }
  void transmit(agent::Transmit t) override {
    auto it = m_rt.m_conns.find(t.conn);
    if (it == m_rt.m_conns.end() || it->second->finished) return;
    ConnPtr conn = it->second; // a failed write may erase the map entry
    m_rt.write(conn, std::move(t.frame));
  }
  void connect(const agent::ConnectRequest& c) override { m_rt.connect(c.conn, c.endpoint); }
  void close(const agent::CloseRequest& c) override {
    if (auto it = m_rt.m_conns.find(c.conn); it != m_rt.m_conns.end()) m_rt.request_close(it->second);
  }
  void event(agent::Event e) override {
    if (!std::holds_alternative<agent::AppFrame>(e)) m_rt.log_event(e);
    if (m_rt.on_event) m_rt.on_event(e);
  }
  void save_memory() override { m_rt.save_memory(); }
  void wake_at(Timestamp at) override { m_rt.arm_timer(at); }

private:
  NodeRuntime& m_rt;
};

void NodeRuntime::pump() {
  Sink sink(*this);
  agent::drain(*m_node, sink);
  if (m_on_shutdown && m_node->shutdown_complete()) {
    auto done = std::move(m_on_shutdown);
    m_on_shutdown = nullptr;
    if (m_shutdown_deadline) m_shutdown_deadline->cancel();
    done();
  }
}

void NodeRuntime::arm_timer(Timestamp at) {
  if (m_timer_at && *m_timer_at == at) return;
  m_timer_at = at;
  m_timer.expires_at(to_steady(at));
  m_timer.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    m_timer_at.reset();
    m_node->handle_timeout(now());
    pump();
  });
}

void NodeRuntime::shutdown(std::function<void()> done) {
  m_stopping = true;
  boost::system::error_code ignore;
  m_acceptor.close(ignore);
  m_on_shutdown = std::move(done);
  m_shutdown_deadline = std::make_unique<asio::steady_timer>(m_io, std::chrono::seconds(3));
  m_shutdown_deadline->async_wait([this](boost::system::error_code ec) {
    if (ec || !m_on_shutdown) return;
    spdlog::warn("shutdown: peers did not close in time; stopping anyway");
    auto cb = std::move(m_on_shutdown);
    m_on_shutdown = nullptr;
    cb();
  });
  m_node->handle_shutdown(now());
  pump();
}

void NodeRuntime::log_event(const agent::Event& e) {
  if (auto* pe = std::get_if<agent::PeerEstablished>(&e)) {
    spdlog::info("peer {} connected ({} {})", pe->address.to_checksum_hex(), agent::direction_name(pe->direction),
                 pe->remote.to_string());
  } else if (auto* pc = std::get_if<agent::PeerClosed>(&e)) {
    std::string who = pc->address ? pc->address->to_checksum_hex() : "connection " + std::to_string(pc->conn);
    auto level = pc->reason == agent::DisconnectReason::shutdown ||
                         pc->reason == agent::DisconnectReason::transport_closed ||
                         pc->reason == agent::DisconnectReason::connect_failed
                     ? spdlog::level::info
                     : spdlog::level::warn;
    spdlog::log(level, "peer {} disconnected: {} ({}){}", who, agent::reason_name(pc->reason),
                pc->by_peer ? "by peer" : "by us", pc->detail.empty() ? "" : " " + pc->detail);
  } else if (auto* ip = std::get_if<agent::InvalidPart>(&e)) {
    if (ip->total == 1 || ip->total % 50 == 0) { // a liar sends many: log the first and then every 50th
      spdlog::warn("invalid part from {}: {} (dropped; {} so far)", ip->from.to_checksum_hex(), ip->reason, ip->total);
    }
  } else if (auto* pn = std::get_if<agent::PaymentNote>(&e)) {
    spdlog::warn("{}", pn->text);
  }
}

} // namespace openstreaming::net
