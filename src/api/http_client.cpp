#include "api/http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <optional>
#include <utility>

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

struct HttpConnection::Impl {
  HttpUrl url;
  boost::asio::io_context io;
  std::optional<beast::tcp_stream> stream; // open while set
  beast::flat_buffer buffer;
  uint64_t opened = 0;

  void close() {
    if (stream) {
      beast::error_code ignore;
      stream->socket().shutdown(tcp::socket::shutdown_both, ignore);
      stream->socket().close(ignore);
      stream.reset();
    }
    buffer.clear();
  }

  // One request on the open connection, or on a new one. Sets `stale` when a
  // reused connection failed before any byte of the answer arrived.
  Result<HttpReply> attempt(const std::string& body, std::chrono::steady_clock::time_point deadline, bool& stale) {
    using std::chrono::milliseconds;
    const std::string where = url.host + ":" + std::to_string(url.port);
    const auto total = std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
    auto no_answer = [&] {
      return make_error(Errc::io,
                        "cannot reach " + where + ": no answer within " + std::to_string(total.count()) + " ms");
    };
    if (total.count() <= 0) return no_answer();
    const bool reused = stream.has_value();
    if (!reused) stream.emplace(io);
    http::request<http::string_body> req{http::verb::post, url.target, 11};
    req.set(http::field::host, url.host);
    req.set(http::field::content_type, "application/json");
    req.keep_alive(true);
    req.body() = body;
    req.prepare_payload();
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 << 20);
    std::optional<Result<HttpReply>> out;
    bool keep = true;
    auto failed = [&](const char* step, beast::error_code ec) {
      if (ec == beast::error::timeout) {
        out = no_answer();
        return;
      }
      if (reused && !parser.got_some()) stale = true; // closed by the server while idle
      out = make_error(Errc::io, "cannot reach " + where + ": " + step + ": " + ec.message());
    };
    auto send_and_read = [&] {
      http::async_write(*stream, req, [&](beast::error_code wec, std::size_t) {
        if (wec) return failed("write", wec);
        http::async_read(*stream, buffer, parser, [&](beast::error_code rec, std::size_t) {
          if (rec) return failed("read", rec);
          keep = parser.get().keep_alive();
          out = HttpReply{parser.get().result_int(), parser.get().body()};
        });
      });
    };
    auto on_connected = [&](beast::error_code ec) {
      if (ec) return failed("connect", ec);
      send_and_read();
    };
    stream->expires_after(total);
    tcp::resolver resolver(io);
    if (reused) {
      send_and_read();
    } else {
      ++opened;
      boost::system::error_code addr_ec;
      auto addr = boost::asio::ip::make_address(url.host, addr_ec);
      if (!addr_ec) {
        stream->async_connect(tcp::endpoint(addr, url.port), on_connected);
      } else {
        resolver.async_resolve(
            url.host, std::to_string(url.port), [&](beast::error_code ec, const tcp::resolver::results_type& results) {
              if (ec) return failed("resolve", ec);
              stream->async_connect(results, [&](beast::error_code cec, const tcp::endpoint&) { on_connected(cec); });
            });
      }
    }
    io.restart();
    io.run_for(total);
    if (!out) {
      // The deadline passed with an operation pending: abort it and let its
      // handler run now, while what it refers to still exists (a handler that
      // starts another operation finds the socket closed and fails at once).
      beast::error_code ignore;
      stream->socket().close(ignore);
      resolver.cancel();
      io.restart();
      io.run();
      close();
      return no_answer();
    }
    if (!*out || !keep) close();
    return std::move(*out);
  }
};

HttpConnection::HttpConnection(HttpUrl url) : m(std::make_unique<Impl>()) {
  m->url = std::move(url);
}

HttpConnection::~HttpConnection() {
  m->close();
}

const HttpUrl& HttpConnection::url() const {
  return m->url;
}

uint64_t HttpConnection::connections_opened() const {
  return m->opened;
}

Result<HttpReply> HttpConnection::post_json(const std::string& body, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool stale = false;
  auto r = m->attempt(body, deadline, stale);
  if (!r && stale) {
    stale = false;
    r = m->attempt(body, deadline, stale); // once, on a fresh connection
  }
  return r;
}

Result<HttpReply> http_get(const HttpUrl& url, std::chrono::milliseconds timeout) {
  return exchange(url, http::verb::get, nullptr, timeout);
}

Result<HttpReply> http_post_json(const HttpUrl& url, const std::string& body, std::chrono::milliseconds timeout) {
  return exchange(url, http::verb::post, &body, timeout);
}

} // namespace openstreaming::api
