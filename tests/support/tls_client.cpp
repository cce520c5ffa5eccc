#include "support/tls_client.h"

#include "net/tls.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>

#include <stdexcept>
#include <sys/socket.h>

namespace openstreaming::test {

using tcp = boost::asio::ip::tcp;

TlsClient::TlsClient(const std::string& endpoint) {
  m_ctx = net::make_client_context();
  m_stream = std::make_unique<boost::asio::ssl::stream<tcp::socket>>(m_io, *m_ctx);
  auto colon = endpoint.rfind(':');
  tcp::resolver resolver(m_io);
  boost::asio::connect(m_stream->lowest_layer(),
                       resolver.resolve(endpoint.substr(0, colon), endpoint.substr(colon + 1)));
  timeval tv{5, 0};
  ::setsockopt(m_stream->lowest_layer().native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  m_stream->handshake(boost::asio::ssl::stream_base::client);
  auto exp = net::export_identity_secret(m_stream->native_handle());
  if (!exp) throw std::runtime_error(exp.error().message);
  m_exporter = *exp;
}

TlsClient::~TlsClient() {
  close();
}

void TlsClient::set_receive_timeout(std::chrono::milliseconds t) {
  timeval tv{static_cast<time_t>(t.count() / 1000), static_cast<suseconds_t>((t.count() % 1000) * 1000)};
  ::setsockopt(m_stream->lowest_layer().native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

void TlsClient::send_raw(ByteView bytes) {
  boost::asio::write(*m_stream, boost::asio::buffer(bytes.data(), bytes.size()));
}

std::optional<core::Frame> TlsClient::read_frame(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (m_pending.empty()) {
    if (std::chrono::steady_clock::now() >= deadline || !m_stream) return std::nullopt;
    uint8_t buf[16384];
    boost::system::error_code ec;
    std::size_t n = m_stream->read_some(boost::asio::buffer(buf), ec);
    if (ec == boost::asio::error::would_block || ec == boost::asio::error::try_again) continue;
    if (ec || m_decoder.feed(ByteView(buf, n), m_pending)) {
      m_closed = true;
      return std::nullopt;
    }
  }
  core::Frame f = std::move(m_pending.front());
  m_pending.erase(m_pending.begin());
  return f;
}

bool TlsClient::wait_closed(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline && m_stream) {
    uint8_t buf[16384];
    boost::system::error_code ec;
    m_stream->read_some(boost::asio::buffer(buf), ec);
    if (ec == boost::asio::error::would_block || ec == boost::asio::error::try_again) continue;
    if (ec) return true;
  }
  return false;
}

void TlsClient::close() {
  if (!m_stream) return;
  boost::system::error_code ignore;
  m_stream->lowest_layer().close(ignore);
  m_stream.reset();
}

} // namespace openstreaming::test
