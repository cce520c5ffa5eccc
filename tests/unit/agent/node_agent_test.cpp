// The empathy protocol between two nodes on the in-memory network: signed
// neighbour states out and in (src/agent/node_agent.cpp).
#include "agent/node.h"
#include "core/hex.h"
#include "core/keccak.h"
#include "support/mem_network.h"
#include "unit/agent/test_values.h"

#include <gtest/gtest.h>

#include <wire.pb.h>

namespace openstreaming::agent {
namespace {

using namespace test_values;

TEST(EmpathyProtocol, SignedStatesAreExchangedAndAForgeryIsShunned) {
  test::MemNetwork net(31);
  NodeOptions o;
  o.peer_exchange = false;
  o.agent_config.economics.capacity_kbps = 5000;
  auto a = net.add(o);
  NodeOptions ob = o;
  ob.bootstrap = {test::MemNetwork::endpoint_of(a)};
  auto b = net.add(ob);
  net.start_all();
  ASSERT_TRUE(net.run_until([&] { return net.connected(); }, 10s));
  net.run_for(5s);
  const NeighbourProfile* pb = net.node(a).agent().memory.find(net.key(b).address());
  ASSERT_NE(pb, nullptr);
  EXPECT_GE(pb->states_received, 2u);
  ASSERT_TRUE(pb->claims);
  EXPECT_EQ(pb->claims->capacity_kbps, 5000u);
  EXPECT_EQ(pb->claims->quote_wei_per_mb, core::Amount::from_wei(1'200'000'000));
  EXPECT_EQ(net.node(a).agent().empathy.status(net.key(b).address(), net.node(a).wall_ms(net.now())),
            NeighbourStatus::trusted);

  // b sends a state signed by some other key: a shuns b and will not take it back.
  net.with(b, [&](Node& n) {
    wire::v1::StateBody body;
    body.set_seq(999);
    body.set_capacity_kbps(1'000'000);
    std::string bytes = body.SerializeAsString();
    core::DeterministicRandom rng(5);
    auto other = core::PrivateKey::generate(rng);
    core::Keccak256 h;
    h.update(as_bytes(std::string_view("openstreaming/state/v1"))).update(as_bytes(bytes));
    auto sig = core::sign_hash(other, h.finalize());
    wire::v1::NeighbourState msg;
    msg.set_body(bytes);
    msg.set_signature(std::string(sig.bytes().begin(), sig.bytes().end()));
    core::Frame f;
    f.type = static_cast<uint16_t>(core::MediaFrameType::neighbour_state);
    f.header.resize(msg.ByteSizeLong());
    msg.SerializeToArray(f.header.data(), static_cast<int>(f.header.size()));
    n.send_app_frame(n.established_conns().at(0), std::move(f));
  });
  net.run_for(3s);
  int64_t now_ms = net.node(a).wall_ms(net.now());
  EXPECT_EQ(net.node(a).agent().empathy.status(net.key(b).address(), now_ms), NeighbourStatus::shunned);
  EXPECT_EQ(net.node(a).agent().memory.find(net.key(b).address())->states_forged, 1u);
  EXPECT_EQ(net.node(a).established_count(), 0u);
  EXPECT_EQ(net.node(a).metrics().disconnects.count({"shunned", "local"}), 1u);
}

// A state signed by its sender, then replayed, and older ones: only the first
// costs a signature recovery. The replays and the sender's own states, which
// the replayed seq overtook, are dropped on their seq before any ECDSA.
TEST(EmpathyProtocol, AReplayedOrStaleStateCostsNoSignatureCheck) {
  test::MemNetwork net(32);
  auto recoveries = std::make_shared<int>(0);
  NodeOptions o;
  o.peer_exchange = false;
  o.state_recover = [recoveries](const Hash256& digest,
                                 const core::RecoverableSignature& sig) -> Result<core::Address> {
    ++*recoveries;
    auto pub = core::recover_public_key(digest, sig);
    if (!pub) return pub.error();
    return pub->address();
  };
  auto a = net.add(o);
  NodeOptions ob;
  ob.peer_exchange = false;
  ob.bootstrap = {test::MemNetwork::endpoint_of(a)};
  auto b = net.add(ob);
  net.start_all();
  ASSERT_TRUE(net.run_until([&] { return net.connected(); }, 10s));
  net.run_for(3s);
  ASSERT_GT(*recoveries, 0) << "b's own states are verified";
  auto state_frame = [&](uint64_t seq) {
    wire::v1::StateBody body;
    body.set_seq(seq);
    body.set_capacity_kbps(4000);
    std::string bytes = body.SerializeAsString();
    core::Keccak256 h;
    h.update(as_bytes(std::string_view("openstreaming/state/v1"))).update(as_bytes(bytes));
    auto sig = core::sign_hash(net.key(b), h.finalize());
    wire::v1::NeighbourState msg;
    msg.set_body(bytes);
    msg.set_signature(std::string(sig.bytes().begin(), sig.bytes().end()));
    core::Frame f;
    f.type = static_cast<uint16_t>(core::MediaFrameType::neighbour_state);
    f.header.resize(msg.ByteSizeLong());
    msg.SerializeToArray(f.header.data(), static_cast<int>(f.header.size()));
    return f;
  };
  const core::Frame fresh = state_frame(1'000'000), old = state_frame(2);
  const int before = *recoveries;
  const uint64_t stale_before = net.node(a).metrics().states_stale;
  net.with(b, [&](Node& n) {
    ConnId c = n.established_conns().at(0);
    n.send_app_frame(c, fresh);
    for (int i = 0; i < 6; ++i) {
      n.send_app_frame(c, fresh); // replayed
      n.send_app_frame(c, old);   // older than the last verified
    }
  });
  net.run_for(4s); // b's own states (seq below a million) keep coming: stale too
  EXPECT_EQ(*recoveries, before + 1) << "a replayed or stale state was signature-checked";
  EXPECT_GE(net.node(a).metrics().states_stale, stale_before + 12);
  const NeighbourProfile* pb = net.node(a).agent().memory.find(net.key(b).address());
  ASSERT_NE(pb, nullptr);
  ASSERT_TRUE(pb->claims);
  EXPECT_EQ(pb->claims->capacity_kbps, 4000u);
  EXPECT_EQ(pb->states_forged, 0u);
  EXPECT_EQ(net.node(a).established_count(), 1u) << "replays are dropped, not a reason to disconnect";
}

} // namespace
} // namespace openstreaming::agent
