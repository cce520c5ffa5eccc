// A small blocking HTTP/1.1 client (Boost.Beast) for the CLI: `openstreaming
// wallet` talking JSON-RPC to a ledger. Plain http:// URLs only (the ledger
// serves loopback or a trusted LAN; put TLS in front of it otherwise).
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
