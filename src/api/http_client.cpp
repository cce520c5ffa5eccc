#include "api/http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <optional>

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

// Every step runs asynchronously on a private io_context, and run_for() bounds
// the whole exchange (resolve, connect, write, read) by `timeout`: Beast's
// timeouts only apply to asynchronous operations, so blocking calls with
// expires_after() would wait forever on a server that accepts and never answers.
Result<HttpReply> exchange(const HttpUrl& url, http::verb verb, const std::string* body,
                           std::chrono::milliseconds timeout) {
  const std::string where = url.host + ":" + std::to_string(url.port);
  boost::asio::io_context io;
  tcp::resolver resolver(io);
  beast::tcp_stream stream(io);
  http::request<http::string_body> req{verb, url.target, 11};
  req.set(http::field::host, url.host);
  if (body) {
    req.set(http::field::content_type, "application/json");
    req.body() = *body;
  }
  req.prepare_payload();
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 << 20);
  std::optional<Result<HttpReply>> out;
  const std::string no_answer = "cannot reach " + where + ": no answer within " + std::to_string(timeout.count()) + " ms";
  auto failed = [&](const char* step, beast::error_code ec) {
    // Beast's own expiry and run_for() bound the same deadline: whichever ends
    // it first, the caller reads the same reason.
    if (ec == beast::error::timeout) {
      out = make_error(Errc::io, no_answer);
      return;
    }
    out = make_error(Errc::io, "cannot reach " + where + ": " + step + ": " + ec.message());
  };
  auto on_connected = [&](beast::error_code ec) {
    if (ec) return failed("connect", ec);
    http::async_write(stream, req, [&](beast::error_code wec, std::size_t) {
      if (wec) return failed("write", wec);
      http::async_read(stream, buffer, parser, [&](beast::error_code rec, std::size_t) {
        if (rec) return failed("read", rec);
        beast::error_code ignore;
        stream.socket().shutdown(tcp::socket::shutdown_both, ignore);
        out = HttpReply{parser.get().result_int(), parser.get().body()};
      });
    });
  };
  stream.expires_after(timeout);
  boost::system::error_code addr_ec;
  auto addr = boost::asio::ip::make_address(url.host, addr_ec);
  if (!addr_ec) { // an IP address: no resolver (its thread could outlive the deadline)
    stream.async_connect(tcp::endpoint(addr, url.port), on_connected);
  } else {
    resolver.async_resolve(
        url.host, std::to_string(url.port), [&](beast::error_code ec, const tcp::resolver::results_type& results) {
          if (ec) return failed("resolve", ec);
          stream.async_connect(results, [&](beast::error_code cec, const tcp::endpoint&) { on_connected(cec); });
        });
  }
  io.run_for(timeout);
  if (!out) return make_error(Errc::io, no_answer);
  return std::move(*out);
}

} // namespace

Result<HttpReply> http_get(const HttpUrl& url, std::chrono::milliseconds timeout) {
  return exchange(url, http::verb::get, nullptr, timeout);
}

Result<HttpReply> http_post_json(const HttpUrl& url, const std::string& body, std::chrono::milliseconds timeout) {
  return exchange(url, http::verb::post, &body, timeout);
}

} // namespace openstreaming::api
