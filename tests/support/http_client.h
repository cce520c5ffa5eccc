// Minimal blocking HTTP GET for functional tests (Boost.Beast), loopback only.
#pragma once

#include <string>

namespace openstreaming::test {

struct HttpResult {
  int status = 0; // 0: could not connect
  std::string body;
  std::string content_type;
};

// endpoint is "host:port".
HttpResult http_get(const std::string& endpoint, const std::string& target);

} // namespace openstreaming::test
