// http_get / http_post_json / HttpConnection: every call ends within its
// deadline, also against a server that accepts the connection and never
// answers; a kept-alive connection carries every call to a server that keeps it.
#include "api/http_client.h"
#include "api/http_server.h"

#include <boost/asio.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace openstreaming::api {
namespace {

using tcp = boost::asio::ip::tcp;
using namespace std::chrono_literals;

// Accepts connections on 127.0.0.1 and keeps them open without a byte in reply
// (or, with `answer`, answers every request with it).
struct Server {
  boost::asio::io_context io;
  tcp::acceptor acceptor{io, {boost::asio::ip::make_address("127.0.0.1"), 0}};
  std::vector<std::shared_ptr<tcp::socket>> held;
  std::string answer;
  bool close_after_answer = false; // close without saying so (as an idle timeout does)
  std::atomic<int> accepted{0};
  std::thread thread;
  explicit Server(std::string reply = "", bool close_after = false)
      : answer(std::move(reply)), close_after_answer(close_after) {
    accept();
    thread = std::thread([this] { io.run(); });
  }
  ~Server() {
    boost::asio::post(io, [this] { io.stop(); });
    thread.join();
  }
  uint16_t port() const { return acceptor.local_endpoint().port(); }
  void accept() {
    acceptor.async_accept([this](boost::system::error_code ec, tcp::socket s) {
      if (ec) return;
      ++accepted;
      auto sock = std::make_shared<tcp::socket>(std::move(s));
      held.push_back(sock);
      if (!answer.empty()) {
        auto buf = std::make_shared<std::array<char, 4096>>();
        sock->async_read_some(boost::asio::buffer(*buf), [this, sock, buf](boost::system::error_code rec, std::size_t) {
          if (rec) return;
          boost::asio::async_write(*sock, boost::asio::buffer(answer), [this, sock](auto, auto) {
            boost::system::error_code ignore;
            if (close_after_answer) sock->close(ignore);
          });
        });
      }
      accept();
    });
  }
};

HttpUrl url_of(uint16_t port) {
  return *HttpUrl::parse("http://127.0.0.1:" + std::to_string(port) + "/");
}

TEST(HttpClient, AServerThatNeverAnswersIsATimeoutWithinTheDeadline) {
  Server silent;
  for (bool post : {false, true}) {
    auto start = std::chrono::steady_clock::now();
    auto r = post ? http_post_json(url_of(silent.port()), "{}", 300ms) : http_get(url_of(silent.port()), 300ms);
    auto took = std::chrono::steady_clock::now() - start;
    ASSERT_FALSE(r) << (post ? "POST" : "GET");
    EXPECT_EQ(r.error().code, Errc::io);
    EXPECT_NE(r.error().message.find("no answer within 300 ms"), std::string::npos) << r.error().message;
    EXPECT_GE(took, 300ms);
    EXPECT_LT(took, 300ms + 2s) << "the deadline did not hold";
  }
}

// getaddrinfo cannot be interrupted: a resolver that hangs (here a lookup that
// answers after 3 s) still ends the call at its deadline, and the late answer
// is dropped safely.
TEST(HttpClient, AHostNameLookupThatHangsEndsAtTheDeadline) {
  auto slow = [](const std::string&, uint16_t port) -> Result<std::vector<tcp::endpoint>> {
    std::this_thread::sleep_for(3s);
    return std::vector<tcp::endpoint>{tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port)};
  };
  auto start = std::chrono::steady_clock::now();
  auto r = resolve_within("ledger.example", 8545, 200ms, slow);
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::io);
  EXPECT_NE(r.error().message.find("cannot resolve ledger.example: no answer within 200 ms"), std::string::npos)
      << r.error().message;
  EXPECT_LT(took, 2s) << "the lookup was waited for";
  // An IP address needs no lookup; a quick lookup's answer is returned.
  auto ip = resolve_within("127.0.0.1", 9, 1ms, slow);
  ASSERT_TRUE(ip) << ip.error().message;
  EXPECT_EQ(ip->front().port(), 9);
  auto quick = [](const std::string&, uint16_t port) -> Result<std::vector<tcp::endpoint>> {
    return std::vector<tcp::endpoint>{tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port)};
  };
  auto named = resolve_within("ledger.example", 8545, 2s, quick);
  ASSERT_TRUE(named) << named.error().message;
  EXPECT_EQ(named->front().port(), 8545);
  // localhost through the system resolver (no network needed).
  auto local = resolve_within("localhost", 80, 5s);
  ASSERT_TRUE(local) << local.error().message;
  EXPECT_TRUE(local->front().address().is_loopback());
}

TEST(HttpClient, AnAnsweringServerIsRead) {
  Server ok("HTTP/1.1 200 OK\r\nContent-Length: 7\r\nConnection: close\r\n\r\n{\"a\":1}");
  auto r = http_post_json(url_of(ok.port()), "{}", 2s);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 200u);
  EXPECT_EQ(r->body, "{\"a\":1}");
}

TEST(HttpClient, NothingListeningIsAnErrorAtOnce) {
  uint16_t port;
  {
    Server gone;
    port = gone.port();
  }
  auto start = std::chrono::steady_clock::now();
  auto r = http_get(url_of(port), 5s);
  EXPECT_FALSE(r);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 4s);
}

// A real HttpServer (keep-alive, as the ledger serves) on its own thread.
struct Served {
  boost::asio::io_context io;
  HttpServer server;
  uint16_t port = 0;
  std::atomic<int> requests{0};
  std::thread thread;
  Served()
      : server(
            io,
            [this](const HttpRequest& r) {
              ++requests;
              return HttpResponse{200, "application/json", "{\"echo\":" + r.body + "}"};
            },
            8, 1 << 16) {
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

TEST(HttpConnection, ManyCallsShareOneConnection) {
  Served s;
  HttpConnection c(url_of(s.port));
  for (int i = 0; i < 20; ++i) {
    auto r = c.post_json(std::to_string(i), 2s);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->body, "{\"echo\":" + std::to_string(i) + "}");
  }
  EXPECT_EQ(s.requests, 20);
  EXPECT_EQ(c.connections_opened(), 1u);
}

TEST(HttpConnection, AServerThatClosesIsReconnectedWithoutAnError) {
  // Says Connection: close: every call needs a new connection.
  Server closing("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}");
  HttpConnection c(url_of(closing.port()));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(c.post_json("{}", 2s));
  EXPECT_EQ(c.connections_opened(), 3u);
  // Says nothing and closes after answering, as a server's idle timeout does:
  // the next call finds the connection dead and is sent again on a new one.
  Server idle("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}", /*close_after=*/true);
  HttpConnection d(url_of(idle.port()));
  for (int i = 0; i < 3; ++i) {
    auto r = d.post_json("{}", 2s);
    ASSERT_TRUE(r) << "call " << i << ": " << r.error().message;
    std::this_thread::sleep_for(50ms); // the server's close arrives first
  }
  EXPECT_EQ(idle.accepted, 3);
}

TEST(HttpConnection, AServerThatNeverAnswersIsATimeoutWithinTheDeadline) {
  Server silent;
  HttpConnection c(url_of(silent.port()));
  for (int i = 0; i < 2; ++i) {
    auto start = std::chrono::steady_clock::now();
    auto r = c.post_json("{}", 300ms);
    auto took = std::chrono::steady_clock::now() - start;
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("no answer within"), std::string::npos) << r.error().message;
    EXPECT_LT(took, 300ms + 2s) << "the deadline did not hold";
  }
}

} // namespace
} // namespace openstreaming::api
