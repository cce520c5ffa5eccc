#include "api/http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <future>
#include <optional>
#include <thread>
#include <utility>

namespace openstreaming::api {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

Result<HttpUrl> HttpUrl::parse(const std::string& url) {
  auto bad = [&](const std::string& why) { return make_error(Errc::invalid_input, "URL '" + url + "': " + why); };
  HttpUrl u;
  std::string rest;
  if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else if (url.rfind("https://", 0) == 0) {
    rest = url.substr(8);
    u.tls = true;
    u.port = 443;
  } else {
    return bad("must start with http:// or https://");
  }
  auto slash = rest.find('/');
  std::string hostport = rest.substr(0, slash);
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

std::string HttpUrl::text() const {
  return std::string(tls ? "https://" : "http://") + host + ":" + std::to_string(port) + target;
}

Result<std::vector<tcp::endpoint>> resolve_within(const std::string& host, uint16_t port,
                                                  std::chrono::milliseconds timeout, const Lookup& lookup) {
  boost::system::error_code addr_ec;
  auto addr = boost::asio::ip::make_address(host, addr_ec);
  if (!addr_ec) return std::vector<tcp::endpoint>{tcp::endpoint(addr, port)};
  using Answer = Result<std::vector<tcp::endpoint>>;
  auto promise = std::make_shared<std::promise<Answer>>();
  auto answer = promise->get_future();
  Lookup run = lookup ? lookup : [](const std::string& h, uint16_t p) -> Answer {
    boost::asio::io_context io;
    tcp::resolver resolver(io);
    boost::system::error_code ec;
    auto results = resolver.resolve(h, std::to_string(p), ec);
    if (ec) return make_error(Errc::io, "cannot resolve " + h + ": " + ec.message());
    std::vector<tcp::endpoint> out;
    for (const auto& r : results) out.push_back(r.endpoint());
    if (out.empty()) return make_error(Errc::io, "cannot resolve " + h + ": no address");
    return out;
  };
  // Detached: the thread owns everything it touches (the promise is shared).
  std::thread([promise, run = std::move(run), host, port] { promise->set_value(run(host, port)); }).detach();
  if (answer.wait_for(timeout) != std::future_status::ready)
    return make_error(Errc::io,
                      "cannot resolve " + host + ": no answer within " + std::to_string(timeout.count()) + " ms");
  return answer.get();
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
  const std::string no_answer =
      "cannot reach " + where + ": no answer within " + std::to_string(timeout.count()) + " ms";
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
  const auto started = std::chrono::steady_clock::now();
  auto endpoints = resolve_within(url.host, url.port, timeout);
  if (!endpoints) return endpoints.error();
  const auto left =
      timeout - std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  stream.expires_after(left);
  stream.async_connect(*endpoints, [&](beast::error_code cec, const tcp::endpoint&) { on_connected(cec); });
  io.run_for(left);
  if (!out) return make_error(Errc::io, no_answer);
  return std::move(*out);
}

} // namespace

namespace ssl = boost::asio::ssl;

std::shared_ptr<ssl::context> https_context() {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  boost::system::error_code ignore;
  ctx->set_default_verify_paths(ignore);
  ctx->set_verify_mode(ssl::verify_peer);
  return ctx;
}

Result<void> expect_peer(SSL* ssl, const std::string& host) {
  boost::system::error_code ec;
  (void)boost::asio::ip::make_address(host, ec);
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  if (!ec) {
    if (X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) != 1)
      return make_error(Errc::invalid_input, "https: bad IP address " + host);
    return {};
  }
  if (SSL_set_tlsext_host_name(ssl, host.c_str()) != 1 || X509_VERIFY_PARAM_set1_host(param, host.c_str(), 0) != 1)
    return make_error(Errc::invalid_input, "https: bad host name " + host);
  return {};
}

struct HttpConnection::Impl {
  HttpUrl url;
  boost::asio::io_context io;
  std::shared_ptr<ssl::context> tls_ctx;                   // https only
  std::optional<beast::tcp_stream> stream;                 // http: open while set
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls; // https: open while set
  beast::flat_buffer buffer;
  uint64_t opened = 0;

  bool open() const { return stream.has_value() || tls.has_value(); }
  beast::tcp_stream& tcp() { return tls ? beast::get_lowest_layer(*tls) : *stream; }

  void close() {
    if (open()) {
      beast::error_code ignore;
      tcp().socket().shutdown(tcp::socket::shutdown_both, ignore);
      tcp().socket().close(ignore);
      stream.reset();
      tls.reset();
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
    const bool reused = open();
    if (!reused) {
      if (url.tls) {
        if (!tls_ctx) tls_ctx = https_context();
        tls.emplace(io, *tls_ctx);
        if (auto e = expect_peer(tls->native_handle(), url.host); !e) {
          tls.reset();
          return e.error();
        }
      } else {
        stream.emplace(io);
      }
    }
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
    auto exchange_on = [&](auto& s) {
      http::async_write(s, req, [&](beast::error_code wec, std::size_t) {
        if (wec) return failed("write", wec);
        http::async_read(s, buffer, parser, [&](beast::error_code rec, std::size_t) {
          if (rec) return failed("read", rec);
          keep = parser.get().keep_alive();
          out = HttpReply{parser.get().result_int(), parser.get().body()};
        });
      });
    };
    auto send_and_read = [&] {
      if (tls)
        exchange_on(*tls);
      else
        exchange_on(*stream);
    };
    auto on_connected = [&](beast::error_code ec) {
      if (ec) return failed("connect", ec);
      if (!tls) return send_and_read();
      tls->async_handshake(ssl::stream_base::client, [&](beast::error_code hec) {
        if (hec) return failed("TLS handshake", hec);
        send_and_read();
      });
    };
    if (reused) {
      tcp().expires_after(total);
      send_and_read();
    } else {
      ++opened;
      auto endpoints = resolve_within(url.host, url.port, total);
      if (!endpoints) {
        close();
        return endpoints.error();
      }
      tcp().expires_at(deadline);
      tcp().async_connect(*endpoints, [&](beast::error_code cec, const tcp::endpoint&) { on_connected(cec); });
    }
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
    io.restart();
    io.run_for(std::max(left, milliseconds(0)));
    if (!out) {
      // The deadline passed with an operation pending: abort it and let its
      // handler run now, while what it refers to still exists (a handler that
      // starts another operation finds the socket closed and fails at once).
      beast::error_code ignore;
      tcp().socket().close(ignore);
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
  if (url.tls) return make_error(Errc::unsupported, "GET over https is not supported (" + url.text() + ")");
  return exchange(url, http::verb::get, nullptr, timeout);
}

Result<HttpReply> http_post_json(const HttpUrl& url, const std::string& body, std::chrono::milliseconds timeout) {
  if (url.tls) return HttpConnection(url).post_json(body, timeout);
  return exchange(url, http::verb::post, &body, timeout);
}

} // namespace openstreaming::api
