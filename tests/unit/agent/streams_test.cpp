// Media through the node core on the in-memory network: announcements,
// pull-through subscription along a line, verification, playlists.
#include "agent/node.h"
#include "core/hex.h"
#include "support/mem_network.h"

#include <gtest/gtest.h>
#include <wire.pb.h>

namespace openstreaming::agent {
namespace {

using test::MemNetwork;

NodeOptions line_opts(std::optional<std::size_t> prev) {
  NodeOptions o;
  if (prev) o.bootstrap = {MemNetwork::endpoint_of(*prev)};
  o.peer_exchange = false;
  return o;
}

// Publishes `segments` 2-second segments of four 0.5 s parts from node `b`.
void broadcast(MemNetwork& net, std::size_t b, const core::StreamId& id, int segments, bool end = true, int first = 0) {
  for (int seg = first; seg < first + segments; ++seg) {
    for (uint32_t part = 0; part < 4; ++part) {
      net.with(b, [&](Node& n) {
        core::PartInfo info;
        info.stream_id = id;
        info.segment = static_cast<uint64_t>(seg);
        info.part = part;
        info.independent = part == 0;
        info.pts_us = (seg * 4 + part) * 500'000;
        info.duration_us = 500'000;
        info.ingest_unix_ms = n.environment().wall_clock_ms(net.now());
        Bytes payload(1000 + seg * 10 + part, static_cast<uint8_t>(seg * 4 + part));
        n.streams().publish_part(info, core::SharedSlice::copy_of(payload), net.now());
      });
      net.run_for(500ms);
    }
  }
  if (end) {
    net.with(b, [&](Node& n) {
      core::PartInfo last;
      last.stream_id = id;
      last.segment = static_cast<uint64_t>(first + segments);
      last.end_of_stream = true;
      last.ingest_unix_ms = n.environment().wall_clock_ms(net.now());
      n.streams().publish_part(last, core::SharedSlice{}, net.now());
    });
  }
  net.run_for(1s);
}

TEST(Streams, PulledThroughALineOfRelaysToAViewer) {
  MemNetwork net(21);
  for (std::size_t i = 0; i < 5; ++i) net.add(line_opts(i ? std::optional<std::size_t>(i - 1) : std::nullopt));
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
  EXPECT_TRUE(s->ended);
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

TEST(Streams, CorruptingRelayIsCaughtByTheNextHop) {
  MemNetwork net(22);
  auto b = net.add(line_opts(std::nullopt));
  NodeOptions bad = line_opts(b);
  bad.corrupt_forwarded_parts = 1.0;
  auto r = net.add(bad);
  auto v = net.add(line_opts(r));
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
  EXPECT_EQ(s->stats.parts_invalid, 8u);
  EXPECT_EQ(s->invalid_by_neighbour.at(net.key(r).address().to_checksum_hex()), 8u); // blamed on the sender
  EXPECT_FALSE(net.node(v).streams().playlist(id)); // nothing served
  EXPECT_EQ(net.node(v).metrics().parts_invalid.at("bad_hash"), 8u);
}

TEST(Streams, ReroutesWhenTheUpstreamDies) {
  // b - r1 - v and b - r2 - v: kill the relay v uses; it switches to the other.
  MemNetwork net(23);
  auto b = net.add(line_opts(std::nullopt));
  auto r1 = net.add(line_opts(b));
  auto r2 = net.add(line_opts(b));
  NodeOptions vo = line_opts(r1);
  vo.bootstrap.push_back(MemNetwork::endpoint_of(r2));
  auto v = net.add(vo);
  net.start_all();
  ASSERT_TRUE(net.run_until([&] { return net.node(v).established_count() == 2 && net.node(b).established_count() == 2; }, 10s));
  core::StreamId id{};
  net.with(b, [&](Node& n) { id = n.streams().start_stream("show", "t", "", net.now()); });
  net.with(v, [&](Node& n) { n.streams().watch("show", net.now()); });
  net.run_for(2s);
  broadcast(net, b, id, 1, false);
  const Stream* s = net.node(v).streams().find(id);
  ASSERT_TRUE(s && s->upstream);
  std::size_t used = net.node(v).peers(net.now())[0].conn == *s->upstream ? 0 : 1;
  auto used_addr = net.node(v).peers(net.now())[used].address;
  net.kill(used_addr == net.key(r1).address() ? r1 : r2);
  net.run_for(1s);
  uint64_t before = s->stats.parts_received;
  broadcast(net, b, id, 1, false, /*first=*/1);
  EXPECT_EQ(s->stats.parts_received, before + 4);
}

TEST(Streams, ForgedAnnouncementsAreRefused) {
  MemNetwork net(24);
  auto a = net.add(line_opts(std::nullopt));
  auto c = net.add(line_opts(a));
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

} // namespace
} // namespace openstreaming::agent
