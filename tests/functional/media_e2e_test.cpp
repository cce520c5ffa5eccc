// Live media end to end with real processes: a broadcaster (testsrc or an RTMP
// push from the ffmpeg CLI), three relays in a line, a viewer at the end; the
// viewer's HLS output is checked with ffprobe/ffmpeg. Also tampering and bad
// input. Every process is killed by PID when its object dies.
#include "core/keystore.h"
#include "core/random.h"
#include "support/node_process.h"
#include "support/wait.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <netinet/in.h>
#include <set>
#include <sstream>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

namespace openstreaming {
namespace {

using nlohmann::json;
using test::NodeProcess;
using test::NodeSpec;
using test::wait_until;

constexpr const char* kStallToml =
    "[timing]\nping_interval_ms = 300\nidle_timeout_ms = 3000\nhandshake_timeout_ms = 3000\n"
    "reconnect_base_ms = 200\nreconnect_max_ms = 2000\nstream_stall_ms = 3000\n";

// A TCP port that was free a moment ago (for the RTMP listener, whose port the
// publisher must know in advance).
uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof(a);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// Runs an ffmpeg publisher, retrying while the node's listener (opened on its
// ingest thread just after startup) is not there yet.
test::RunResult push_when_listening(const std::vector<std::string>& push, std::chrono::seconds timeout,
                                    bool retry_any_failure) {
  test::RunResult pushed;
  for (int attempt = 0; attempt < 20; ++attempt) {
    pushed = test::run(push, {}, timeout);
    bool not_there = retry_any_failure || pushed.err.find("Connection refused") != std::string::npos;
    if (pushed.exit_code == 0 || !not_there) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  return pushed;
}

// The stream named `name` in a node's /api/streams, or null.
json stream_of(const NodeProcess& n, const std::string& name) {
  auto list = n.get_json("/api/streams");
  if (!list.is_array()) return nullptr;
  for (const auto& s : list) {
    if (s["name"] == name) return s;
  }
  return nullptr;
}

uint64_t parts_received(const NodeProcess& n, const std::string& name) {
  auto s = stream_of(n, name);
  return s.is_null() ? 0 : s["stats"]["parts_received"].get<uint64_t>();
}

struct PlaylistEntry {
  uint64_t sequence;
  double duration;
};

std::vector<PlaylistEntry> segments_of(const std::string& playlist) {
  std::vector<PlaylistEntry> out;
  // "#EXTINF:<duration>,\nseg_<sequence>.ts" pairs (no <regex>: GCC 12 warns inside it).
  std::size_t at = 0;
  while ((at = playlist.find("#EXTINF:", at)) != std::string::npos) {
    double duration = 0;
    unsigned long long sequence = 0;
    char dot = 0;
    if (std::sscanf(playlist.c_str() + at, "#EXTINF:%lf,\nseg_%llu%c", &duration, &sequence, &dot) == 3 && dot == '.')
      out.push_back({sequence, duration});
    at += 8;
  }
  return out;
}

// A broadcaster, `relays` relays in a line, and a viewer watching "show".
struct Line {
  test::TempDir dir;
  std::vector<std::unique_ptr<NodeProcess>> nodes; // [0] broadcaster ... [n-1] viewer

  Line(std::vector<std::string> broadcaster_args, std::size_t relays,
       std::map<std::size_t, std::vector<std::string>> extra = {}) {
    for (std::size_t i = 0; i < relays + 2; ++i) {
      NodeSpec spec;
      spec.peer_exchange = false;
      spec.config_toml = kStallToml;
      if (i > 0) spec.bootstrap = {nodes[i - 1]->p2p()};
      if (i == 0) spec.extra_args = broadcaster_args;
      if (i == relays + 1) spec.extra_args = {"--watch", "show", "--role", "viewer"};
      if (auto it = extra.find(i); it != extra.end())
        spec.extra_args.insert(spec.extra_args.end(), it->second.begin(), it->second.end());
      nodes.push_back(std::make_unique<NodeProcess>(dir, "n" + std::to_string(i), 700 + i, spec));
      nodes.back()->start();
    }
  }
  NodeProcess& broadcaster() { return *nodes.front(); }
  NodeProcess& viewer() { return *nodes.back(); }
};

// Checks the viewer's ended playlist against the first relay's: the same
// segments from where the viewer joined to the end, each decoding without a
// single error, durations adding up to what ffprobe reads through the playlist.
void expect_complete_playable(Line& line) {
  NodeProcess& v = line.viewer();
  auto vs = stream_of(v, "show");
  ASSERT_FALSE(vs.is_null());
  std::string base = "/hls/" + vs["id"].get<std::string>() + "/source/";
  auto pl = test::http_get(v.api(), base + "index.m3u8");
  ASSERT_EQ(pl.status, 200) << pl.body;
  EXPECT_NE(pl.body.find("#EXT-X-ENDLIST"), std::string::npos) << pl.body;
  auto segs = segments_of(pl.body);
  ASSERT_GE(segs.size(), 3u) << pl.body;
  for (std::size_t i = 1; i < segs.size(); ++i) EXPECT_EQ(segs[i].sequence, segs[i - 1].sequence + 1) << pl.body;

  auto first_relay = segments_of(test::http_get(line.nodes[1]->api(), base + "index.m3u8").body);
  ASSERT_FALSE(first_relay.empty());
  EXPECT_EQ(segs.back().sequence, first_relay.back().sequence) << "the viewer lacks the last segment";

  double total = 0;
  for (const auto& s : segs) {
    total += s.duration;
    auto seg = test::http_get(v.api(), base + "seg_" + std::to_string(s.sequence) + ".ts");
    ASSERT_EQ(seg.status, 200);
    std::string file = line.dir.write("seg_" + std::to_string(s.sequence) + ".ts", seg.body);
    auto decode = test::run({"ffmpeg", "-v", "error", "-i", file, "-f", "null", "-"});
    EXPECT_EQ(decode.exit_code, 0) << decode.err;
    EXPECT_EQ(decode.err, "") << "segment " << s.sequence << " has decode errors";
    auto probe = test::run({"ffprobe", "-v", "error", "-show_entries", "format=duration:stream=codec_name,width,height",
                            "-of", "json", file});
    ASSERT_EQ(probe.exit_code, 0) << probe.err;
    auto pj = json::parse(probe.out);
    std::set<std::string> codecs;
    for (const auto& st : pj["streams"]) codecs.insert(st["codec_name"].get<std::string>());
    EXPECT_EQ(codecs, (std::set<std::string>{"h264", "aac"})) << "segment " << s.sequence << ": picture and tone";
    EXPECT_NEAR(std::stod(pj["format"]["duration"].get<std::string>()), s.duration, 0.1) << "segment " << s.sequence;
  }
  // ffprobe through the playlist itself, as a player would read it.
  auto probe = test::run({"ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "json",
                          "http://" + v.api() + base + "index.m3u8"});
  ASSERT_EQ(probe.exit_code, 0) << probe.err;
  double probed = std::stod(json::parse(probe.out)["format"]["duration"].get<std::string>());
  EXPECT_NEAR(probed, total, 0.15);
  EXPECT_EQ(vs["stats"]["parts_invalid"], 0);
}

TEST(MediaE2e, TestsrcThroughThreeRelaysPlaysCompletely) {
  Line line({"--ingest", "testsrc", "--stream", "show"}, 3);
  // Flowing to the viewer: about 4 segments' worth, then the broadcaster stops.
  ASSERT_TRUE(wait_until([&] { return parts_received(line.viewer(), "show") >= 16; }, std::chrono::seconds(40)))
      << line.viewer().process().err();
  auto live = stream_of(line.viewer(), "show");
  EXPECT_EQ(live["status"], "live");
  EXPECT_EQ(live["hops"], 4);
  EXPECT_EQ(live["broadcaster"], line.broadcaster().address().to_checksum_hex());
  EXPECT_EQ(live["announcement"]["kind"], 30311);
  EXPECT_GT(live["stats"]["latency_ms"]["p50"].get<double>(), 0.0);
  EXPECT_EQ(line.broadcaster().stop(), 0) << line.broadcaster().last_err().substr(
      line.broadcaster().last_err().size() > 6000 ? line.broadcaster().last_err().size() - 6000 : 0);
  ASSERT_TRUE(
      wait_until([&] { return stream_of(line.viewer(), "show")["status"] == "ended"; }, std::chrono::seconds(15)));
  EXPECT_EQ(stream_of(line.viewer(), "show")["end_reason"], "ended"); // said by the broadcaster, not guessed
  expect_complete_playable(line);
}

TEST(MediaE2e, RtmpPushThroughThreeRelaysPlaysCompletely) {
  std::string rtmp = "127.0.0.1:" + std::to_string(free_port());
  Line line({"--rtmp-listen", rtmp, "--stream", "show"}, 3);
  ASSERT_TRUE(line.broadcaster().process().wait_for_line("listening rtmp", std::chrono::seconds(5)));
  // The publisher: ffmpeg with a generated picture and tone, 10 s in real time.
  std::vector<std::string> push = {"ffmpeg",
                                   "-v",
                                   "error",
                                   "-re",
                                   "-f",
                                   "lavfi",
                                   "-i",
                                   "testsrc2=size=320x240:rate=25",
                                   "-f",
                                   "lavfi",
                                   "-i",
                                   "sine=frequency=440",
                                   "-t",
                                   "10",
                                   "-c:v",
                                   "libx264",
                                   "-preset",
                                   "veryfast",
                                   "-g",
                                   "25",
                                   "-c:a",
                                   "aac",
                                   "-f",
                                   "flv",
                                   "rtmp://" + rtmp + "/live/show"};
  test::RunResult pushed = push_when_listening(push, std::chrono::seconds(40), /*retry_any_failure=*/false);
  ASSERT_EQ(pushed.exit_code, 0) << pushed.err;
  ASSERT_TRUE(
      wait_until([&] { return stream_of(line.viewer(), "show")["status"] == "ended"; }, std::chrono::seconds(15)))
      << line.broadcaster().process().err();
  EXPECT_GE(parts_received(line.viewer(), "show"), 12u);
  EXPECT_EQ(stream_of(line.viewer(), "show")["end_reason"], "ended"); // the publisher leaving ends the broadcast
  expect_complete_playable(line);
}

// hls.js (low-latency mode) in Debian's headless Chromium plays what a viewer
// node serves; a screenshot of the player is kept in BUILD/artifacts.
TEST(MediaE2e, HlsJsPlaysTheViewersStreamInChromium) {
  Line line({"--ingest", "testsrc", "--stream", "show"}, 1);
  ASSERT_TRUE(wait_until([&] { return parts_received(line.viewer(), "show") >= 8; }, std::chrono::seconds(40)));
  std::filesystem::create_directories(OPENSTREAMING_ARTIFACTS_DIR);
  std::string shot = std::string(OPENSTREAMING_ARTIFACTS_DIR) + "/hls_player.png";
  auto r = test::run({"node", std::string(OPENSTREAMING_BROWSER_DIR) + "/hls_play.mjs",
                      "http://" + line.viewer().api() + "/hls/show/source/index.m3u8", shot, "3"},
                     {}, std::chrono::seconds(90));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto j = json::parse(r.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.out;
  EXPECT_EQ(j["ok"], true);
  EXPECT_GE(j["advanced_s"].get<double>(), 3.0);
  EXPECT_EQ(j["width"], 640);
  // hls.js ran as a low-latency player: it read the playlist's parts.
  EXPECT_EQ(j["low_latency"], true);
  EXPECT_GT(j["parts"].get<int>(), 0) << r.out;
  std::cout << "[ measured ] hls.js live latency " << j["latency_s"] << " s, " << j["parts"] << " parts listed\n";
  EXPECT_TRUE(std::filesystem::exists(shot));
}

TEST(MediaE2e, SrtPushReachesAViewer) {
  uint16_t port = 0;
  { // SRT runs over UDP: find a free UDP port
    int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
    ::close(fd);
  }
  std::string srt = "127.0.0.1:" + std::to_string(port);
  Line line({"--srt-listen", srt, "--stream", "show"}, 1);
  ASSERT_TRUE(line.broadcaster().process().wait_for_line("listening srt", std::chrono::seconds(5)));
  std::vector<std::string> push = {"ffmpeg",      "-v",       "error", "-re",
                                   "-f",          "lavfi",    "-i",    "testsrc2=size=320x240:rate=25",
                                   "-f",          "lavfi",    "-i",    "sine=frequency=440",
                                   "-t",          "6",        "-c:v",  "libx264",
                                   "-preset",     "veryfast", "-g",    "25",
                                   "-c:a",        "aac",      "-f",    "mpegts",
                                   "srt://" + srt};
  test::RunResult pushed =
      push_when_listening(push, std::chrono::seconds(30), /*retry_any_failure=*/true); // SRT says no more than "failed"
  ASSERT_EQ(pushed.exit_code, 0) << pushed.err;
  ASSERT_TRUE(
      wait_until([&] { return stream_of(line.viewer(), "show")["status"] == "ended"; }, std::chrono::seconds(15)))
      << line.broadcaster().process().err();
  EXPECT_GE(parts_received(line.viewer(), "show"), 8u);
  EXPECT_EQ(stream_of(line.viewer(), "show")["end_reason"], "ended");
  expect_complete_playable(line);
}

TEST(MediaE2e, TamperingRelayIsRejectedAndTheViewerNeverServesItsParts) {
  // b - r1 - r2 (flips bytes) - r3 - viewer
  Line line({"--ingest", "testsrc", "--stream", "show"}, 3, {{2, {"--misbehave", "corrupt:1"}}});
  NodeProcess& r3 = *line.nodes[3];
  // Three bad parts make r2 hostile to r3: disconnected and shunned (it cannot come back).
  ASSERT_TRUE(wait_until([&] { return r3.metric("openstreaming_parts_invalid_total") >= 3; }, std::chrono::seconds(40)))
      << r3.process().err();
  ASSERT_TRUE(wait_until([&] { return r3.metric("openstreaming_disconnects_total", {"reason=\"shunned\""}) >= 1; },
                         std::chrono::seconds(10)));
  std::this_thread::sleep_for(std::chrono::seconds(2)); // r2 keeps trying; r3 keeps refusing
  auto s = stream_of(r3, "show");
  EXPECT_EQ(s["stats"]["parts_received"], 0);
  EXPECT_EQ(s["stats"]["parts_invalid"].get<int>(), 3);
  EXPECT_EQ(parts_received(line.viewer(), "show"), 0u);
  auto id = stream_of(line.viewer(), "show")["id"].get<std::string>();
  EXPECT_EQ(test::http_get(line.viewer().api(), "/hls/" + id + "/source/index.m3u8").status, 404);
  EXPECT_EQ(test::http_get(line.viewer().api(), "/hls/" + id + "/source/seg_1.ts").status, 404);
  EXPECT_EQ(test::http_get(line.viewer().api(), "/hls/" + id + "/source/seg_1.0.ts").status, 404);
  // The honest relay before the liar got everything.
  EXPECT_GE(parts_received(*line.nodes[1], "show"), 3u);
  EXPECT_EQ(stream_of(*line.nodes[1], "show")["stats"]["parts_invalid"], 0);
  EXPECT_NE(r3.process().err().find("invalid part"), std::string::npos);
}

TEST(MediaE2e, KilledBroadcasterEndsTheStreamCleanlyForViewers) {
  Line line({"--ingest", "testsrc", "--stream", "show"}, 1);
  ASSERT_TRUE(wait_until([&] { return parts_received(line.viewer(), "show") >= 12; }, std::chrono::seconds(40)));
  line.broadcaster().kill9();
  ASSERT_TRUE(
      wait_until([&] { return stream_of(line.viewer(), "show")["status"] == "ended"; }, std::chrono::seconds(15)));
  auto s = stream_of(line.viewer(), "show");
  EXPECT_EQ(s["end_reason"], "stalled");
  auto pl = test::http_get(line.viewer().api(), "/hls/" + s["id"].get<std::string>() + "/source/index.m3u8");
  ASSERT_EQ(pl.status, 200);
  EXPECT_NE(pl.body.find("#EXT-X-ENDLIST"), std::string::npos);
  EXPECT_GE(segments_of(pl.body).size(), 2u);
  // Still serving, still healthy.
  EXPECT_EQ(test::http_get(line.viewer().api(), "/api/status").status, 200);
  EXPECT_EQ(line.viewer().stop(), 0);
}

TEST(MediaE2e, RtmpGarbageIsSurvivedAndARealPushStillWorks) {
  std::string rtmp = "127.0.0.1:" + std::to_string(free_port());
  Line line({"--rtmp-listen", rtmp, "--stream", "show"}, 0);
  auto colon = rtmp.rfind(':');
  uint16_t port = static_cast<uint16_t>(std::stoi(rtmp.substr(colon + 1)));
  // A client that connects and sends garbage instead of an RTMP handshake.
  bool sent = wait_until(
      [&] {
        int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons(port);
        bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
        if (ok) {
          std::string junk(4096, '\x5a');
          junk[0] = 0x03; // looks like RTMP version 3, then nonsense
          ok = ::send(fd, junk.data(), junk.size(), MSG_NOSIGNAL) > 0;
        }
        ::close(fd);
        return ok;
      },
      std::chrono::seconds(10));
  ASSERT_TRUE(sent);
  ASSERT_TRUE(
      wait_until([&] { return line.broadcaster().process().err().find("listening again") != std::string::npos; },
                 std::chrono::seconds(20)))
      << line.broadcaster().process().err();
  EXPECT_EQ(test::http_get(line.broadcaster().api(), "/api/status").status, 200);
  // A real publisher afterwards is served.
  std::vector<std::string> push = {
      "ffmpeg",  "-v",      "error",    "-re", "-f", "lavfi", "-i",  "testsrc2=size=320x240:rate=25", "-t", "5", "-c:v",
      "libx264", "-preset", "veryfast", "-g",  "25", "-f",    "flv", "rtmp://" + rtmp + "/live/show"};
  test::RunResult pushed = push_when_listening(push, std::chrono::seconds(30), /*retry_any_failure=*/false);
  ASSERT_EQ(pushed.exit_code, 0) << pushed.err;
  ASSERT_TRUE(
      wait_until([&] { return stream_of(line.viewer(), "show")["status"] == "ended"; }, std::chrono::seconds(15)));
  EXPECT_GE(parts_received(line.viewer(), "show"), 6u);
}

// `openstreaming node --ingest FILE` on a file that cannot be broadcast: exit 2, one clear line.
test::RunResult ingest_file(const test::TempDir& dir, const std::string& file) {
  core::DeterministicRandom rng(5);
  auto key = core::PrivateKey::generate(rng);
  std::string key_file = dir.write("bad.key.json", core::keystore::encrypt(key, "test", rng, {1024, 8, 1}));
  test::SpawnOptions opts;
  opts.env["OPENSTREAMING_PASSWORD"] = "test";
  return test::run({OPENSTREAMING_BIN, "node", "--key", key_file, "--data-dir", dir.file("data"), "--ingest", file,
                    "--stream", "bad"},
                   opts, std::chrono::seconds(60));
}

TEST(MediaE2e, InputsThatCannotBeBroadcastFailWithAClearError) {
  test::TempDir dir;
  std::string text = dir.write("notes.txt", "this is not a video\n");
  auto r = ingest_file(dir, text);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("error: ingest: "), std::string::npos) << r.err;

  std::string audio = dir.file("tone.m4a");
  ASSERT_EQ(
      test::run({"ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=440", "-t", "1", "-y", audio}).exit_code,
      0);
  r = ingest_file(dir, audio);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("has no video stream"), std::string::npos) << r.err;

  // H.264 with every IDR slice removed: nothing can ever be decoded.
  std::string no_key = dir.file("nokey.ts");
  ASSERT_EQ(test::run({"ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30", "-t", "3", "-c:v",
                       "libx264", "-g", "30", "-bsf:v", "filter_units=remove_types=5", "-f", "mpegts", "-y", no_key})
                .exit_code,
            0);
  r = ingest_file(dir, no_key);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("no keyframe"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("AddressSanitizer"), std::string::npos);

  r = ingest_file(dir, dir.file("missing.mp4"));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("cannot open input"), std::string::npos) << r.err;
}

} // namespace
} // namespace openstreaming
