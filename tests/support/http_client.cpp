#include "support/http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace openstreaming::test {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

HttpResult http_get(const std::string& endpoint, const std::string& target) {
  HttpResult out;
  auto colon = endpoint.rfind(':');
  boost::asio::io_context io;
  beast::tcp_stream stream(io);
  beast::error_code ec;
  tcp::resolver resolver(io);
  auto results = resolver.resolve(endpoint.substr(0, colon), endpoint.substr(colon + 1), ec);
  if (ec) return out;
  stream.expires_after(std::chrono::seconds(10));
  stream.connect(results, ec);
  if (ec) return out;
  http::request<http::empty_body> req{http::verb::get, target, 11};
  req.set(http::field::host, endpoint);
  req.keep_alive(false);
  http::write(stream, req, ec);
  if (ec) return out;
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  http::read(stream, buf, res, ec);
  if (ec) return out;
  out.status = static_cast<int>(res.result_int());
  out.body = res.body();
  out.content_type = std::string(res[http::field::content_type]);
  return out;
}

} // namespace openstreaming::test
