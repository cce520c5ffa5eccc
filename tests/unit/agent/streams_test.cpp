// Media through the node core on the in-memory network: announcements,
// pull-through subscription along a line, verification, playlists.
#include "agent/node.h"
#include "agent/stream_frames.h"
#include "core/hex.h"
#include "support/mem_network.h"
#include "support/swarm.h"

#include <gtest/gtest.h>

#include <wire.pb.h>

namespace openstreaming::agent {
namespace {

using test::MemNetwork;

using test::line_options;
using test::part_info;
using test::publish;

// Publishes part `part` of segment `seg` from node `b`: `size` bytes of seg * 4 + part.
void publish_one(MemNetwork& net, std::size_t b, const core::StreamId& id, int seg, uint32_t part, std::size_t size) {
  publish(net, b, part_info(net, b, id, static_cast<uint64_t>(seg), part), size, static_cast<uint8_t>(seg * 4 + part));
}

// Publishes `segments` 2-second segments of four 0.5 s parts from node `b`.
void broadcast(MemNetwork& net, std::size_t b, const core::StreamId& id, int segments, bool end = true, int first = 0) {
  for (int seg = first; seg < first + segments; ++seg) {
    for (uint32_t part = 0; part < 4; ++part) {
      publish_one(net, b, id, seg, part, 1000 + seg * 10 + part);
      net.run_for(500ms);
    }
  }
  if (end) test::publish_end(net, b, id, static_cast<uint64_t>(first + segments));
  net.run_for(1s);
}

TEST(Streams, PulledThroughALineOfRelaysToAViewer) {
  MemNetwork net(21);
  test::add_line(net, 5);
  net.start_all();
  ASSERT_TRUE(net.run_until([&] { return net.connected(); }, 10s));
  core::StreamId id{};
  net.with(0, [&](Node& n) { id = n.streams().start_stream("show", "The Show", "", net.now()); });
  net.with(4, [&](Node& n) { n.streams().watch("show", net.now()); });
  net.run_for(2s);
  broadcast(net, 0, id, 3);

  const Stream* s = net.node(4).streams().find(id);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->name, "show");
  EXPECT_EQ(s->broadcaster, net.key(0).address());
  EXPECT_EQ(s->stats.parts_received, 13u); // 12 parts + end of stream
  EXPECT_EQ(s->stats.parts_invalid, 0u);
  EXPECT_EQ(s->hops, 4u);
  EXPECT_TRUE(s->ended());
  // 4 hops of 10 ms each: glass-to-glass in the core is the link latency.
  EXPECT_NEAR(s->stats.latency_quantile(0.5), 40.0, 1.0);
  auto playlist = net.node(4).streams().playlist(id);
  ASSERT_TRUE(playlist);
  EXPECT_NE(playlist->find("#EXT-X-TARGETDURATION:2"), std::string::npos);
  EXPECT_NE(playlist->find("seg_0.ts"), std::string::npos);
  EXPECT_NE(playlist->find("seg_2.ts"), std::string::npos);
  EXPECT_NE(playlist->find("#EXT-X-ENDLIST"), std::string::npos);
  auto seg1 = net.node(4).streams().segment_bytes(id, 1);
  ASSERT_TRUE(seg1);
  EXPECT_EQ(seg1->size(), 1010u + 1011 + 1012 + 1013); // the parts, in order, byte for byte
  EXPECT_EQ((*seg1)[0], 4);
  // The relays in between carry it without watching it.
  EXPECT_FALSE(net.node(2).streams().find(id)->wanted);
  EXPECT_EQ(net.node(2).streams().find(id)->stats.parts_received, 13u);
}

// Publishes part `part` of segment `seg` of `rendition` from node `b`, `size` bytes of `fill`.
void publish_rendition(MemNetwork& net, std::size_t b, const core::StreamId& id, const std::string& rendition, int seg,
                       uint32_t part, std::size_t size, uint8_t fill) {
  publish(net, b, part_info(net, b, id, static_cast<uint64_t>(seg), part, rendition), size, fill);
}

TEST(Streams, RenditionsWithTheSameSegmentAndPartAreBothStoredAndServed) {
  // A transcoded rendition beside the source: its parts carry the same
  // (segment, part) numbers and are different parts, not duplicates.
  MemNetwork net(31);
  test::add_line(net, 3);
  net.start_all();
  ASSERT_TRUE(net.run_until([&] { return net.connected(); }, 10s));
  core::StreamId id{};
  net.with(0, [&](Node& n) { id = n.streams().start_stream("show", "t", "", net.now()); });
  net.with(2, [&](Node& n) { n.streams().watch("show", net.now()); });
  net.run_for(2s);
  for (int seg = 0; seg < 3; ++seg) {
    for (uint32_t part = 0; part < (seg < 2 ? 4u : 1u); ++part) {
      publish_rendition(net, 0, id, "source", seg, part, 1000, 1);
      publish_rendition(net, 0, id, "720p", seg, part, 400, 2);
      net.run_for(500ms);
    }
  }
  net.run_for(1s);

  const Stream* s = net.node(2).streams().find(id);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->stats.parts_received, 18u); // 9 parts of each rendition
  EXPECT_EQ(s->stats.parts_invalid, 0u);
  for (int seg = 0; seg < 2; ++seg) {
    for (uint32_t part = 0; part < 4; ++part) {
      auto source = net.node(2).streams().part_bytes(id, seg, part);
      auto low = net.node(2).streams().part_bytes(id, seg, part, "720p");
      ASSERT_TRUE(source && low) << seg << "." << part;
      EXPECT_EQ(source->size, 1000u);
      EXPECT_EQ(source->view()[0], 1);
      EXPECT_EQ(low->size, 400u);
      EXPECT_EQ(low->view()[0], 2);
    }
  }
  auto source_seg = net.node(2).streams().segment_bytes(id, 1);
  auto low_seg = net.node(2).streams().segment_bytes(id, 1, "720p");
  ASSERT_TRUE(source_seg && low_seg);
  EXPECT_EQ(source_seg->size(), 4000u);
  EXPECT_EQ(low_seg->size(), 1600u);
  auto low_playlist = net.node(2).streams().playlist(id, "720p");
  ASSERT_TRUE(low_playlist);
  EXPECT_NE(low_playlist->find("seg_1.ts"), std::string::npos);
  EXPECT_FALSE(net.node(2).streams().playlist(id, "1080p")); // no such rendition here

  // A second copy of a part of one rendition is still a duplicate: the relay
  // takes it in, drops it unstored and forwards nothing.
  const Stream* relayed = net.node(1).streams().find(id);
  ASSERT_NE(relayed, nullptr);
  uint64_t relay_before = relayed->stats.parts_received, viewer_before = s->stats.parts_received;
  uint64_t forwarded_before = relayed->stats.parts_forwarded;
  publish_rendition(net, 0, id, "720p", 2, 0, 400, 2);
  net.run_for(1s);
  EXPECT_EQ(relayed->stats.parts_received, relay_before);
  EXPECT_EQ(relayed->stats.parts_forwarded, forwarded_before);
  EXPECT_EQ(s->stats.parts_received, viewer_before);
  EXPECT_TRUE(s->seen.count(PartKey{"720p", 2, 0}));
  EXPECT_TRUE(s->seen.count(PartKey{"source", 2, 0}));
}

TEST(Streams, CorruptingRelayIsCaughtByTheNextHop) {
  MemNetwork net(22);
  auto b = net.add(line_options(std::nullopt));
  NodeOptions bad = line_options(b);
  bad.misbehave.corrupt = 1.0;
  auto r = net.add(bad);
  auto v = net.add(line_options(r));
  net.start_all();
  ASSERT_TRUE(net.run_until([&] { return net.connected(); }, 10s));
  core::StreamId id{};
  net.with(b, [&](Node& n) { id = n.streams().start_stream("show", "t", "", net.now()); });
  net.with(v, [&](Node& n) { n.streams().watch("show", net.now()); });
  net.run_for(2s);
  broadcast(net, b, id, 2, /*end=*/false);
  const Stream* s = net.node(v).streams().find(id);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->stats.parts_received, 0u);
  // Three invalid parts make the sender hostile: it is disconnected and shunned.
  EXPECT_EQ(s->stats.parts_invalid, 3u);
  EXPECT_EQ(s->invalid_by_neighbour.at(net.key(r).address().to_checksum_hex()), 3u); // blamed on the sender
  EXPECT_FALSE(net.node(v).streams().playlist(id));                                  // nothing served
  EXPECT_EQ(net.node(v).metrics().parts_invalid.at("bad_hash"), 3u);
  EXPECT_EQ(net.node(v).established_count(), 0u);
  EXPECT_TRUE(net.node(v).agent().empathy.shunned(net.key(r).address(), net.node(v).wall_ms(net.now())));
  EXPECT_EQ(net.node(v).metrics().disconnects.count({"shunned", "local"}), 1u);
}

// b - r1 - v and b - r2 - v, connected, with "show" started at b and watched at v.
struct Diamond {
  std::size_t b, r1, r2, v;
  core::StreamId id{};
};
// r1 takes its misbehaviour from r1_options, v its dual-feed setting.
Diamond diamond(MemNetwork& net, const NodeOptions& r1_options = {}) {
  Diamond d;
  d.b = net.add(line_options(std::nullopt));
  NodeOptions o1 = line_options(d.b);
  o1.misbehave = r1_options.misbehave;
  d.r1 = net.add(o1);
  d.r2 = net.add(line_options(d.b));
  NodeOptions vo = line_options(d.r1);
  vo.bootstrap.push_back(MemNetwork::endpoint_of(d.r2));
  vo.agent_config.propagation.dual_feed = r1_options.agent_config.propagation.dual_feed;
  d.v = net.add(vo);
  net.start_all();
  EXPECT_TRUE(net.run_until(
      [&] { return net.node(d.v).established_count() == 2 && net.node(d.b).established_count() == 2; }, 10s));
  net.with(d.b, [&](Node& n) { d.id = n.streams().start_stream("show", "t", "", net.now()); });
  net.with(d.v, [&](Node& n) { n.streams().watch("show", net.now()); });
  net.run_for(2s);
  return d;
}

// Which relay of the diamond v takes the stream from.
std::size_t relay_of(MemNetwork& net, std::size_t v, std::size_t r1, std::size_t r2, ConnId upstream) {
  for (const auto& p : net.node(v).peers(net.now())) {
    if (p.conn == upstream) return p.address == net.key(r1).address() ? r1 : r2;
  }
  ADD_FAILURE() << "v's upstream is not among its peers";
  return r1;
}

TEST(Streams, ReroutesWhenTheUpstreamDies) {
  // Kill the relay v uses; it switches to the other.
  MemNetwork net(23);
  auto [b, r1, r2, v, id] = diamond(net);
  broadcast(net, b, id, 1, false);
  const Stream* s = net.node(v).streams().find(id);
  ASSERT_TRUE(s && s->upstream);
  net.kill(relay_of(net, v, r1, r2, *s->upstream));
  net.run_for(1s);
  uint64_t before = s->stats.parts_received;
  broadcast(net, b, id, 1, false, /*first=*/1);
  EXPECT_EQ(s->stats.parts_received, before + 4);
}

TEST(Streams, ASwitchResumesWhereTheOldUpstreamLeftOff) {
  // Both relays carry the stream (the one v does not use is watching it too).
  // v's relay dies while a part is on its way to it: the other relay gets the
  // part before v has subscribed to it, so only the resume (v subscribes with
  // its newest part, and the relay sends what is newer) brings it to v.
  MemNetwork net(26);
  auto [b, r1, r2, v, id] = diamond(net);
  broadcast(net, b, id, 1, false);
  const Stream* s = net.node(v).streams().find(id);
  ASSERT_TRUE(s && s->upstream);
  std::size_t relay = relay_of(net, v, r1, r2, *s->upstream);
  std::size_t other = relay == r1 ? r2 : r1;
  net.with(other, [&](Node& n) { n.streams().watch("show", net.now()); });
  net.run_for(1s);
  broadcast(net, b, id, 1, false, /*first=*/1);
  ASSERT_TRUE(net.node(other).streams().find(id)->seen.count(PartKey{"source", 1, 3})); // it carries the stream
  uint64_t other_before = net.node(other).streams().find(id)->stats.parts_received;
  uint64_t before = s->stats.parts_received;
  publish_one(net, b, id, 2, 0, 1500);
  net.run_for(5ms); // on its way to both relays
  net.kill(relay);
  net.run_for(500ms);
  EXPECT_EQ(net.node(other).streams().find(id)->stats.parts_received, other_before + 1);
  EXPECT_EQ(s->stats.parts_received, before + 1) << "the part in flight came from the new upstream";
}

TEST(Streams, ANewUpstreamIsDoubledByTheBackupUntilProven) {
  // b - r1 - v and b - r2 - v, r1 dropping half of what it forwards. Whichever
  // relay v starts on, the backup feeds it too while the upstream is new (and
  // while it loses parts): every part plays, each relay is paid for what it sent.
  MemNetwork net(27);
  NodeOptions dropper;
  dropper.misbehave.drop = 0.5;
  dropper.agent_config.propagation.dual_feed = true; // for v (see diamond())
  auto [b, r1, r2, v, id] = diamond(net, dropper);
  broadcast(net, b, id, 1, false); // the route forms
  const Stream* s = net.node(v).streams().find(id);
  ASSERT_TRUE(s && s->upstream);
  EXPECT_TRUE(s->second.has_value()) << "a new upstream is doubled by the backup";
  EXPECT_NE(s->second, s->upstream);
  uint64_t before = s->stats.parts_received;
  broadcast(net, b, id, 3, false, /*first=*/1);
  EXPECT_EQ(s->stats.parts_received, before + 12) << "no part lost to the dropper";
  // Both relays sent to v, and v metered both (it asked both).
  auto served = [&](std::size_t r) { return net.node(r).streams().find(id)->stats.parts_forwarded; };
  EXPECT_GT(served(r1) + served(r2), 12u);
}

TEST(Streams, CorruptUpstreamIsLeftForTheBackup) {
  // b - bad - v and b - good - v: v may start on either; after the first bad
  // part from `bad` it takes the other and the stream plays.
  MemNetwork net(24);
  NodeOptions bad;
  bad.misbehave.corrupt = 1.0;
  auto [b, r1, r2, v, id] = diamond(net, bad);
  broadcast(net, b, id, 3, true);
  const Stream* s = net.node(v).streams().find(id);
  ASSERT_NE(s, nullptr);
  EXPECT_LE(s->stats.parts_invalid, 1u); // at most the one that gave `bad` away
  EXPECT_GE(s->stats.parts_received, 12u);
  auto playlist = net.node(v).streams().playlist(id);
  ASSERT_TRUE(playlist);
  EXPECT_NE(playlist->find("seg_2.ts"), std::string::npos);
}

// Nodes bootstrapped as `boot` says (node 0 the broadcaster), a 4 s stall
// timeout, a viewer at `viewer`, and two segments of stream through to it.
void start_flowing(MemNetwork& net, const std::vector<std::optional<std::size_t>>& boot, std::size_t viewer,
                   core::StreamId& id) {
  for (auto b : boot) {
    NodeOptions o = line_options(b);
    o.stream_stall_timeout = 4s;
    net.add(o);
  }
  net.start_all();
  ASSERT_TRUE(net.run_until([&] { return net.connected(); }, 10s));
  net.with(0, [&](Node& n) { id = n.streams().start_stream("show", "t", "", net.now()); });
  net.with(viewer, [&](Node& n) { n.streams().watch("show", net.now()); });
  net.run_for(2s);
  broadcast(net, 0, id, 2, /*end=*/false);
}

TEST(Streams, KilledBroadcasterEndsTheStreamForViewers) {
  MemNetwork net(25);
  core::StreamId id{};
  ASSERT_NO_FATAL_FAILURE(start_flowing(net, {std::nullopt, 0, 1}, 2, id));
  const Stream* s = net.node(2).streams().find(id);
  ASSERT_NE(s, nullptr);
  EXPECT_FALSE(s->ended());
  auto live = net.node(2).streams().playlist(id);
  ASSERT_TRUE(live);
  EXPECT_EQ(live->find("#EXT-X-ENDLIST"), std::string::npos);
  net.kill(0);
  net.run_for(6s);
  EXPECT_TRUE(s->ended());
  EXPECT_STREQ(end_reason_name(s->end_reason), "stalled");
  EXPECT_FALSE(s->subscribed);
  auto over = net.node(2).streams().playlist(id);
  ASSERT_TRUE(over);
  EXPECT_NE(over->find("seg_1.ts"), std::string::npos); // the last segment is closed, not lost
  EXPECT_NE(over->find("#EXT-X-ENDLIST"), std::string::npos);
  EXPECT_TRUE(net.node(1).streams().find(id)->ended()); // the relay too
}

// A relay whose only subscriber left while parts still came stops pulling the
// stream, and must not take the silence that follows for a dead broadcaster:
// the next subscriber gets parts at once (before, the relay ended the stream as
// "stalled" and could not serve until the next announcement, up to 10 s later).
TEST(Streams, ARelayWhoseSubscribersLeftServesTheNextOneAtOnce) {
  MemNetwork net(27);
  core::StreamId id{};
  ASSERT_NO_FATAL_FAILURE(start_flowing(net, {std::nullopt, 0, 1, 1}, 2, id)); // b - r - {v1, v2}
  const Stream* relayed = net.node(1).streams().find(id);
  ASSERT_NE(relayed, nullptr);
  EXPECT_GT(relayed->stats.parts_received, 0u);
  net.kill(2);                                          // the only viewer goes; the relay unsubscribes
  broadcast(net, 0, id, 2, /*end=*/false, /*first=*/2); // 4 s of stream nobody below asks for
  net.run_for(2s);
  EXPECT_FALSE(relayed->ended()) << end_reason_name(relayed->end_reason);
  net.with(3, [&](Node& n) { n.streams().watch("show", net.now()); });
  net.run_for(1s);
  broadcast(net, 0, id, 1, /*end=*/false, /*first=*/4);
  const Stream* second = net.node(3).streams().find(id);
  ASSERT_NE(second, nullptr);
  EXPECT_GE(second->stats.parts_received, 3u); // the segment after it asked came through
  EXPECT_FALSE(relayed->ended());
}

TEST(Streams, LivePlaylistListsPartsAsTheyArrive) {
  MemNetwork net(26);
  auto b = net.add(line_options(std::nullopt));
  auto v = net.add(line_options(b));
  net.start_all();
  ASSERT_TRUE(net.run_until([&] { return net.connected(); }, 10s));
  core::StreamId id{};
  net.with(b, [&](Node& n) { id = n.streams().start_stream("show", "t", "", net.now()); });
  net.with(v, [&](Node& n) { n.streams().watch("show", net.now()); });
  net.run_for(2s);
  broadcast(net, b, id, 1, false);
  // Two parts of the next segment: listed as LL-HLS parts before the segment completes.
  broadcast(net, b, id, 0, false);
  for (uint32_t part = 0; part < 2; ++part) publish(net, b, part_info(net, b, id, 1, part), 100, 7);
  net.run_for(1s);
  auto playlist = net.node(v).streams().playlist(id);
  ASSERT_TRUE(playlist);
  EXPECT_NE(playlist->find("#EXT-X-PART-INF:PART-TARGET=0.500"), std::string::npos) << *playlist;
  EXPECT_NE(playlist->find("#EXTINF:2.000,\nseg_0.ts"), std::string::npos) << *playlist;
  EXPECT_NE(playlist->find("URI=\"seg_1.0.ts\",INDEPENDENT=YES"), std::string::npos) << *playlist;
  EXPECT_NE(playlist->find("URI=\"seg_1.1.ts\""), std::string::npos) << *playlist;
  EXPECT_EQ(playlist->find("seg_1.ts"), std::string::npos) << *playlist; // not complete yet
  auto part = net.node(v).streams().part_bytes(id, 1, 1);
  ASSERT_TRUE(part);
  EXPECT_EQ(part->size, 100u);
}

// The connection `from` holds to node `to`.
ConnId conn_between(MemNetwork& net, std::size_t from, std::size_t to) {
  for (const auto& p : net.node(from).peers(net.now())) {
    if (p.address == net.key(to).address()) return p.conn;
  }
  ADD_FAILURE() << "no connection";
  return 0;
}

core::Frame have_frame(const core::StreamId& id, uint32_t hops, const std::vector<std::string>& path) {
  openstreaming::wire::v1::Have h;
  h.set_stream_id(stream_frames::bytes_of(id));
  h.set_rendition("source");
  h.set_hops(hops);
  for (const auto& p : path) h.add_path(p);
  return stream_frames::media_frame(core::MediaFrameType::have, h);
}

// b - r1 - r2 - v, and a neighbour c of v that lies about its route. A Have
// carries the sender's upstream chain; a route whose chain holds the receiver
// (it leads back through it) or the sender itself is no route, however near it
// claims to be; a chain that is not exactly `hops` 20-byte addresses is
// malformed.
TEST(Streams, ARouteAdvertisedThroughTheReceiverOrTheSenderIsNoRoute) {
  MemNetwork net(28);
  std::size_t b = net.add(line_options(std::nullopt));
  std::size_t r1 = net.add(line_options(b));
  std::size_t r2 = net.add(line_options(r1));
  std::size_t v = net.add(line_options(r2));
  std::size_t c = net.add(line_options(v));
  net.start_all();
  ASSERT_TRUE(net.run_until([&] { return net.connected(); }, 10s));
  core::StreamId id{};
  net.with(b, [&](Node& n) { id = n.streams().start_stream("show", "t", "", net.now()); });
  net.with(v, [&](Node& n) { n.streams().watch("show", net.now()); });
  net.run_for(2s);
  broadcast(net, b, id, 1, false);
  const Stream* s = net.node(v).streams().find(id);
  ASSERT_TRUE(s && s->upstream);
  ASSERT_EQ(s->hops, 3u);
  ASSERT_EQ(s->path.size(), 3u) << "v knows its whole chain";
  EXPECT_EQ(s->path[0], net.key(r2).address());
  EXPECT_EQ(s->path[2], net.key(b).address());
  const ConnId up = *s->upstream;
  const ConnId to_v = conn_between(net, c, v);
  auto send = [&](const core::Frame& f) {
    net.with(c, [&](Node& n) { n.send_app_frame(to_v, f); });
    net.run_for(1s);
  };
  auto bytes = [](const core::Address& a) { return stream_frames::bytes_of(a); };
  // One hop from the producer — through v itself.
  send(have_frame(id, 1, {bytes(net.key(v).address())}));
  EXPECT_EQ(s->upstream, up) << "a route back through v is not taken";
  // One hop — through c itself (no honest node's chain holds itself).
  send(have_frame(id, 1, {bytes(net.key(c).address())}));
  EXPECT_EQ(s->upstream, up);
  // The same claim with an honest-looking chain is a route (and nearer).
  send(have_frame(id, 1, {bytes(net.key(b).address())}));
  EXPECT_NE(s->upstream, up) << "the nearer route is taken: the two above were refused for their chains";
  // Malformed: a chain longer than the distance.
  auto before = net.node(v).metrics().disconnects.count({"protocol_error", "local"})
                    ? net.node(v).metrics().disconnects.at({"protocol_error", "local"})
                    : 0;
  send(have_frame(id, 1, {bytes(net.key(b).address()), bytes(net.key(r1).address())}));
  EXPECT_EQ(net.node(v).metrics().disconnects.at({"protocol_error", "local"}), before + 1);
}

// A producer limited to one stream's worth of upload: the two neighbours that
// subscribed before any part (the bitrate unknown) are both taken; once parts
// show the bitrate, the newest is refused (capacity_full) and moves on.
TEST(Streams, SubscribersBeyondTheUplinkAreShedOnceTheBitrateIsKnown) {
  MemNetwork net(29);
  NodeOptions bo = line_options(std::nullopt);
  bo.agent_config.economics.capacity_kbps = 30; // parts of ~1 KB per 0.5 s: ~16 kbit/s each
  std::size_t b = net.add(bo);
  std::size_t v1 = net.add(line_options(b));
  std::size_t v2 = net.add(line_options(b));
  net.start_all();
  ASSERT_TRUE(net.run_until([&] { return net.node(b).established_count() == 2; }, 10s));
  core::StreamId id{};
  net.with(b, [&](Node& n) { id = n.streams().start_stream("show", "t", "", net.now()); });
  net.run_for(1s);
  for (auto v : {v1, v2}) net.with(v, [&](Node& n) { n.streams().watch("show", net.now()); });
  net.run_for(1s);
  ASSERT_EQ(net.node(b).streams().find(id)->subscribers.size(), 2u) << "taken before the bitrate is known";
  broadcast(net, b, id, 2, false);
  EXPECT_EQ(net.node(b).streams().find(id)->subscribers.size(), 1u) << "what is left fits the uplink";
}

TEST(UpstreamPolicy, NearestWithBackupAndNoFlapping) {
  NearestUpstream p;
  core::StreamId id{};
  RouteContext ctx;
  std::vector<UpstreamCandidate> c = {{1, 2, 30.0, {}}, {2, 1, 50.0, {}}, {3, 1, 20.0, {}}};
  auto first = p.choose(id, c, std::nullopt, ctx);
  EXPECT_EQ(first.primary, 3u); // fewest hops, then lowest RTT
  EXPECT_EQ(first.backup, 2u);
  c[1].rtt_ms = 10.0; // 2 is now faster, same hops: stay with 3
  auto again = p.choose(id, c, 3, ctx);
  EXPECT_EQ(again.primary, 3u);
  EXPECT_EQ(again.backup, 2u);
  c[0].hops = 0; // 1 is now nearer: switch
  EXPECT_EQ(p.choose(id, c, 3, ctx).primary, 1u);
  EXPECT_FALSE(p.choose(id, {}, 3, ctx).primary);
  std::vector<UpstreamCandidate> one = {{5, 0, 1.0, {}}};
  EXPECT_EQ(p.choose(id, one, std::nullopt, ctx).primary, 5u);
  EXPECT_FALSE(p.choose(id, one, std::nullopt, ctx).backup);
}

TEST(Streams, ForgedAnnouncementsAreRefused) {
  MemNetwork net(24);
  auto a = net.add(line_options(std::nullopt));
  auto c = net.add(line_options(a));
  net.start_all();
  ASSERT_TRUE(net.run_until([&] { return net.connected(); }, 10s));
  // An announcement is only accepted with the broadcaster's own key: sign one
  // for someone else's address and it is refused (and the sender disconnected).
  core::DeterministicRandom victim_rng(5);
  auto victim = core::PrivateKey::generate(victim_rng);
  core::NostrTags tags = {{"d", "x"},
                          {"openstreaming:address", victim.address().to_checksum_hex()},
                          {"openstreaming:stream", core::to_hex(core::make_stream_id(victim.address(), "x"), false)}};
  auto ev = core::sign_event(net.key(c), 1, 30311, tags, "", Hash256{});
  openstreaming::wire::v1::Announcement ann;
  ann.set_event_json(core::to_json(ev).dump());
  core::Frame f;
  f.type = static_cast<uint16_t>(core::MediaFrameType::announcement);
  f.header.resize(ann.ByteSizeLong());
  ann.SerializeToArray(f.header.data(), static_cast<int>(f.header.size()));
  net.with(c, [&](Node& n) { n.send_app_frame(n.established_conns().at(0), f); });
  net.run_for(1s);
  EXPECT_TRUE(net.node(a).streams().streams().empty());
  EXPECT_EQ(net.node(a).metrics().disconnects.at({"protocol_error", "local"}), 1u); // the forger was cut off
}

// HLS interest is a lease: a viewer that stops asking for the playlist stops
// being a reason to carry (and pay for) the stream after StreamRouter::kLease;
// renewed, it lasts; a watched stream is not ended by any lease.
TEST(Streams, LeasedInterestEndsWhenNotRenewedAndWatchedInterestDoesNot) {
  MemNetwork net(29);
  for (auto b : {std::optional<std::size_t>(), std::optional<std::size_t>(0), std::optional<std::size_t>(1),
                 std::optional<std::size_t>(1)}) {
    net.add(line_options(b)); // b - r - {leasing viewer, watching viewer}
  }
  net.start_all();
  ASSERT_TRUE(net.run_until([&] { return net.connected(); }, 10s));
  core::StreamId id{};
  net.with(0, [&](Node& n) { id = n.streams().start_stream("show", "t", "", net.now()); });
  net.run_for(2s);
  ASSERT_NE(net.node(2).streams().find(id), nullptr);
  net.with(2, [&](Node& n) { n.streams().lease(id, net.now()); });
  net.with(3, [&](Node& n) {
    n.streams().watch("show", net.now());
    n.streams().lease(id, net.now()); // a playlist request too: must not shorten the watch
  });
  int seg = 0;
  broadcast(net, 0, id, 2, /*end=*/false, seg);
  seg += 2;
  const Stream* leased = net.node(2).streams().find(id);
  ASSERT_TRUE(leased->subscribed);
  // Renewed every 5 s (a broadcast of two segments) for longer than a lease: still wanted.
  const Timestamp first = net.now();
  Timestamp renewed = first;
  while (net.now() - first < StreamRouter::kLease + 10s) {
    net.with(2, [&](Node& n) { n.streams().lease(id, net.now()); });
    renewed = net.now();
    broadcast(net, 0, id, 2, /*end=*/false, seg);
    seg += 2;
  }
  EXPECT_TRUE(leased->wanted);
  EXPECT_TRUE(leased->subscribed);
  // No more requests: a lease (and a tick) later, no longer wanted nor subscribed.
  while (net.now() - renewed < StreamRouter::kLease + 1s) {
    broadcast(net, 0, id, 2, /*end=*/false, seg);
    seg += 2;
  }
  EXPECT_FALSE(leased->wanted);
  EXPECT_FALSE(leased->subscribed);
  const uint64_t received = leased->stats.parts_received;
  broadcast(net, 0, id, 2, /*end=*/false, seg);
  seg += 2;
  EXPECT_EQ(leased->stats.parts_received, received) << "still pulled after the lease ended";
  const Stream* watched = net.node(3).streams().find(id);
  EXPECT_TRUE(watched->wanted);
  EXPECT_TRUE(watched->subscribed);
  EXPECT_FALSE(watched->ended());
  // unwant() ends a watch too.
  net.with(3, [&](Node& n) { n.streams().unwant(id, net.now()); });
  net.run_for(1s);
  EXPECT_FALSE(watched->wanted);
  EXPECT_FALSE(watched->subscribed);
}

// A relay that carries nothing still names an upstream (the distance it
// advertises) and pulls single parts through from it for a neighbour's fetch.
// Those parts say nothing about the ones in between, which nobody asked for:
// judging them as a feed charged an honest broadcaster with missing parts until
// the relay took it for incoherent and routed through its own viewer instead.
TEST(Streams, PartsPulledThroughForAFetchDoNotJudgeAnUnsubscribedUpstream) {
  MemNetwork net(29);
  test::add_line(net, 3);
  net.start_all(); // b(0) - r(1) - x(2); nobody watches
  ASSERT_TRUE(net.run_until([&] { return net.connected(); }, 10s));
  core::StreamId id{};
  net.with(0, [&](Node& n) { id = n.streams().start_stream("show", "t", "", net.now()); });
  net.run_for(2s);
  broadcast(net, 0, id, 2, /*end=*/false);
  const Stream* relayed = net.node(1).streams().find(id);
  ASSERT_NE(relayed, nullptr);
  ASSERT_FALSE(relayed->subscribed);
  ASSERT_TRUE(relayed->upstream.has_value()); // the route it advertises
  ASSERT_EQ(relayed->stats.parts_received, 0u);
  auto fetch = [&](uint64_t segment, uint32_t part) {
    net.with(2, [&](Node& n) {
      auto conns = n.established_conns();
      ASSERT_EQ(conns.size(), 1u);
      stream_frames::wire::Fetch req;
      req.set_stream_id(std::string(reinterpret_cast<const char*>(id.data()), id.size()));
      req.set_rendition("source");
      req.set_segment(segment);
      req.set_part(part);
      n.send_app_frame(conns[0], stream_frames::media_frame(core::MediaFrameType::fetch, req));
    });
    net.run_for(500ms);
  };
  fetch(1, 0);
  fetch(1, 3); // parts 1 and 2 of segment 1 were never asked of the broadcaster
  EXPECT_EQ(relayed->stats.parts_received, 2u) << "the fetches were not pulled through";
  const NeighbourProfile* b = net.node(1).agent().memory.find(net.key(0).address());
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->parts_missing, 0u);
  EXPECT_EQ(relayed->parts_missing, 0u);
}

// A relay that changes upstream has had no part through the new one yet, but
// it still has the stream at a latency, and that is what its states say. Its
// subscribers judge its parts against it: stating none (or being held to zero
// for none) made every relay that re-routed look late at the next hop — on a
// deep route, honest relays were put on probation one after another.
TEST(Streams, ARelayThatReroutesStillStatesItsLatencyAndIsNotJudgedLate) {
  MemNetwork net(31, 150ms); // deep enough that a latency of zero would be late
  std::size_t b = net.add(line_options(std::nullopt));
  std::size_t a1 = net.add(line_options(b)), a2 = net.add(line_options(a1));
  std::size_t c1 = net.add(line_options(b)), c2 = net.add(line_options(c1));
  NodeOptions ro = line_options(a2);
  ro.bootstrap.push_back(MemNetwork::endpoint_of(c2));
  std::size_t r = net.add(ro), v = net.add(line_options(r));
  net.start_all();
  ASSERT_TRUE(net.run_until([&] { return net.node(r).established_count() == 3; }, 10s));
  core::StreamId id{};
  net.with(b, [&](Node& n) { id = n.streams().start_stream("show", "t", "", net.now()); });
  net.with(v, [&](Node& n) { n.streams().watch("show", net.now()); });
  net.run_for(3s);
  broadcast(net, b, id, 3, /*end=*/false);
  const Stream* at_r = net.node(r).streams().find(id);
  ASSERT_TRUE(at_r && at_r->upstream);
  const NeighbourProfile* seen = net.node(v).agent().memory.find(net.key(r).address());
  ASSERT_TRUE(seen && seen->claims);
  ASSERT_TRUE(seen->claims->stream_latency_ms.count(id)) << "r states its latency";
  const uint64_t late_before = seen->parts_late, from_before = seen->parts_from;
  ASSERT_EQ(late_before, 0u);
  // Kill the relay r takes the stream from: r re-routes through the other side.
  net.kill(relay_of(net, r, a2, c2, *at_r->upstream));
  for (int seg = 3; seg < 6; ++seg) {
    broadcast(net, b, id, 1, /*end=*/false, seg);
    ASSERT_TRUE(seen->claims->stream_latency_ms.count(id)) << "r stopped stating its latency after re-routing";
  }
  EXPECT_GT(seen->parts_from, from_before + 8) << "the stream did not flow on through r";
  // The part caught in the switch may come late; the ones after it are on time.
  EXPECT_LE(seen->parts_late, 1u) << "v judged the relay that re-routed late";
  EXPECT_EQ(net.node(v).agent().empathy.status(net.key(r).address(), 0), NeighbourStatus::trusted);
}

} // namespace
} // namespace openstreaming::agent
