// A small blocking HTTP/1.1 client (Boost.Beast) for the CLI and the node's
// ledger worker: JSON-RPC to a ledger. http:// and https:// (TLS 1.2+, the
// server's certificate verified against the system trust store — OpenSSL's
// default paths, so SSL_CERT_FILE / SSL_CERT_DIR apply — and matched to the
// URL's host name or IP address; GET is plain http only).
//
// Each call returns within `timeout` (plus scheduling slack), answered or not:
// a server that accepts and never answers is an Errc::io error ("no answer
// within N ms"), never a hang — host-name lookups included (resolve_within).
#pragma once

#include "core/result.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace openstreaming::api {

struct HttpUrl {
  std::string host;
  uint16_t port = 80; // 443 for https:// without a port
  std::string target = "/";
  bool tls = false; // https://
  static Result<HttpUrl> parse(const std::string& url);
  std::string text() const; // scheme://host:port/target
};

struct HttpReply {
  unsigned status = 0;
  std::string body;
};

Result<HttpReply> http_get(const HttpUrl& url, std::chrono::milliseconds timeout = std::chrono::seconds(10));
Result<HttpReply> http_post_json(const HttpUrl& url, const std::string& body,
                                 std::chrono::milliseconds timeout = std::chrono::seconds(10));

// A keep-alive HTTP/1.1 connection to one server, for a caller that talks to
// it again and again (the node's ledger worker polls every 500 ms): requests go
// over the same TCP connection while the server keeps it open, and a new one is
// opened only when the server closed it (Connection: close, its idle timeout)
// or a call failed. A reused connection the server had already closed before
// reading the request (the write fails, or the read ends before a byte of the
// answer) is reopened and the request sent once more on the fresh connection,
// so a server's idle timeout never surfaces as an error.
//
// Every call returns within its `timeout`, like http_post_json (the same
// exception for host names); a call that fails closes the connection.
// Thread-safety: none; one thread calls it (the worker).
class HttpConnection {
public:
  explicit HttpConnection(HttpUrl url);
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  Result<HttpReply> post_json(const std::string& body, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  const HttpUrl& url() const;
  // TCP connections opened so far (1 for any number of calls to a keep-alive server).
  uint64_t connections_opened() const;

private:
  struct Impl;
  std::unique_ptr<Impl> m;
};

// TLS for clients (https:// here, wss:// in nostr_client.h): TLS 1.2 or 1.3,
// the server's certificate verified against the system's trust store
// (OpenSSL's default paths, so SSL_CERT_FILE and SSL_CERT_DIR are honoured).
std::shared_ptr<boost::asio::ssl::context> https_context();
// Sets the name (SNI and the certificate's DNS name) or the IP address the
// server's certificate must name.
Result<void> expect_peer(SSL* ssl, const std::string& host);

// Looks up `host` within `timeout`. The system resolver (getaddrinfo) cannot
// be interrupted, so it runs on a thread of its own and the caller waits at
// most `timeout`; a late answer is dropped when that thread ends. An IP
// address is returned at once. `lookup` replaces the system resolver in tests.
using Lookup =
    std::function<Result<std::vector<boost::asio::ip::tcp::endpoint>>(const std::string& host, uint16_t port)>;
Result<std::vector<boost::asio::ip::tcp::endpoint>>
resolve_within(const std::string& host, uint16_t port, std::chrono::milliseconds timeout, const Lookup& lookup = {});

} // namespace openstreaming::api
