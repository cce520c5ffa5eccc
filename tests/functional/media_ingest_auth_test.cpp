// Publish authentication with a real ffmpeg publisher: an RTMP push without the
// stream key is refused, logged and counted, and the listener stays up for the
// rightful publisher, who presents the key as ?key=KEY or as the stream name;
// an SRT caller without the key as its passphrase likewise.
#include "support/node_process.h"
#include "support/wait.h"

#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

namespace openstreaming {
namespace {

using test::NodeProcess;
using test::NodeSpec;
using test::wait_until;
using namespace std::chrono_literals;

test::SpawnOptions with_password() {
  test::SpawnOptions o;
  o.env["OPENSTREAMING_PASSWORD"] = "test";
  return o;
}

// A TCP port that was free a moment ago (the publisher must know it in advance).
uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

std::vector<std::string> push_to(const std::string& url, int seconds) {
  return {"ffmpeg",  "-v",
          "error",   "-re",
          "-f",      "lavfi",
          "-i",      "testsrc2=size=320x240:rate=25",
          "-t",      std::to_string(seconds),
          "-c:v",    "libx264",
          "-preset", "veryfast",
          "-g",      "25",
          "-f",      "flv",
          url};
}

// Pushes, retrying while the listener is not (or not yet again) there.
test::RunResult push(const std::string& url, int seconds) {
  test::RunResult r;
  for (int attempt = 0; attempt < 40; ++attempt) {
    r = test::run(push_to(url, seconds), {}, 60s);
    if (r.err.find("Connection refused") == std::string::npos) break;
    std::this_thread::sleep_for(250ms);
  }
  return r;
}

uint64_t parts_of(const NodeProcess& n) {
  auto list = n.get_json("/api/streams");
  if (!list.is_array()) return 0;
  for (const auto& s : list) {
    if (s["name"] == "show") return s["stats"]["parts_received"].get<uint64_t>();
  }
  return 0;
}

TEST(MediaIngestAuth, RtmpPushesWithoutTheKeyAreRefusedAndTheRightfulPublisherIsServed) {
  test::TempDir dir;
  const std::string key = "s3cret-key-42";
  std::string key_file = dir.write("stream.key", key + "\n");
  std::string rtmp = "127.0.0.1:" + std::to_string(free_port());
  NodeSpec bspec;
  bspec.extra_args = {"--rtmp-listen", rtmp, "--stream", "show", "--stream-key-file", key_file};
  bspec.config_toml = test::kFastTiming;
  NodeProcess b(dir, "b", 31, bspec);
  b.start();
  ASSERT_TRUE(b.process().wait_for_line("listening rtmp", 5s));
  NodeSpec vspec;
  vspec.bootstrap = {b.p2p()};
  vspec.extra_args = {"--watch", "show"};
  vspec.config_toml = test::kFastTiming;
  NodeProcess v(dir, "v", 32, vspec);
  v.start();

  // No key, and a wrong one: refused, counted, and no part goes out.
  for (const std::string& url :
       {"rtmp://" + rtmp + "/live/show", "rtmp://" + rtmp + "/live/show?key=wrong", "rtmp://" + rtmp + "/live/wrong"}) {
    const double before = b.metric("openstreaming_ingest_refused_total");
    auto r = push(url, 3);
    EXPECT_NE(r.exit_code, 0) << url << " was not refused";
    EXPECT_TRUE(wait_until([&] { return b.metric("openstreaming_ingest_refused_total") >= before + 1; }, 10s))
        << url << "\n"
        << b.process().err();
  }
  EXPECT_NE(b.process().err().find("publish refused"), std::string::npos) << b.process().err();
  EXPECT_EQ(parts_of(v), 0u);

  // The rightful publisher, key in the query: served to the viewer.
  auto ok = push("rtmp://" + rtmp + "/live/show?key=" + key, 4);
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_TRUE(wait_until([&] { return parts_of(v) >= 4; }, 15s)) << parts_of(v);
  EXPECT_EQ(b.metric("openstreaming_ingest_refused_total"), 3);
}

// A UDP port that was free a moment ago (SRT listens on UDP).
uint16_t free_udp_port() {
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

std::vector<std::string> srt_push_to(const std::string& url, int seconds) {
  return {"ffmpeg",  "-v",
          "error",   "-re",
          "-f",      "lavfi",
          "-i",      "testsrc2=size=320x240:rate=25",
          "-t",      std::to_string(seconds),
          "-c:v",    "libx264",
          "-preset", "veryfast",
          "-g",      "25",
          "-f",      "mpegts",
          url};
}

TEST(MediaIngestAuth, SrtCallersWithoutTheKeyAreRefusedCountedAndTheRightfulPublisherIsServed) {
  test::TempDir dir;
  const std::string key = "srt-passphrase-42";
  std::string key_file = dir.write("stream.key", key + "\n");
  std::string srt = "127.0.0.1:" + std::to_string(free_udp_port());
  NodeSpec bspec;
  bspec.extra_args = {"--srt-listen", srt, "--stream", "show", "--stream-key-file", key_file};
  bspec.config_toml = test::kFastTiming;
  NodeProcess b(dir, "b", 35, bspec);
  b.start();
  ASSERT_TRUE(b.process().wait_for_line("listening srt", 5s));
  std::this_thread::sleep_for(1s); // the ingest thread opens the listener
  NodeSpec vspec;
  vspec.bootstrap = {b.p2p()};
  vspec.extra_args = {"--watch", "show"};
  vspec.config_toml = test::kFastTiming;
  NodeProcess v(dir, "v", 36, vspec);
  v.start();

  // No passphrase, and a wrong one: refused in the handshake, counted, logged.
  double expected = 0;
  for (const std::string& url : {"srt://" + srt, "srt://" + srt + "?passphrase=wrong-passphrase"}) {
    auto r = test::run(srt_push_to(url, 2), {}, 60s);
    EXPECT_NE(r.exit_code, 0) << url << " was not refused";
    ++expected;
    EXPECT_TRUE(wait_until([&] { return b.metric("openstreaming_ingest_refused_total") >= expected; }, 10s))
        << url << "\n"
        << b.process().err();
  }
  EXPECT_NE(b.process().err().find("srt ingest: publish refused"), std::string::npos) << b.process().err();
  EXPECT_EQ(parts_of(v), 0u);

  // The rightful publisher, the key as its passphrase: served to the viewer, and not counted.
  auto ok = test::run(srt_push_to("srt://" + srt + "?passphrase=" + key, 5), {}, 60s);
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_TRUE(wait_until([&] { return parts_of(v) >= 4; }, 15s)) << parts_of(v) << "\n" << b.process().err();
  EXPECT_EQ(b.metric("openstreaming_ingest_refused_total"), 2);
}

TEST(MediaIngestAuth, ObsStyleTheKeyAsTheStreamNameIsAccepted) {
  test::TempDir dir;
  const std::string key = "obs-stream-key";
  std::string key_file = dir.write("stream.key", key);
  std::string rtmp = "127.0.0.1:" + std::to_string(free_port());
  NodeSpec bspec;
  bspec.extra_args = {"--rtmp-listen", rtmp, "--stream", "show", "--stream-key-file", key_file};
  NodeProcess b(dir, "b", 33, bspec);
  b.start();
  ASSERT_TRUE(b.process().wait_for_line("listening rtmp", 5s));
  auto ok = push("rtmp://" + rtmp + "/live/" + key, 3);
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(b.metric("openstreaming_ingest_refused_total"), 0);
  EXPECT_EQ(b.process().err().find("publish refused"), std::string::npos) << b.process().err();
}

TEST(MediaIngestAuth, ABadStreamKeyFileIsAClearError) {
  test::TempDir dir;
  NodeProcess n(dir, "a", 34, {});
  std::string empty = dir.write("empty.key", "\n");
  std::string short_key = dir.write("short.key", "abc");
  struct Case {
    std::vector<std::string> args;
    std::string error;
  };
  for (const Case& c : std::vector<Case>{
           {.args = {"--rtmp-listen", "127.0.0.1:1", "--stream", "s", "--stream-key-file", empty},
    .error = "the key must be 1-256 characters"},
           {.args = {"--srt-listen", "127.0.0.1:1", "--stream", "s", "--stream-key-file", short_key},
           .error = "the key must be 10-79 characters"},
           {.args = {"--stream-key-file", short_key}, .error = "--stream-key-file needs --rtmp-listen or --srt-listen"},
           {.args = {"--rtmp-listen", "127.0.0.1:1", "--stream", "abc", "--stream-key-file", short_key},
           .error = "the key must differ from the stream's name"},
       }) {
    std::vector<std::string> argv = {OPENSTREAMING_BIN, "node", "--key", n.key_file(), "--data-dir", dir.file("d")};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    auto r = test::run(argv, with_password(), 20s);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find(c.error), std::string::npos) << r.err;
  }
}

} // namespace
} // namespace openstreaming
