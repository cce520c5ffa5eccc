// The pieces of a node process's composition that need no running node: the
// publishers' stream key and the API's bearer token, each rule with its error.
#include "daemon/run_node.h"
#include "support/temp_dir.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace openstreaming::daemon {
namespace {

NodeConfig pushing(const std::string& key_file, bool srt) {
  NodeConfig c;
  c.stream = "show";
  (srt ? c.srt_listen : c.rtmp_listen) = "127.0.0.1:0";
  c.stream_key_file = key_file;
  return c;
}

TEST(RunNode, AStreamKeyIsReadTrimmedAndCheckedForItsListener) {
  test::TempDir dir;
  EXPECT_EQ(*read_stream_key(NodeConfig{}), ""); // no key file: no key
  EXPECT_EQ(*read_stream_key(pushing(dir.write("k", "  s3cret\n"), false)), "s3cret");
  EXPECT_EQ(*read_stream_key(pushing(dir.write("srt", "0123456789\n"), true)), "0123456789");
  struct Case {
    const char* name;
    std::string content;
    bool srt;
    const char* message;
  } cases[] = {
      {"empty", "\n", false, "1-256 characters"},
      {"too long for RTMP", std::string(257, 'k'), false, "1-256 characters"},
      {"too short for an SRT passphrase", "short", true, "10-79 characters"},
      {"too long for an SRT passphrase", std::string(80, 'k'), true, "10-79 characters"},
      {"a URL character", "key?x=1", false, "none of & ? / #"},
      {"a space inside", "two words", false, "none of & ? / #"},
      {"the stream's own name", "show", false, "must differ from the stream's name"},
  };
  for (const auto& c : cases) {
    auto r = read_stream_key(pushing(dir.write("bad", c.content), c.srt));
    ASSERT_FALSE(r) << c.name;
    EXPECT_NE(r.error().message.find(c.message), std::string::npos) << c.name << ": " << r.error().message;
  }
  NodeConfig no_listener;
  no_listener.stream_key_file = dir.write("k2", "s3cret");
  auto r = read_stream_key(no_listener);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("needs --rtmp-listen or --srt-listen"), std::string::npos) << r.error().message;
  r = read_stream_key(pushing(dir.file("missing"), false));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("--stream-key-file"), std::string::npos) << r.error().message;
}

TEST(RunNode, TheApiTokenComesFromItsFileOrIsFreshAndPrivate) {
  test::TempDir dir;
  EXPECT_EQ(*api_token(dir.write("t", " 0123456789abcdef \n"), dir.path().string(), false), "0123456789abcdef");
  auto short_token = api_token(dir.write("s", "short"), dir.path().string(), true);
  ASSERT_FALSE(short_token);
  EXPECT_NE(short_token.error().message.find("16+ characters"), std::string::npos);
  // Off loopback a fresh token is refused: remote clients could not know it.
  auto remote = api_token("", dir.path().string(), false);
  ASSERT_FALSE(remote);
  EXPECT_NE(remote.error().message.find("needs --api-token-file"), std::string::npos);
  // On loopback: 32 random bytes in hex, in DATA_DIR/api-token, readable by its owner only, new each start.
  auto first = api_token("", dir.path().string(), true);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->size(), 64u);
  auto path = dir.path() / "api-token";
  EXPECT_EQ(std::filesystem::status(path).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  auto second = api_token("", dir.path().string(), true);
  ASSERT_TRUE(second);
  EXPECT_NE(*first, *second);
}

} // namespace
} // namespace openstreaming::daemon
