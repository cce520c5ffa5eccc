// http_get / http_post_json: every call ends within its deadline, also against
// a server that accepts the connection and never answers.
#include "api/http_client.h"

#include <boost/asio.hpp>
#include <gtest/gtest.h>

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
  std::thread thread;
  explicit Server(std::string reply = "") : answer(std::move(reply)) {
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
      auto sock = std::make_shared<tcp::socket>(std::move(s));
      held.push_back(sock);
      if (!answer.empty()) {
        auto buf = std::make_shared<std::array<char, 4096>>();
        sock->async_read_some(boost::asio::buffer(*buf), [this, sock, buf](boost::system::error_code rec, std::size_t) {
          if (!rec) boost::asio::async_write(*sock, boost::asio::buffer(answer), [](auto, auto) {});
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

} // namespace
} // namespace openstreaming::api
