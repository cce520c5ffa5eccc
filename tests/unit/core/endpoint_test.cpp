#include "core/endpoint.h"

#include <gtest/gtest.h>

namespace openstreaming::core {
namespace {

TEST(Endpoint, ParsesHostsAndPorts) {
  struct Case {
    const char* text;
    const char* host;
    uint16_t port;
  } cases[] = {
      {"127.0.0.1:4000", "127.0.0.1", 4000},
      {"localhost:1", "localhost", 1},
      {"node-1.example:65535", "node-1.example", 65535},
      {"[::1]:8080", "::1", 8080},
  };
  for (const auto& c : cases) {
    auto e = Endpoint::parse(c.text);
    ASSERT_TRUE(e.ok()) << c.text << ": " << e.error().message;
    EXPECT_EQ(e->host, c.host);
    EXPECT_EQ(e->port, c.port);
    EXPECT_EQ(e->to_string(), c.text);
  }
}

TEST(Endpoint, RejectsMalformedText) {
  for (const char* bad : {"", "127.0.0.1", ":80", "host:", "host:65536", "host:-1", "host:8o", "ho st:1", "[::1:80",
                          "[zz]:80", "a:0"}) {
    auto e = Endpoint::parse(bad);
    EXPECT_FALSE(e.ok()) << bad;
    if (!e.ok()) {
      EXPECT_NE(e.error().message.find("HOST:PORT"), std::string::npos);
    }
  }
  EXPECT_TRUE(Endpoint::parse("127.0.0.1:0", /*allow_port_zero=*/true).ok());
}

} // namespace
} // namespace openstreaming::core
