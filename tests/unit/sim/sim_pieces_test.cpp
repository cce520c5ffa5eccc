// The simulator's pieces on their own, without the composition (Simulator):
// the scheduler's order, the network's links, dials and lives, and churn.
#include "core/secp256k1.h"
#include "sim/churn.h"
#include "sim/diagnostics.h"
#include "sim/measurement.h"
#include "sim/network.h"
#include "sim/scenario.h"
#include "sim/scheduler.h"
#include "sim/sim_node.h"
#include "sim/sim_random.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace openstreaming::sim {
namespace {

using namespace std::chrono_literals;

const Timestamp kT0 = Timestamp(std::chrono::seconds(1'700'000'000));

TEST(SimScheduler, EventsRunByTimeThenInTheOrderTheyWereScheduled) {
  Scheduler sched(kT0);
  std::string order;
  sched.at(kT0 + 2ms, [&] { order += 'c'; });
  sched.at(kT0 + 1ms, [&] { order += 'a'; });
  sched.at(kT0 + 1ms, [&] { order += 'b'; });
  sched.at(kT0 + 5ms, [&] { order += 'z'; });
  sched.run_until(kT0 + 2ms);
  EXPECT_EQ(order, "abc");
  EXPECT_EQ(sched.now(), kT0 + 2ms);
  EXPECT_EQ(sched.events(), 3u);
  // An event scheduled in the past runs next, before later ones.
  sched.at(kT0, [&] { order += 'p'; });
  EXPECT_TRUE(sched.run_next(kT0 + 10ms));
  EXPECT_EQ(order, "abcp");
  sched.run_until(kT0 + 10ms);
  EXPECT_EQ(order, "abcpz");
  EXPECT_DOUBLE_EQ(sched.seconds(sched.now()), 0.010);
}

// What the pieces ask of the composition, recorded.
struct Host final : NodeHost {
  SimNodes& nodes;
  Timestamp now{};
  std::vector<std::size_t> started, watched;
  explicit Host(SimNodes& n) : nodes(n) {}
  void pump(std::size_t) override {}
  void start_node(std::size_t i) override {
    nodes[i]->alive = true;
    nodes[i]->node->handle_start(now);
    started.push_back(i);
  }
  void watch(std::size_t i) override { watched.push_back(i); }
  void readdressed(std::size_t, const core::Address&) override {}
};

// n started agent cores whose outputs nobody takes (the tests drive the
// pieces directly); node 0 a broadcaster, the others viewers.
struct Pieces {
  Scenario sc;
  Scheduler sched{kT0};
  SimRandom rng{99};
  SimNodes nodes;
  Measurement meas;
  Diagnostics diag;
  Host host;
  Network network;
  Churn churn;

  explicit Pieces(std::size_t n, double leave_per_min = 0)
      // Members are built in declaration order; `nodes` is empty until the body fills it.
      : sc(with_churn(leave_per_min)), meas(sc, nodes, sched), diag(sc, nodes, sched), host(nodes),
        network(sched, rng, nodes, meas, diag, host), churn(sc, sched, rng, nodes, network, meas, host) {
    for (std::size_t i = 0; i < n; ++i) {
      auto s = std::make_unique<SimNode>();
      s->key = core::PrivateKey::generate(rng);
      s->address = s->key->address();
      s->options.listen_endpoint = host_of(i) + ":7000";
      s->env = std::make_unique<agent::DeterministicEnvironment>(rng.next_u64());
      s->node = std::make_unique<agent::Node>(*s->key, s->options, *s->env);
      s->role = i == 0 ? SimNode::Role::broadcaster : SimNode::Role::viewer;
      s->alive = true;
      s->node->handle_start(kT0);
      nodes.push_back(std::move(s));
    }
    network.resize(n);
  }
  static Scenario with_churn(double leave_per_min) {
    Scenario s;
    s.leave_per_min = leave_per_min;
    s.rejoin_s = 10;
    return s;
  }
  void run_for(Duration d) {
    sched.run_until(sched.now() + d);
    host.now = sched.now();
  }
};

TEST(SimNetwork, AMessageCrossesAGraphEdgeAfterItsDelayAndOnlyToTheSameLife) {
  Pieces p(3);
  p.network.add_link(0, 1, LinkParams{20ms, 1e9, 0, 0ms});
  int arrived = 0;
  EXPECT_FALSE(p.network.send(0, 2, 100, 0, [&] { ++arrived; })) << "no edge between 0 and 2";
  ASSERT_TRUE(p.network.send(0, 1, 100, 0, [&] { ++arrived; }));
  p.run_for(19ms);
  EXPECT_EQ(arrived, 0);
  p.run_for(2ms);
  EXPECT_EQ(arrived, 1);

  // Node 1 dies and comes back while a message is on the way: the new life never sees it.
  ASSERT_TRUE(p.network.send(0, 1, 100, 0, [&] { ++arrived; }));
  p.churn.kill(1);
  p.nodes[1]->alive = true;
  p.run_for(50ms);
  EXPECT_EQ(arrived, 1);
}

TEST(SimNetwork, ADialOffTheGraphFailsUnlessALinkFactoryMakesTheLink) {
  Pieces p(3);
  p.network.add_link(0, 1, LinkParams{});
  // No link between 0 and 2, no factory: the dial fails and no connection exists.
  p.network.connect(0, agent::ConnectRequest{7, core::Endpoint{host_of(2), 7000}});
  p.run_for(100ms);
  EXPECT_FALSE(p.network.peer(0, 7));
  EXPECT_EQ(p.network.links_made(), 0u);

  std::vector<std::pair<std::size_t, std::size_t>> asked;
  p.network.set_link_factory([&](std::size_t a, std::size_t b) -> std::optional<LinkParams> {
    asked.emplace_back(a, b);
    return LinkParams{5ms, 1e8, 0, 0ms};
  });
  p.network.connect(2, agent::ConnectRequest{8, core::Endpoint{host_of(0), 7000}});
  p.run_for(9ms);
  EXPECT_FALSE(p.network.peer(2, 8)) << "a connection takes a round trip of the new link";
  p.run_for(2ms);
  ASSERT_EQ(p.network.peer(2, 8), std::optional<std::size_t>(0));
  EXPECT_EQ(asked, (std::vector<std::pair<std::size_t, std::size_t>>{{0, 2}}));
  EXPECT_EQ(p.network.links_made(), 1u);
  int arrived = 0;
  EXPECT_TRUE(p.network.send(0, 2, 10, 0, [&] { ++arrived; })) << "the made link carries messages like any other";
  p.run_for(10ms);
  EXPECT_EQ(arrived, 1);

  // A dial to a dead node fails even with a factory, and makes no link.
  p.churn.kill(1);
  p.network.connect(2, agent::ConnectRequest{9, core::Endpoint{host_of(1), 7000}});
  p.run_for(100ms);
  EXPECT_FALSE(p.network.peer(2, 9));
  EXPECT_EQ(p.network.links_made(), 1u);
}

TEST(SimChurn, NodesLeaveAtTheConfiguredRateComeBackAsNewCoresAndBroadcastersStay) {
  // 12 nodes at 50 % a minute: 0.1 of a node a second, so a leave every 10 s.
  Pieces p(12, 0.5);
  uint64_t kills = 0;
  for (int second = 0; second < 120; ++second) {
    p.churn.tick();
    p.run_for(1s);
  }
  for (const auto& s : p.nodes) kills += s->generation;
  // A draw that hits the broadcaster or a node already gone is skipped, so at
  // most 12 of the 12 draws leave.
  EXPECT_GE(kills, 8u);
  EXPECT_LE(kills, 12u);
  EXPECT_EQ(p.nodes[0]->generation, 0u) << "the broadcaster never churns";
  EXPECT_TRUE(p.nodes[0]->alive);
  std::size_t away = 0; // left within the last rejoin_s: not back yet
  for (const auto& s : p.nodes) away += s->alive ? 0 : 1;
  EXPECT_EQ(p.host.started.size(), kills - away) << "every node that left and is due back came back";
  for (std::size_t i : p.host.started) {
    EXPECT_EQ(p.nodes[i]->node->address(), p.nodes[i]->address) << "node " << i << " came back on the same key";
  }
  EXPECT_EQ(p.host.watched, p.host.started) << "every node that came back is a viewer and watches again";
}

} // namespace
} // namespace openstreaming::sim
