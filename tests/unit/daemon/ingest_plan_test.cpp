// What a broadcaster ingests, by configuration: the source URL, FFmpeg's input
// options, pacing, and whether an ingest error ends the stream or listens again.
#include "daemon/ingest_plan.h"

#include <gtest/gtest.h>

namespace openstreaming::daemon {
namespace {

TEST(IngestPlan, EachSourceKind) {
  struct Case {
    const char* name;
    void (*set)(NodeConfig&);
    const char* source;
    std::map<std::string, std::string> input_options;
    bool realtime, push, listen_again;
  };
  const Case cases[] = {
      {.name = "testsrc",
       .set = [](NodeConfig& c) { c.ingest = "testsrc"; },
       .source = "testsrc",
       .input_options = {},
       .realtime = true,
       .push = false,
       .listen_again = false},
      {.name = "a file",
       .set = [](NodeConfig& c) { c.ingest = "/media/talk.mp4"; },
       .source = "/media/talk.mp4",
       .input_options = {},
       .realtime = true,
       .push = false,
       .listen_again = false},
      {.name = "a URL paces itself",
       .set = [](NodeConfig& c) { c.ingest = "http://camera.local/live.ts"; },
       .source = "http://camera.local/live.ts",
       .input_options = {},
       .realtime = false,
       .push = false,
       .listen_again = false},
      {.name = "RTMP listener",
       .set = [](NodeConfig& c) { c.rtmp_listen = "127.0.0.1:1935"; },
       .source = "rtmp://127.0.0.1:1935/live/main",
       .input_options = {{"listen", "1"}},
       .realtime = false,
       .push = true,
       .listen_again = true},
      {.name = "SRT listener",
       .set = [](NodeConfig& c) { c.srt_listen = "0.0.0.0:9000"; },
       .source = "srt://0.0.0.0:9000?mode=listener",
       .input_options = {},
       .realtime = false,
       .push = true,
       .listen_again = true},
  };
  for (const Case& k : cases) {
    NodeConfig c;
    c.stream = "main";
    k.set(c);
    EXPECT_TRUE(is_broadcasting(c)) << k.name;
    IngestPlan p = ingest_plan(c);
    EXPECT_EQ(p.options.source, k.source) << k.name;
    EXPECT_EQ(p.options.input_options, k.input_options) << k.name;
    EXPECT_EQ(p.options.realtime, k.realtime) << k.name;
    EXPECT_EQ(p.options.push, k.push) << k.name;
    EXPECT_EQ(p.listen_again_on_error, k.listen_again) << k.name;
    // Everything else is the ingest's own default.
    const media::IngestOptions d;
    EXPECT_EQ(p.options.segment_s, d.segment_s) << k.name;
    EXPECT_EQ(p.options.part_s, d.part_s) << k.name;
    EXPECT_EQ(p.options.bitrate_kbps, d.bitrate_kbps) << k.name;
  }
}

TEST(IngestPlan, TheStreamKeyGuardsPushListenersOnly) {
  NodeConfig c;
  c.stream = "main";
  c.rtmp_listen = "127.0.0.1:1935";
  IngestPlan rtmp = ingest_plan(c, "s3cret-key");
  EXPECT_EQ(rtmp.options.stream_key, "s3cret-key");
  EXPECT_EQ(rtmp.options.source, "rtmp://127.0.0.1:1935/live/main"); // the key is not in the URL
  EXPECT_FALSE(rtmp.options.input_options.count("passphrase"));
  c.rtmp_listen.clear();
  c.srt_listen = "127.0.0.1:9000";
  IngestPlan srt = ingest_plan(c, "s3cret-key");
  EXPECT_EQ(srt.options.input_options.at("passphrase"), "s3cret-key");
  EXPECT_EQ(ingest_plan(c).options.input_options.count("passphrase"), 0u); // no key, no passphrase
  c.srt_listen.clear();
  c.ingest = "testsrc";
  IngestPlan file = ingest_plan(c, "s3cret-key");
  EXPECT_TRUE(file.options.stream_key.empty());
  EXPECT_TRUE(file.options.input_options.empty());
}

TEST(IngestPlan, ANodeWithoutASourceDoesNotBroadcast) {
  NodeConfig c;
  c.stream = "main"; // a name alone is not a broadcast
  c.watch = {"main"};
  EXPECT_FALSE(is_broadcasting(c));
}

} // namespace
} // namespace openstreaming::daemon
