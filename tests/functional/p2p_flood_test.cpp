// A multi-kind flood against a real node process while an honest viewer
// watches its stream through it: announcements under throwaway keys,
// subscribe churn with resume, acceptances and ticket parameters nobody asked
// for, tickets from a neighbour never charged, signed neighbour states (fresh
// and replayed) and parts with oversized indexes, from a scripted hostile
// peer that comes back with a new identity each time it is cut off. The
// viewer keeps ≥ 99 % of the parts, and the node cuts the flooder off with a
// reason (rate_limited, shunned, or protocol_error for a malformed part) and
// counts what it dropped. The 60 s
// variant with RSS figures is bench/flood (docs/developer-notes.md).
#include "agent/peer_types.h"
#include "core/random.h"
#include "support/hostile_peer.h"
#include "support/http_client.h"
#include "support/node_process.h"
#include "support/wait.h"

#include <gtest/gtest.h>

#include <cinttypes>
#include <cstdio>
#include <thread>

namespace openstreaming {
namespace {

using test::HostilePeer;
using test::NodeProcess;
using test::NodeSpec;
using test::wait_until;
using Clock = std::chrono::steady_clock;

struct ViewerProgress {
  uint64_t received = 0; // distinct parts the viewer took
  uint64_t newest = 0;   // the newest part in its playlist, as segment x parts per segment + part
};

// Parts a stream `name` has per segment: 2 s segments of 0.5 s parts (the ingest defaults).
constexpr uint64_t kPartsPerSegment = 4;

std::optional<ViewerProgress> progress_once(const NodeProcess& viewer, const std::string& name) {
  std::string id;
  ViewerProgress p;
  for (const auto& s : viewer.get_json("/api/streams")) {
    if (s["name"] != name) continue;
    id = s["id"].get<std::string>();
    p.received = s["stats"]["parts_received"].get<uint64_t>();
  }
  if (id.empty()) return std::nullopt;
  auto r = test::http_get(viewer.api(), "/hls/" + id + "/source/index.m3u8");
  if (r.status != 200) return std::nullopt;
  // Parts are listed as seg_SEGMENT.PART.ts (segments as seg_SEGMENT.ts).
  bool any = false;
  for (std::size_t at = r.body.find("seg_"); at != std::string::npos; at = r.body.find("seg_", at + 4)) {
    uint64_t segment = 0, part = 0;
    int used = 0;
    if (std::sscanf(r.body.c_str() + at, "seg_%" SCNu64 ".%" SCNu64 ".ts%n", &segment, &part, &used) != 2 || used == 0)
      continue;
    p.newest = std::max(p.newest, segment * kPartsPerSegment + part);
    any = true;
  }
  if (!any) return std::nullopt;
  return p;
}

uint64_t parts_received(const NodeProcess& viewer, const std::string& name) {
  for (const auto& s : viewer.get_json("/api/streams")) {
    if (s["name"] == name) return s["stats"]["parts_received"].get<uint64_t>();
  }
  return 0;
}

// The count and the playlist are read by two requests: a part arriving between
// them would make the newest part one ahead of the count. A sample is taken only
// when the count did not move across the playlist read, so both describe the
// same moment (one part is 1.5 % of a 30 s window: the race alone could fail it).
std::optional<ViewerProgress> progress_of(const NodeProcess& viewer, const std::string& name) {
  for (int attempt = 0; attempt < 20; ++attempt) {
    auto p = progress_once(viewer, name);
    if (!p) return p;
    if (parts_received(viewer, name) == p->received) return p;
  }
  return std::nullopt;
}

TEST(P2pFlood, AMultiKindFloodLeavesTheHonestViewerWholeAndTheFlooderCutOff) {
  test::TempDir dir;
  test::BroadcasterAndViewer pair(dir, 1701);
  NodeProcess& target = *pair.broadcaster;
  NodeProcess& viewer = *pair.viewer;
  std::optional<ViewerProgress> start;
  ASSERT_TRUE(wait_until(
      [&] {
        start = progress_of(viewer, "show");
        return start && start->received >= 8;
      },
      std::chrono::seconds(40)))
      << "the stream never flowed";

  core::DeterministicRandom rng(1703);
  uint64_t sessions = 0, cut_off = 0, frames = 0;
  std::map<uint32_t, uint64_t> reasons;
  const auto flood_for = std::chrono::seconds(30);
  const auto end = Clock::now() + flood_for;
  while (Clock::now() < end) {
    std::unique_ptr<HostilePeer> peer;
    try {
      peer = std::make_unique<HostilePeer>(core::PrivateKey::generate(rng), target.p2p());
    } catch (const std::exception&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100)); // refused: come back as someone else
      continue;
    }
    ++sessions;
    core::StreamId own = peer->announce("mine", 1'700'000'000);
    pay::TicketParams params;
    params.recipient = target.address();
    params.face_value = core::U256(1'000'000'000'000'000ULL);
    params.win_prob = pay::max_win_prob();
    for (uint64_t k = 1; !peer->closed() && Clock::now() < end; ++k) {
      peer->announce_for(core::PrivateKey::generate(rng), "spam" + std::to_string(frames), 1'700'000'000);
      peer->subscribe(own, /*resume=*/true);
      peer->subscribe_result(own, true, "1000000000000000000");
      peer->ticket_params(params);
      peer->tickets(params, 4);
      peer->state(k, 1'000'000); // a fresh state: one signature check each, rate-limited
      peer->state(1, 1'000'000); // a replay: no signature check
      // An index no producer uses is a malformed part: sent now and then, so
      // that the rate limits and the unsolicited-frame rule get their turn.
      if (k % 40 == 0) peer->part(own, 0, static_cast<uint32_t>(1000 + k), 1000, 0);
      frames += 8;
      if (k % 10 == 0) peer->pump(std::chrono::milliseconds(5));
    }
    peer->pump(std::chrono::milliseconds(200));
    if (peer->closed()) {
      ++cut_off;
      if (peer->disconnect_reason()) ++reasons[*peer->disconnect_reason()];
    }
  }
  // Let the viewer take what was in flight, then compare over the whole window.
  std::this_thread::sleep_for(std::chrono::seconds(3));
  auto finish = progress_of(viewer, "show");
  ASSERT_TRUE(finish);
  const uint64_t produced = finish->newest - start->newest;
  const uint64_t received = finish->received - start->received;
  ASSERT_GE(produced, 50u) << "the stream stalled";
  const double continuity = static_cast<double>(received) / static_cast<double>(produced);
  EXPECT_GE(continuity, 0.99) << received << " of " << produced << " parts during the flood";
  RecordProperty("continuity", std::to_string(continuity));

  // The flooder was cut off, each time with a reason, and what it sent was counted.
  EXPECT_GE(cut_off, 1u) << sessions << " sessions, " << frames << " frames, never cut off";
  uint64_t with_reason = 0;
  for (const auto& [reason, n] : reasons) {
    EXPECT_TRUE(reason == static_cast<uint32_t>(agent::DisconnectReason::rate_limited) ||
                reason == static_cast<uint32_t>(agent::DisconnectReason::shunned) ||
                reason == static_cast<uint32_t>(agent::DisconnectReason::protocol_error))
        << "cut off for reason " << reason;
    with_reason += n;
  }
  // A cut-off seen as a failed write has no Disconnect frame read; the node counted each one.
  EXPECT_GE(with_reason, 1u) << "no Disconnect with a reason";
  // The node counted a reason for every cut-off: any local reason (a session
  // cut while its handshake or idle timer ran out counts too; one full run in
  // three had a cut-off outside the three reasons below).
  const double local = target.metric("openstreaming_disconnects_total", {"initiator=\"local\""});
  EXPECT_GE(local, static_cast<double>(cut_off)) << "cut off without a reason:\n" << target.metrics();
  for (const char* reason : {"rate_limited", "shunned", "protocol_error"})
    std::printf("cut off as %s: %.0f\n", reason,
                target.metric("openstreaming_disconnects_total",
                              {std::string("reason=\"") + reason + "\"", "initiator=\"local\""}));
  EXPECT_GT(target.metric("openstreaming_frames_rate_limited_total"), 0);
  EXPECT_GT(target.metric("openstreaming_frames_unsolicited_total"), 0);
  EXPECT_GT(target.metric("openstreaming_states_stale_total"), 0);
  EXPECT_LE(target.get_json("/api/streams").size(), 256u);
  // The honest viewer is still there.
  auto peers = target.peer_addresses();
  EXPECT_NE(std::find(peers.begin(), peers.end(), viewer.address().to_checksum_hex()), peers.end());
  std::printf("flood: %llu sessions, %llu cut off, %llu frames; continuity %.4f (%llu of %llu parts)\n",
              static_cast<unsigned long long>(sessions), static_cast<unsigned long long>(cut_off),
              static_cast<unsigned long long>(frames), continuity, static_cast<unsigned long long>(received),
              static_cast<unsigned long long>(produced));
}

} // namespace
} // namespace openstreaming
