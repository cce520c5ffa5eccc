// The node core driven with injected time: first a scripted peer that speaks
// the wire protocol by hand (hostile inputs), then 2 and 20 cores on an
// in-memory network (tests/support/mem_network.h).
#include "agent/identity.h"
#include "agent/node.h"
#include "support/mem_network.h"
#include "support/wire.h"

#include <gtest/gtest.h>

#include <set>
#include <wire.pb.h>

namespace openstreaming::agent {
namespace {

namespace wire = openstreaming::wire::v1;
using core::Frame;
using core::FrameType;
using test::disconnect_reason;
using test::frame_of;
using test::MemNetwork;

// A node under test plus a hand-driven remote peer.
struct Scripted : ::testing::Test {
  DeterministicEnvironment env{11};
  core::DeterministicRandom rng{12};
  core::PrivateKey node_key = core::PrivateKey::generate(rng);
  core::PrivateKey peer_key = core::PrivateKey::generate(rng);
  Hash256 exporter = rng.bytes<32>();
  Timestamp now = timestamp_from_us(5'000'000'000);
  std::unique_ptr<Node> node;
  std::vector<Transmit> sent;
  std::vector<Action> actions;
  std::vector<Event> events;

  void make(NodeOptions o = {}) {
    o.listen_endpoint = "127.0.0.1:7000";
    node = std::make_unique<Node>(node_key, o, env);
    node->handle_start(now);
    drain();
  }
  void drain() {
    while (auto t = node->poll_transmit()) sent.push_back(std::move(*t));
    while (auto a = node->poll_action()) actions.push_back(std::move(*a));
    while (auto e = node->poll_event()) events.push_back(std::move(*e));
  }
  wire::Hello hello(const core::PrivateKey& signer, TlsSide side, std::optional<core::Address> claim = std::nullopt) {
    wire::Hello h = test::make_hello(signer, side, exporter, claim);
    h.set_listen_endpoint("127.0.0.1:7001");
    return h;
  }
  // Accepts an inbound connection and returns its id.
  ConnId accept() {
    ConnId c = node->handle_accepted(core::Endpoint{"127.0.0.1", 50000}, exporter, now);
    drain();
    return c;
  }
  ConnId accept_and_handshake() {
    ConnId c = accept();
    node->handle_frame(c, frame_of(FrameType::hello, hello(peer_key, TlsSide::client)), now);
    drain();
    return c;
  }
  std::optional<DisconnectReason> disconnect_sent(ConnId c) const {
    for (const auto& t : sent) {
      if (t.conn == c) {
        if (auto r = disconnect_reason(t.frame)) return r;
      }
    }
    return std::nullopt;
  }
  bool close_requested(ConnId c) const {
    for (const auto& a : actions) {
      if (auto* cr = std::get_if<CloseRequest>(&a); cr && cr->conn == c) return true;
    }
    return false;
  }
};

// The dispatch table: every frame type the protocol names has a handler, and
// nothing else does (a new type without an entry fails here, not silently).
TEST(FrameDispatch, EveryNamedFrameTypeHasAHandlerAndNoOtherDoes) {
  int named = 0;
  for (uint32_t t = 0; t <= 0xffff; ++t) {
    const std::string name = core::frame_type_name(static_cast<uint16_t>(t));
    const bool is_named = name != "unknown" && name != "app"; // "app": an application type it does not name
    EXPECT_EQ(frame_handler(static_cast<uint16_t>(t)).has_value(), is_named) << "frame type " << t;
    named += is_named;
  }
  EXPECT_EQ(named, 16); // 6 session + 10 media and payment frames
  EXPECT_EQ(frame_handler(static_cast<uint16_t>(core::MediaFrameType::neighbour_state)), FrameHandler::neighbour_state);
  EXPECT_EQ(frame_handler(static_cast<uint16_t>(core::MediaFrameType::fetch)), FrameHandler::streams);
  EXPECT_EQ(frame_handler(static_cast<uint16_t>(core::MediaFrameType::tickets)), FrameHandler::tickets);
}

TEST_F(Scripted, HandshakeEstablishesAndAnswersPings) {
  make();
  ConnId c = accept_and_handshake();
  ASSERT_EQ(node->established_count(), 1u);
  EXPECT_EQ(node->peers(now).at(0).address, peer_key.address());
  ASSERT_FALSE(sent.empty());
  EXPECT_EQ(sent.front().frame.type, static_cast<uint16_t>(FrameType::hello));
  // Our hello proves our address for the server side of this session.
  wire::Hello ours;
  ASSERT_TRUE(
      ours.ParseFromArray(sent.front().frame.header.data(), static_cast<int>(sent.front().frame.header.size())));
  auto proven = verify_identity(as_bytes(ours.identity_proof()), TlsSide::server, exporter);
  ASSERT_TRUE(proven.ok());
  EXPECT_EQ(*proven, node_key.address());
  wire::Ping ping;
  ping.set_nonce(77);
  sent.clear();
  node->handle_frame(c, frame_of(FrameType::ping, ping), now);
  drain();
  ASSERT_EQ(sent.size(), 1u);
  wire::Pong pong;
  ASSERT_TRUE(pong.ParseFromArray(sent[0].frame.header.data(), static_cast<int>(sent[0].frame.header.size())));
  EXPECT_EQ(pong.nonce(), 77u);
}

// Every hostile first frame is answered with a Disconnect carrying the reason,
// then a close, and is counted; none establishes a peer.
TEST_F(Scripted, HostileHandshakesAreRefusedWithAReason) {
  struct Case {
    const char* name;
    std::function<Frame(Scripted&)> frame;
    DisconnectReason reason;
  };
  auto other = core::PrivateKey::generate(rng);
  std::vector<Case> cases = {
      {"forged identity: claims an address it cannot sign for",
       [&](Scripted& s) { return frame_of(FrameType::hello, s.hello(s.peer_key, TlsSide::client, other.address())); },
       DisconnectReason::identity_proof_failed},
      {"reflected proof: signed for the server side",
       [&](Scripted& s) { return frame_of(FrameType::hello, s.hello(s.peer_key, TlsSide::server)); },
       DisconnectReason::identity_proof_failed},
      {"proof from another session",
       [&](Scripted& s) {
         Hash256 saved = s.exporter;
         s.exporter[0] ^= 1;
         auto h = s.hello(s.peer_key, TlsSide::client);
         s.exporter = saved;
         return frame_of(FrameType::hello, h);
       },
       DisconnectReason::identity_proof_failed},
      {"wrong version",
       [&](Scripted& s) {
         auto h = s.hello(s.peer_key, TlsSide::client);
         h.set_version(9);
         h.set_min_version(7);
         return frame_of(FrameType::hello, h);
       },
       DisconnectReason::incompatible_version},
      {"ping before hello", [&](Scripted&) { return frame_of(FrameType::ping, wire::Ping()); },
       DisconnectReason::protocol_error},
      {"malformed hello",
       [&](Scripted&) {
         Frame f;
         f.type = static_cast<uint16_t>(FrameType::hello);
         f.header = {0xff, 0xff, 0xff};
         return f;
       },
       DisconnectReason::protocol_error},
      {"our own address", [&](Scripted& s) { return frame_of(FrameType::hello, s.hello(s.node_key, TlsSide::client)); },
       DisconnectReason::self_connection},
  };
  for (auto& c : cases) {
    sent.clear();
    actions.clear();
    make();
    ConnId conn = accept();
    node->handle_frame(conn, c.frame(*this), now);
    drain();
    EXPECT_EQ(node->established_count(), 0u) << c.name;
    EXPECT_EQ(disconnect_sent(conn), c.reason) << c.name;
    EXPECT_TRUE(close_requested(conn)) << c.name;
    EXPECT_EQ(node->metrics().handshake_failures.at(reason_name(c.reason)), 1u) << c.name;
  }
}

TEST_F(Scripted, UnknownFrameTypeAndSecondHelloDisconnect) {
  make();
  ConnId c = accept_and_handshake();
  Frame odd;
  odd.type = 999;
  node->handle_frame(c, odd, now);
  drain();
  EXPECT_EQ(disconnect_sent(c), DisconnectReason::unknown_frame_type);
  EXPECT_EQ(node->metrics().protocol_errors.at("unknown_frame_type"), 1u);

  sent.clear();
  peer_key = core::PrivateKey::generate(rng);
  ConnId d = accept_and_handshake();
  node->handle_frame(d, frame_of(FrameType::hello, hello(peer_key, TlsSide::client)), now);
  drain();
  EXPECT_EQ(disconnect_sent(d), DisconnectReason::protocol_error);
}

TEST_F(Scripted, AcceptedAppFramesArePassedUpOthersDisconnect) {
  NodeOptions o;
  o.app_frame_types = {30};
  make(o);
  ConnId c = accept_and_handshake();
  Frame part;
  part.type = 30;
  part.payload = core::SharedSlice::copy_of(as_bytes("media bytes"));
  node->handle_frame(c, part, now);
  drain();
  bool delivered = false;
  for (const auto& e : events) {
    if (auto* af = std::get_if<AppFrame>(&e)) {
      delivered = af->from == peer_key.address() && af->frame.payload.view().size() == 11;
    }
  }
  EXPECT_TRUE(delivered);
  EXPECT_EQ(node->established_count(), 1u);
  // Sending: only app types, only to established peers.
  EXPECT_TRUE(node->send_app_frame(c, part));
  Frame ping;
  ping.type = static_cast<uint16_t>(FrameType::ping);
  EXPECT_FALSE(node->send_app_frame(c, ping));
  EXPECT_FALSE(node->send_app_frame(9999, part));
  part.type = 31; // not accepted by this node: a peer sending it is disconnected
  node->handle_frame(c, part, now);
  drain();
  EXPECT_EQ(disconnect_sent(c), DisconnectReason::unknown_frame_type);
}

TEST_F(Scripted, FramingErrorsFromTheRuntimeDisconnect) {
  make();
  ConnId c = accept_and_handshake();
  node->handle_framing_error(c, DisconnectReason::oversized_frame, "5 MiB frame", now);
  drain();
  EXPECT_EQ(disconnect_sent(c), DisconnectReason::oversized_frame);
  EXPECT_EQ(node->metrics().protocol_errors.at("oversized_frame"), 1u);
  node->handle_closed(c, now);
  EXPECT_EQ(node->established_count(), 0u);
}

TEST_F(Scripted, HandshakeAndIdleTimeouts) {
  NodeOptions o;
  o.handshake_timeout = 2s;
  o.idle_timeout = 5s;
  make(o);
  ConnId silent = accept();
  now += 3s;
  node->handle_timeout(now);
  drain();
  EXPECT_EQ(disconnect_sent(silent), DisconnectReason::handshake_timeout);

  ConnId idle = accept_and_handshake();
  for (int i = 0; i < 24; ++i) { // 6 s in 250 ms ticks, the peer never answers
    now += 250ms;
    node->handle_timeout(now);
    drain();
  }
  EXPECT_EQ(disconnect_sent(idle), DisconnectReason::idle_timeout);
}

TEST_F(Scripted, InboundBeyondTheLimitIsRefused) {
  NodeOptions o;
  o.max_peers = 1;
  o.target_peers = 1;
  make(o);
  accept_and_handshake();
  peer_key = core::PrivateKey::generate(rng);
  ConnId second = accept_and_handshake();
  EXPECT_EQ(disconnect_sent(second), DisconnectReason::too_many_peers);
  EXPECT_EQ(node->established_count(), 1u);
}

TEST_F(Scripted, BadPeerRecordsAreIgnoredAndCounted) {
  make();
  ConnId c = accept_and_handshake();
  wire::Peers peers;
  auto* bad_addr = peers.add_peers();
  bad_addr->set_address("short");
  bad_addr->set_endpoint("127.0.0.1:9000");
  auto* bad_ep = peers.add_peers();
  bad_ep->set_address(std::string(20, 'x'));
  bad_ep->set_endpoint("not an endpoint");
  node->handle_frame(c, frame_of(FrameType::peers, peers), now);
  drain();
  EXPECT_EQ(node->metrics().peer_records_rejected, 2u);
  EXPECT_EQ(node->established_count(), 1u); // bad hints are not a reason to disconnect
}

// With a tiny window and the runtime never confirming writes, frames queue up to
// the byte limit and the rest are dropped and counted: memory stays bounded.
TEST_F(Scripted, SendQueueIsBoundedInBytes) {
  NodeOptions o;
  o.send_window = 64;
  o.send_queue_limit = 256;
  make(o);
  ConnId c = node->handle_accepted(core::Endpoint{"127.0.0.1", 50000}, exporter, now);
  for (int i = 0; i < 100; ++i) {
    wire::Ping ping;
    ping.set_nonce(static_cast<uint64_t>(i));
    if (i == 0) node->handle_frame(c, frame_of(FrameType::hello, hello(peer_key, TlsSide::client)), now);
    node->handle_frame(c, frame_of(FrameType::ping, ping), now);
  }
  std::size_t transmitted = 0, largest = 0;
  while (auto t = node->poll_transmit()) {
    transmitted += t->frame.wire_size();
    largest = std::max(largest, t->frame.wire_size());
  }
  EXPECT_LE(transmitted, o.send_window + largest); // the window plus at most one frame
  EXPECT_GT(node->metrics().frames_dropped_backpressure, 0u);
  node->handle_sent(c, transmitted, now); // the runtime catches up: more flows
  std::size_t more = 0;
  while (auto t = node->poll_transmit()) more += t->frame.wire_size();
  EXPECT_GT(more, 0u);
}

TEST_F(Scripted, ShutdownTellsEveryPeer) {
  make();
  ConnId a = accept_and_handshake();
  node->handle_shutdown(now);
  drain();
  EXPECT_EQ(disconnect_sent(a), DisconnectReason::shutdown);
  EXPECT_FALSE(node->shutdown_complete());
  node->handle_closed(a, now);
  EXPECT_TRUE(node->shutdown_complete());
}

TEST_F(Scripted, ReconnectBackoffGrowsWithJitterAndIsCapped) {
  NodeOptions o;
  o.bootstrap = {core::Endpoint{"127.0.0.1", 9}};
  o.reconnect_base = 1s;
  o.reconnect_max = 16s;
  make(o);
  std::vector<Timestamp> dials;
  Timestamp end = now + 120s;
  while (now < end) {
    for (auto& a : actions) {
      if (auto* cr = std::get_if<ConnectRequest>(&a)) {
        dials.push_back(now);
        node->handle_connect_failed(cr->conn, now);
      }
    }
    actions.clear();
    drain();
    now += 250ms;
    node->handle_timeout(now);
    drain();
  }
  ASSERT_GE(dials.size(), 6u);
  for (std::size_t i = 1; i < dials.size(); ++i) {
    Duration gap = dials[i] - dials[i - 1];
    Duration nominal = std::min<Duration>(1s * (int64_t{1} << std::min<std::size_t>(i - 1, 20)), 16s);
    EXPECT_GE(gap, nominal / 2 - 250ms) << "dial " << i;
    EXPECT_LE(gap, nominal + 250ms) << "dial " << i;
  }
}

// ---- Many cores on the in-memory network --------------------------------------

NodeOptions opts(std::vector<std::size_t> bootstrap, bool pex = true) {
  NodeOptions o;
  for (auto b : bootstrap) o.bootstrap.push_back(MemNetwork::endpoint_of(b));
  o.peer_exchange = pex;
  o.target_peers = 4;
  o.max_peers = 8;
  return o;
}

TEST(MemNetworkNodes, TwoNodesConnectAndMeasureRtt) {
  MemNetwork net(1, /*latency=*/10ms);
  auto a = net.add(opts({}));
  auto b = net.add(opts({a}));
  net.start_all();
  ASSERT_TRUE(
      net.run_until([&] { return net.node(a).established_count() == 1 && net.node(b).established_count() == 1; }, 5s));
  net.run_for(2s);
  auto peers = net.node(b).peers(net.now());
  ASSERT_EQ(peers.size(), 1u);
  EXPECT_EQ(peers[0].address, net.key(a).address());
  EXPECT_NEAR(peers[0].rtt_ms, 20.0, 1.0); // two one-way latencies
  EXPECT_EQ(peers[0].direction, Direction::outbound);
}

TEST(MemNetworkNodes, TwentyNodesBootstrappedInAChainFormOneMesh) {
  MemNetwork net(2);
  for (std::size_t i = 0; i < 20; ++i)
    net.add(opts(i == 0 ? std::vector<std::size_t>{} : std::vector<std::size_t>{i - 1}));
  net.start_all();
  ASSERT_TRUE(net.run_until([&] { return net.connected(); }, 60s));
  net.run_for(60s); // peer exchange fills in
  EXPECT_TRUE(net.connected());
  std::size_t at_target = 0;
  for (std::size_t i = 0; i < net.size(); ++i) {
    EXPECT_LE(net.node(i).established_count(), 8u);
    if (net.node(i).established_count() >= 4) ++at_target;
  }
  EXPECT_GE(at_target, 18u) << "peer exchange should bring nearly every node to its target";
}

TEST(MemNetworkNodes, KilledNodeIsNoticedAndRejoinsAfterRestart) {
  MemNetwork net(3);
  for (std::size_t i = 0; i < 20; ++i)
    net.add(opts(i == 0 ? std::vector<std::size_t>{} : std::vector<std::size_t>{i - 1}));
  net.start_all();
  net.run_for(60s);
  ASSERT_TRUE(net.connected());
  const std::size_t victim = 7;
  const auto victim_addr = net.key(victim).address();
  net.kill(victim);
  auto anyone_sees_victim = [&] {
    for (std::size_t i = 0; i < net.size(); ++i) {
      if (i == victim) continue;
      for (const auto& p : net.node(i).peers(net.now())) {
        if (p.address == victim_addr) return true;
      }
    }
    return false;
  };
  ASSERT_TRUE(net.run_until([&] { return !anyone_sees_victim(); }, 1s));
  net.run_for(10s);
  EXPECT_TRUE(net.connected()) << "the others stay one mesh without node " << victim;
  net.restart(victim);
  EXPECT_TRUE(net.run_until([&] { return anyone_sees_victim() && net.connected(); }, 30s));
}

TEST(MemNetworkNodes, WithoutPeerExchangeOnlyBootstrapLinksForm) {
  MemNetwork net(4);
  for (std::size_t i = 0; i < 5; ++i) {
    net.add(opts(i == 0 ? std::vector<std::size_t>{} : std::vector<std::size_t>{i - 1}, /*pex=*/false));
  }
  net.start_all();
  net.run_for(20s);
  for (std::size_t i = 0; i < 5; ++i) {
    std::size_t expected = (i == 0 || i == 4) ? 1 : 2; // a line
    EXPECT_EQ(net.node(i).established_count(), expected) << "node " << i;
  }
}

TEST(MemNetworkNodes, SameSeedSameHistory) {
  auto history = [](uint64_t seed) {
    MemNetwork net(seed);
    for (std::size_t i = 0; i < 10; ++i)
      net.add(opts(i == 0 ? std::vector<std::size_t>{} : std::vector<std::size_t>{i - 1}));
    net.start_all();
    net.run_for(20s);
    std::vector<std::string> log;
    for (const auto& [i, e] : net.events()) {
      if (auto* pe = std::get_if<PeerEstablished>(&e))
        log.push_back(std::to_string(i) + ">" + pe->address.to_lower_hex());
    }
    return log;
  };
  EXPECT_EQ(history(5), history(5));
  EXPECT_NE(history(5), history(6));
}

TEST(MemNetworkNodes, GracefulShutdownIsSeenAsShutdown) {
  MemNetwork net(6);
  auto a = net.add(opts({}));
  auto b = net.add(opts({a}));
  net.start_all();
  ASSERT_TRUE(net.run_until([&] { return net.node(a).established_count() == 1; }, 5s));
  net.shutdown(b);
  ASSERT_TRUE(net.run_until([&] { return net.node(b).shutdown_complete(); }, 2s));
  net.run_for(100ms); // the Disconnect frame is still on the wire
  bool saw = false;
  for (const auto& [i, e] : net.events()) {
    if (auto* pc = std::get_if<PeerClosed>(&e); pc && i == a && pc->by_peer && pc->reason == DisconnectReason::shutdown)
      saw = true;
  }
  EXPECT_TRUE(saw);
}

} // namespace
} // namespace openstreaming::agent
