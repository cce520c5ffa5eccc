#include "api/http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace openstreaming::api {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

Result<HttpUrl> HttpUrl::parse(const std::string& url) {
  auto bad = [&](const std::string& why) { return make_error(Errc::invalid_input, "URL '" + url + "': " + why); };
  const std::string scheme = "http://";
  if (url.rfind(scheme, 0) != 0) return bad("must start with http://");
  std::string rest = url.substr(scheme.size());
  auto slash = rest.find('/');
  std::string hostport = rest.substr(0, slash);
  HttpUrl u;
  u.target = slash == std::string::npos ? "/" : rest.substr(slash);
  auto colon = hostport.rfind(':');
  if (colon == std::string::npos) {
    u.host = hostport;
  } else {
    u.host = hostport.substr(0, colon);
    std::string port = hostport.substr(colon + 1);
    if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
        std::stoul(port) > 65535 || std::stoul(port) == 0) {
      return bad("bad port");
    }
    u.port = static_cast<uint16_t>(std::stoul(port));
  }
  if (u.host.empty()) return bad("no host");
  return u;
}

namespace {

Result<HttpReply> exchange(const HttpUrl& url, http::verb verb, const std::string* body,
                           std::chrono::milliseconds timeout) {
  try {
    boost::asio::io_context io;
    tcp::resolver resolver(io);
    beast::tcp_stream stream(io);
    stream.expires_after(timeout);
    stream.connect(resolver.resolve(url.host, std::to_string(url.port)));
    http::request<http::string_body> req{verb, url.target, 11};
    req.set(http::field::host, url.host);
    if (body) {
      req.set(http::field::content_type, "application/json");
      req.body() = *body;
    }
    req.prepare_payload();
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 << 20);
    http::read(stream, buffer, parser);
    beast::error_code ignore;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignore);
    return HttpReply{parser.get().result_int(), parser.get().body()};
  } catch (const std::exception& e) {
    return make_error(Errc::io, "cannot reach " + url.host + ":" + std::to_string(url.port) + ": " + e.what());
  }
}

} // namespace

Result<HttpReply> http_get(const HttpUrl& url, std::chrono::milliseconds timeout) {
  return exchange(url, http::verb::get, nullptr, timeout);
}

Result<HttpReply> http_post_json(const HttpUrl& url, const std::string& body, std::chrono::milliseconds timeout) {
  return exchange(url, http::verb::post, &body, timeout);
}

} // namespace openstreaming::api
