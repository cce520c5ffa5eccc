// A blocking TLS 1.3 client that speaks raw frames: the hostile (or scripted)
// peer of the functional tests. Loopback only.
#pragma once

#include "core/frame.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace openstreaming::test {

class TlsClient {
public:
  // TCP connect and TLS handshake to "host:port"; throws std::runtime_error on failure.
  explicit TlsClient(const std::string& endpoint);
  ~TlsClient();

  const Hash256& exporter() const { return m_exporter; }
  // How long one blocking read waits (5 s unless set): read_frame's timeout is
  // honoured to within this.
  void set_receive_timeout(std::chrono::milliseconds t);
  void send_raw(ByteView bytes);
  void send_frame(const core::Frame& f) { send_raw(core::encode_frame(f)); }
  // The next frame, or nullopt on EOF, error or timeout (closed() tells them apart).
  std::optional<core::Frame> read_frame(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // True once a read saw EOF, a transport error or an undecodable stream: the
  // server hung up (a read that only timed out leaves this false).
  bool closed() const { return m_closed; }
  // True when the server closes the connection within `timeout` (frames before that are skipped).
  bool wait_closed(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  void close();

private:
  boost::asio::io_context m_io;
  std::shared_ptr<boost::asio::ssl::context> m_ctx;
  std::unique_ptr<boost::asio::ssl::stream<boost::asio::ip::tcp::socket>> m_stream;
  core::FrameDecoder m_decoder{64 << 20};
  std::vector<core::Frame> m_pending;
  Hash256 m_exporter{};
  bool m_closed = false;
};

} // namespace openstreaming::test
