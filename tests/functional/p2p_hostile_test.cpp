// Hostile peers against a real node: garbage, forged identities, broken
// frames, floods. Each is answered with a disconnect (where a session exists),
// counted in /metrics, and the node keeps serving its honest peer and its API.
#include "core/keccak.h"
#include "support/node_process.h"
#include "support/tls_client.h"
#include "support/wait.h"
#include "support/wire.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

#include <thread>

namespace openstreaming {
namespace {

using agent::DisconnectReason;
using core::FrameType;
using test::NodeProcess;
using test::TlsClient;

using test::wait_until;

class P2pHostile : public ::testing::Test {
protected:
  void SetUp() override {
    test::NodeSpec spec;
    spec.config_toml = std::string("max_peers = 4\ntarget_peers = 2\n") + test::kFastTiming;
    target = std::make_unique<NodeProcess>(dir, "target", 300, spec);
    target->start();
    test::NodeSpec honest_spec;
    honest_spec.bootstrap = {target->p2p()};
    honest_spec.config_toml = test::kFastTiming;
    honest = std::make_unique<NodeProcess>(dir, "honest", 301, honest_spec);
    honest->start();
    ASSERT_TRUE(wait_until([&] { return target->peer_addresses().size() == 1; }, std::chrono::seconds(10)));
  }
  void TearDown() override {
    // The node kept serving: the honest peer is still connected and the API answers.
    auto peers = target->peer_addresses();
    EXPECT_NE(std::find(peers.begin(), peers.end(), honest->address().to_checksum_hex()), peers.end());
    EXPECT_EQ(target->get_json("/api/status")["address"], target->address().to_checksum_hex());
  }

  // TLS, read the node's hello, send ours (honest unless told otherwise).
  std::unique_ptr<TlsClient> handshake(const core::PrivateKey& key) {
    auto c = std::make_unique<TlsClient>(target->p2p());
    auto their_hello = c->read_frame();
    EXPECT_TRUE(their_hello && their_hello->type == static_cast<uint16_t>(FrameType::hello));
    c->send_frame(test::frame_of(FrameType::hello, test::make_hello(key, agent::TlsSide::client, c->exporter())));
    return c;
  }
  // Reads frames until a Disconnect and returns its reason.
  static std::optional<DisconnectReason> disconnect_of(TlsClient& c) {
    while (auto f = c.read_frame()) {
      if (auto r = test::disconnect_reason(*f)) return r;
    }
    return std::nullopt;
  }

  test::TempDir dir;
  std::unique_ptr<NodeProcess> target, honest;
  core::DeterministicRandom rng{77};
};

TEST_F(P2pHostile, GarbageInsteadOfTlsIsCountedAndDropped) {
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket sock(io);
  auto colon = target->p2p().rfind(':');
  boost::asio::ip::tcp::resolver resolver(io);
  boost::asio::connect(sock, resolver.resolve(target->p2p().substr(0, colon), target->p2p().substr(colon + 1)));
  boost::asio::write(sock, boost::asio::buffer(std::string("GET / HTTP/1.0\r\n\r\n\x01\x02\x03 garbage garbage")));
  EXPECT_TRUE(
      wait_until([&] { return target->metric("openstreaming_handshake_failures_total", {"reason=\"tls\""}) >= 1; },
                 std::chrono::seconds(10)));
}

TEST_F(P2pHostile, ForgedIdentityIsRefused) {
  auto impostor = core::PrivateKey::generate(rng);
  TlsClient c(target->p2p());
  ASSERT_TRUE(c.read_frame());
  // Claims the honest node's address, signs with its own key.
  c.send_frame(test::frame_of(FrameType::hello,
                              test::make_hello(impostor, agent::TlsSide::client, c.exporter(), honest->address())));
  EXPECT_EQ(disconnect_of(c), DisconnectReason::identity_proof_failed);
  EXPECT_TRUE(c.wait_closed());
  EXPECT_GE(target->metric("openstreaming_handshake_failures_total", {"reason=\"identity_proof_failed\""}), 1);
}

TEST_F(P2pHostile, IncompatibleVersionIsRefusedWithTheReason) {
  auto key = core::PrivateKey::generate(rng);
  TlsClient c(target->p2p());
  ASSERT_TRUE(c.read_frame());
  c.send_frame(test::frame_of(FrameType::hello,
                              test::make_hello(key, agent::TlsSide::client, c.exporter(), std::nullopt, 9, 7)));
  EXPECT_EQ(disconnect_of(c), DisconnectReason::incompatible_version);
  EXPECT_GE(
      target->metric("openstreaming_disconnects_total", {"reason=\"incompatible_version\"", "initiator=\"local\""}), 1);
}

TEST_F(P2pHostile, OversizedFrameDisconnects) {
  auto c = handshake(core::PrivateKey::generate(rng));
  const uint8_t huge[10] = {0x04, 0x00, 0x00, 0x00, 0x00, 0x02, 0, 0, 0, 0}; // 64 MiB body announced
  c->send_raw(ByteView(huge, sizeof(huge)));
  EXPECT_EQ(disconnect_of(*c), DisconnectReason::oversized_frame);
  EXPECT_TRUE(wait_until(
      [&] { return target->metric("openstreaming_protocol_errors_total", {"reason=\"oversized_frame\""}) >= 1; },
      std::chrono::seconds(5)));
}

TEST_F(P2pHostile, UnknownFrameTypeDisconnects) {
  auto c = handshake(core::PrivateKey::generate(rng));
  core::Frame odd;
  odd.type = 4242;
  c->send_frame(odd);
  EXPECT_EQ(disconnect_of(*c), DisconnectReason::unknown_frame_type);
  EXPECT_GE(target->metric("openstreaming_protocol_errors_total", {"reason=\"unknown_frame_type\""}), 1);
}

TEST_F(P2pHostile, TruncatedFrameIsCounted) {
  auto c = handshake(core::PrivateKey::generate(rng));
  const uint8_t partial[7] = {0x00, 0x00, 0x01, 0x00, 0x00, 0x02, 0x00}; // announces 256 bytes, sends 3
  c->send_raw(ByteView(partial, sizeof(partial)));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  c->close();
  EXPECT_TRUE(wait_until(
      [&] { return target->metric("openstreaming_protocol_errors_total", {"reason=\"truncated_frame\""}) >= 1; },
      std::chrono::seconds(5)));
}

TEST_F(P2pHostile, ConnectionFloodBeyondTheLimits) {
  // 1. Half-open TCP connections that never speak TLS: beyond the pending-handshake cap they are closed at once.
  boost::asio::io_context io;
  std::vector<std::unique_ptr<boost::asio::ip::tcp::socket>> idle;
  auto colon = target->p2p().rfind(':');
  boost::asio::ip::tcp::resolver resolver(io);
  auto results = resolver.resolve(target->p2p().substr(0, colon), target->p2p().substr(colon + 1));
  for (int i = 0; i < 100; ++i) {
    idle.push_back(std::make_unique<boost::asio::ip::tcp::socket>(io));
    boost::asio::connect(*idle.back(), results);
  }
  EXPECT_TRUE(wait_until([&] { return target->metric("openstreaming_connections_rejected_total") >= 30; },
                         std::chrono::seconds(10)));
  // The established peer is unaffected meanwhile.
  EXPECT_EQ(target->peer_addresses().size(), 1u);
  idle.clear();

  // 2. Well-behaved sessions beyond max_peers (4) are refused with too_many_peers.
  std::vector<std::unique_ptr<TlsClient>> sessions;
  int refused = 0;
  for (int i = 0; i < 6; ++i) {
    auto c = handshake(core::PrivateKey::generate(rng));
    // An accepted session starts with the node's own frames (get_peers, ping); a refused one with Disconnect.
    auto f = c->read_frame(std::chrono::seconds(3));
    if (f && test::disconnect_reason(*f) == DisconnectReason::too_many_peers) ++refused;
    sessions.push_back(std::move(c));
  }
  EXPECT_GE(refused, 3); // 1 honest + at most 3 more fit under max_peers = 4
  EXPECT_GE(target->metric("openstreaming_disconnects_total", {"reason=\"too_many_peers\""}), 3);
  EXPECT_LE(target->peer_addresses().size(), 4u);
}

} // namespace
} // namespace openstreaming
