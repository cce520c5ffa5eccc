// The node's local surfaces as a real process shows them: no CORS, state
// changes only by POST with the bearer token from DATA_DIR/api-token (or
// --api-token-file), a non-loopback API refused without a token file, roles
// that do nothing refused, and a shutdown that a silent ledger cannot hold up.
#include "support/node_process.h"
#include "support/wait.h"

#include <boost/asio.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <sys/stat.h>
#include <thread>

namespace openstreaming {
namespace {

using test::NodeProcess;
using test::NodeSpec;
using tcp = boost::asio::ip::tcp;
using namespace std::chrono_literals;

test::SpawnOptions with_password() {
  test::SpawnOptions o;
  o.env["OPENSTREAMING_PASSWORD"] = "test";
  return o;
}

struct RawReply {
  int status = 0;
  std::string head; // status line and headers, lower-cased
  std::string body;
};

// One HTTP/1.1 request, written verbatim ("host:port" endpoint, loopback).
RawReply raw_http(const std::string& endpoint, const std::string& method, const std::string& target,
                  const std::string& extra_headers = "", const std::string& body = "") {
  auto colon = endpoint.rfind(':');
  boost::asio::io_context io;
  tcp::socket s(io);
  boost::system::error_code ec;
  s.connect({boost::asio::ip::make_address(endpoint.substr(0, colon)),
             static_cast<uint16_t>(std::stoi(endpoint.substr(colon + 1)))},
            ec);
  if (ec) return {};
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: " + endpoint + "\r\nConnection: close\r\n" +
                    extra_headers + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  boost::asio::write(s, boost::asio::buffer(req), ec);
  std::string out;
  char buf[4096];
  while (!ec) {
    std::size_t n = s.read_some(boost::asio::buffer(buf), ec);
    out.append(buf, n);
  }
  RawReply r;
  auto end = out.find("\r\n\r\n");
  if (out.rfind("HTTP/1.1 ", 0) != 0 || end == std::string::npos) return r;
  r.status = std::stoi(out.substr(9, 3));
  r.head = out.substr(0, end);
  std::transform(r.head.begin(), r.head.end(), r.head.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  r.body = out.substr(end + 4);
  return r;
}

std::string read_text(const std::filesystem::path& p) {
  std::ifstream f(p);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

unsigned mode_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 0777;
}

TEST(ApiSurfaces, NoResponseCarriesCorsHeaders) {
  test::TempDir dir;
  NodeProcess n(dir, "a", 1, {});
  n.start();
  for (const char* path : {"/api/status", "/metrics", "/nope", "/hls/x/source/index.m3u8"}) {
    auto r = raw_http(n.api(), "GET", path, "Origin: http://evil.example\r\n");
    ASSERT_NE(r.status, 0) << path;
    EXPECT_EQ(r.head.find("access-control-"), std::string::npos) << path << "\n" << r.head;
  }
  auto r = raw_http(n.api(), "OPTIONS", "/api/watch",
                    "Origin: http://evil.example\r\nAccess-Control-Request-Method: POST\r\n");
  EXPECT_EQ(r.head.find("access-control-"), std::string::npos) << r.head;
}

TEST(ApiSurfaces, StateChangesNeedAPostWithTheBearerTokenFromTheDataDir) {
  test::TempDir dir;
  NodeProcess n(dir, "a", 2, {});
  n.start();
  const std::string token_file = dir.file("a.data") + "/api-token";
  ASSERT_TRUE(std::filesystem::exists(token_file));
  EXPECT_EQ(mode_of(token_file), 0600u);
  std::string token = read_text(token_file);
  while (!token.empty() && token.back() == '\n') token.pop_back();
  EXPECT_EQ(token.size(), 64u);
  EXPECT_EQ(token.find_first_not_of("0123456789abcdef"), std::string::npos) << token;
  const std::string body = R"({"stream":"show"})";
  EXPECT_EQ(raw_http(n.api(), "GET", "/api/watch").status, 405);
  EXPECT_EQ(raw_http(n.api(), "POST", "/api/watch", "", body).status, 401);
  EXPECT_EQ(
      raw_http(n.api(), "POST", "/api/watch", "Authorization: Bearer " + std::string(64, '0') + "\r\n", body).status,
      401);
  EXPECT_EQ(raw_http(n.api(), "POST", "/api/watch", "Authorization: Basic " + token + "\r\n", body).status, 401);
  EXPECT_EQ(raw_http(n.api(), "POST", "/api/watch", "Authorization: Bearer " + token + "x\r\n", body).status, 401);
  auto ok = raw_http(n.api(), "POST", "/api/watch", "Authorization: Bearer " + token + "\r\n", body);
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(raw_http(n.api(), "POST", "/api/unwatch", "", body).status, 401);
  // Other endpoints take no POST at all.
  EXPECT_EQ(raw_http(n.api(), "POST", "/api/status", "Authorization: Bearer " + token + "\r\n").status, 405);
  // A restart makes a new token: the old one no longer works.
  n.stop();
  n.start();
  EXPECT_EQ(raw_http(n.api(), "POST", "/api/watch", "Authorization: Bearer " + token + "\r\n", body).status, 401);
}

TEST(ApiSurfaces, ATokenFileGivesTheToken) {
  test::TempDir dir;
  std::string file = dir.write("token", "  a-token-of-twenty-chars \n");
  NodeSpec spec;
  spec.extra_args = {"--api-token-file", file};
  NodeProcess n(dir, "a", 3, spec);
  n.start();
  const std::string body = R"({"stream":"show"})";
  EXPECT_EQ(raw_http(n.api(), "POST", "/api/watch", "Authorization: Bearer a-token-of-twenty-chars\r\n", body).status,
            200);
  EXPECT_EQ(raw_http(n.api(), "POST", "/api/watch", "Authorization: Bearer nope\r\n", body).status, 401);
}

TEST(ApiSurfaces, ANonLoopbackApiWithoutATokenFileDoesNotStart) {
  test::TempDir dir;
  NodeProcess n(dir, "a", 4, {});
  // Refused before binding anything (no server listens beyond loopback here).
  for (const char* api : {"0.0.0.0:0", "192.0.2.1:0"}) {
    auto r = test::run({OPENSTREAMING_BIN, "node", "--key", n.key_file(), "--data-dir", dir.file("a.data"), "--api",
                        api, "--listen", "127.0.0.1:0"},
                       with_password(), 20s);
    EXPECT_EQ(r.exit_code, 2) << api << r.out << r.err;
    EXPECT_NE(r.err.find("error: --api on a non-loopback address needs --api-token-file"), std::string::npos) << r.err;
    EXPECT_EQ(r.out.find("listening"), std::string::npos) << r.out;
  }
  std::string weak = dir.write("weak", "short\n");
  auto r = test::run(
      {OPENSTREAMING_BIN, "node", "--key", n.key_file(), "--data-dir", dir.file("a.data"), "--api-token-file", weak},
      with_password(), 20s);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("16+ characters"), std::string::npos) << r.err;
}

TEST(ApiSurfaces, RolesThatDoNothingYetAreRefused) {
  test::TempDir dir;
  NodeProcess n(dir, "a", 5, {});
  for (const char* role : {"transcoder", "orchestrator"}) {
    auto r =
        test::run({OPENSTREAMING_BIN, "node", "--key", n.key_file(), "--data-dir", dir.file("a.data"), "--role", role},
                  with_password(), 20s);
    EXPECT_EQ(r.exit_code, 2) << role << r.out << r.err;
    EXPECT_NE(r.err.find(std::string("error: --role ") + role + " is not implemented yet"), std::string::npos) << r.err;
  }
}

// A "ledger" that accepts connections and never answers.
struct SilentServer {
  boost::asio::io_context io;
  tcp::acceptor acceptor{io, {boost::asio::ip::make_address("127.0.0.1"), 0}};
  std::vector<std::shared_ptr<tcp::socket>> held;
  std::thread thread;
  SilentServer() {
    accept();
    thread = std::thread([this] { io.run(); });
  }
  ~SilentServer() {
    boost::asio::post(io, [this] { io.stop(); });
    thread.join();
  }
  void accept() {
    acceptor.async_accept([this](boost::system::error_code ec, tcp::socket s) {
      if (ec) return;
      held.push_back(std::make_shared<tcp::socket>(std::move(s)));
      accept();
    });
  }
};

TEST(ApiSurfaces, ANodeWhoseLedgerNeverAnswersStillShutsDown) {
  SilentServer ledger;
  test::TempDir dir;
  NodeSpec spec;
  spec.extra_args = {"--ledger", "http://127.0.0.1:" + std::to_string(ledger.acceptor.local_endpoint().port())};
  NodeProcess n(dir, "a", 6, spec);
  n.start();
  std::this_thread::sleep_for(1500ms); // the worker is inside a call the ledger never answers
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(n.stop(), 0) << n.last_err();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 8s);
}

} // namespace
} // namespace openstreaming
