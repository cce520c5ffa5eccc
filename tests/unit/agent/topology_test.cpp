// Local topology adaptation on the in-memory network: a viewer swaps a
// neighbour that carries none of its media for a node it learned of by peer
// exchange, the swapped-out node does not come straight back, and a node with
// no reason to change keeps its peers.
#include "agent/node.h"
#include "support/mem_network.h"
#include "support/swarm.h"

#include <gtest/gtest.h>

namespace openstreaming::agent {
namespace {

using test::MemNetwork;

// b(0) - r(1) - v(2) - i(3): v watches b's stream through r; i (which dialled
// v) carries nothing for v and offers no route. v learns b's endpoint from r.
struct Line {
  static constexpr std::size_t b = 0, r = 1, v = 2, i = 3;
  MemNetwork net{77};
  core::StreamId id{};

  explicit Line(const TopologyOptions& topology) {
    net.add(test::line_options(std::nullopt));
    net.add(test::line_options(b));
    NodeOptions ov;
    ov.bootstrap = {MemNetwork::endpoint_of(r)};
    ov.target_peers = 2; // r and i: it dials no one else of its own accord
    ov.pex_interval = 1s;
    ov.agent_config.topology = topology;
    net.add(ov);
    net.add(test::line_options(v));
    net.start_all();
  }

  bool linked(std::size_t x, std::size_t y) { return test::linked(net, x, y); }

  // Starts the stream, has v watch it, and publishes `seconds` of 0.5 s parts.
  void broadcast(int seconds) {
    net.with(b, [&](Node& n) { id = n.streams().start_stream("show", "The Show", "", net.now()); });
    net.with(v, [&](Node& n) { n.streams().watch("show", net.now()); });
    net.run_for(1s);
    for (int k = 0; k < seconds * 2; ++k) {
      test::publish(net, b, test::part_info(net, b, id, static_cast<uint64_t>(k / 4), static_cast<uint32_t>(k % 4)),
                    4000, static_cast<uint8_t>(k));
      net.run_for(500ms);
    }
  }

  std::size_t replaced_events() const {
    std::size_t n = 0;
    for (const auto& [at, ev] : net.events()) {
      if (const auto* c = std::get_if<PeerClosed>(&ev); c && at == v && c->reason == DisconnectReason::replaced) ++n;
    }
    return n;
  }
};

TopologyOptions fast() {
  TopologyOptions t;
  t.enabled = true;
  t.interval = 1s;
  t.min_age = 3s;
  t.diverse_peers = 1;
  return t;
}

TEST(Topology, AViewerReplacesANeighbourThatCarriesNothingWithOneItLearnedOf) {
  Line l(fast());
  ASSERT_TRUE(l.net.run_until([&] { return l.linked(Line::v, Line::r) && l.linked(Line::v, Line::i); }, 10s));
  l.broadcast(12);

  EXPECT_EQ(l.net.node(Line::v).metrics().neighbours_replaced, 1u);
  EXPECT_EQ(l.replaced_events(), 1u);
  EXPECT_FALSE(l.linked(Line::v, Line::i));
  EXPECT_TRUE(l.linked(Line::v, Line::b)); // the only candidate it learned of
  // The stream kept flowing to v through the change.
  const Stream* s = l.net.node(Line::v).streams().find(l.id);
  ASSERT_NE(s, nullptr);
  EXPECT_GE(s->stats.parts_received, 20u);
  // The judgement was a prediction with outcomes: the memory scores it.
  const auto& predictors = l.net.node(Line::v).agent().memory.predictors();
  ASSERT_TRUE(predictors.count("neighbour_share"));
  EXPECT_GE(predictors.at("neighbour_share").n, 3u);
  EXPECT_TRUE(predictors.at("neighbour_share").calibration_error().has_value());

  // i was told why and does not dial v again at once (its only bootstrap).
  l.net.run_for(15s);
  EXPECT_FALSE(l.linked(Line::i, Line::v));
}

TEST(Topology, DisabledTheOverlayStaysAsItWas) {
  TopologyOptions t = fast();
  t.enabled = false;
  Line l(t);
  ASSERT_TRUE(l.net.run_until([&] { return l.linked(Line::v, Line::r) && l.linked(Line::v, Line::i); }, 10s));
  l.broadcast(12);
  EXPECT_EQ(l.net.node(Line::v).metrics().neighbours_replaced, 0u);
  EXPECT_TRUE(l.linked(Line::v, Line::i));
  EXPECT_FALSE(l.linked(Line::v, Line::b));
}

TEST(Topology, AWellServedNodeWithNoDiversitySlotToFillKeepsItsPeers) {
  TopologyOptions t = fast();
  t.diverse_peers = 0;
  Line l(t);
  ASSERT_TRUE(l.net.run_until([&] { return l.linked(Line::v, Line::r) && l.linked(Line::v, Line::i); }, 10s));
  l.broadcast(12);
  EXPECT_EQ(l.net.node(Line::v).metrics().neighbours_replaced, 0u);
  EXPECT_TRUE(l.linked(Line::v, Line::i));
}

TEST(Topology, AnUpstreamIsNeverReplacedEvenWhenPredictedUseless) {
  // v's only candidate would be b, but every neighbour v has is in use: r is
  // its upstream and i watches through v. Nothing is replaced.
  Line l(fast());
  ASSERT_TRUE(l.net.run_until([&] { return l.linked(Line::v, Line::r) && l.linked(Line::v, Line::i); }, 10s));
  l.net.with(Line::i, [&](Node& n) { n.streams().watch("show", l.net.now()); });
  l.broadcast(12);
  EXPECT_EQ(l.net.node(Line::v).metrics().neighbours_replaced, 0u);
  EXPECT_TRUE(l.linked(Line::v, Line::r));
  EXPECT_TRUE(l.linked(Line::v, Line::i));
}

} // namespace
} // namespace openstreaming::agent
