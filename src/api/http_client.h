// A small blocking HTTP/1.1 client (Boost.Beast) for the CLI and the node's
// ledger worker: JSON-RPC to a ledger. Plain http:// URLs only (the ledger
// serves loopback or a trusted LAN; put TLS in front of it otherwise).
//
// Each call returns within `timeout` (plus scheduling slack), answered or not:
// a server that accepts and never answers is an Errc::io error ("no answer
// within N ms"), never a hang. The one exception: a host name (not an IP
// address) is looked up by the system resolver, which the deadline cannot
// interrupt; give an IP address where a hard bound matters.
#pragma once

#include "core/result.h"

#include <chrono>
#include <string>

namespace openstreaming::api {

struct HttpUrl {
  std::string host;
  uint16_t port = 80;
  std::string target = "/";
  static Result<HttpUrl> parse(const std::string& url);
};

struct HttpReply {
  unsigned status = 0;
  std::string body;
};

Result<HttpReply> http_get(const HttpUrl& url, std::chrono::milliseconds timeout = std::chrono::seconds(10));
Result<HttpReply> http_post_json(const HttpUrl& url, const std::string& body,
                                 std::chrono::milliseconds timeout = std::chrono::seconds(10));

} // namespace openstreaming::api
