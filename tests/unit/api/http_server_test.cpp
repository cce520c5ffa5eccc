// HttpServer: what goes on the wire. No response carries CORS headers (a page
// on another origin must not read a node's API or the ledger), event streams
// included; the Authorization header reaches the handler.
#include "api/http_server.h"

#include <boost/asio.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <thread>

namespace openstreaming::api {
namespace {

using tcp = boost::asio::ip::tcp;

// Runs a server on its own thread for the test's lifetime.
struct Served {
  boost::asio::io_context io;
  HttpServer server;
  uint16_t port = 0;
  std::thread thread;
  explicit Served(Handler h, std::size_t max_body = 0) : server(io, std::move(h), 8, max_body) {
    auto ep = server.listen("127.0.0.1", 0);
    EXPECT_TRUE(ep) << ep.error().message;
    if (ep) port = ep->port();
    thread = std::thread([this] { io.run(); });
  }
  ~Served() {
    boost::asio::post(io, [this] {
      server.stop();
      io.stop();
    });
    thread.join();
  }
};

// Sends `request` verbatim; returns what came back until the server closed or
// `until` appeared.
std::string raw(uint16_t port, const std::string& request, const std::string& until = "") {
  boost::asio::io_context io;
  tcp::socket s(io);
  s.connect({boost::asio::ip::make_address("127.0.0.1"), port});
  boost::asio::write(s, boost::asio::buffer(request));
  std::string out;
  char buf[4096];
  boost::system::error_code ec;
  while (!ec) {
    std::size_t n = s.read_some(boost::asio::buffer(buf), ec);
    out.append(buf, n);
    if (!until.empty() && out.find(until) != std::string::npos) break;
  }
  return out;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

TEST(HttpServer, NoResponseAllowsOtherOrigins) {
  Served srv([](const HttpRequest& r) -> HttpResponse {
    if (r.path == "/events") {
      HttpResponse res{200, "text/event-stream", "{}"};
      res.event_stream = true;
      return res;
    }
    if (r.path == "/missing") return {404, "application/json", "{}"};
    return {200, "application/json", "{\"ok\":true}"};
  });
  for (const char* target : {"/", "/missing"}) {
    for (const char* method : {"GET", "HEAD", "OPTIONS"}) {
      std::string res = raw(srv.port, std::string(method) + " " + target +
                                          " HTTP/1.1\r\nHost: x\r\nOrigin: http://evil.example\r\n"
                                          "Connection: close\r\n\r\n");
      ASSERT_NE(res.find("HTTP/1.1 "), std::string::npos) << method << " " << target;
      EXPECT_EQ(lower(res).find("access-control-"), std::string::npos) << method << " " << target << "\n" << res;
    }
  }
  std::string events =
      raw(srv.port, "GET /events HTTP/1.1\r\nHost: x\r\nOrigin: http://evil.example\r\n\r\n", "\r\n\r\n");
  ASSERT_NE(events.find("text/event-stream"), std::string::npos) << events;
  EXPECT_EQ(lower(events).find("access-control-"), std::string::npos) << events;
}

TEST(HttpServer, TheAuthorizationHeaderReachesTheHandler) {
  std::string seen = "unset";
  Served srv(
      [&](const HttpRequest& r) -> HttpResponse {
        seen = r.authorization;
        return {200, "application/json", "{}"};
      },
      /*max_body=*/1024);
  raw(srv.port, "POST /x HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer abc\r\nContent-Length: 2\r\n"
                "Connection: close\r\n\r\n{}");
  EXPECT_EQ(seen, "Bearer abc");
  raw(srv.port, "GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(seen, "");
}

} // namespace
} // namespace openstreaming::api
