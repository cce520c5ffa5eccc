// The live runtime in-process, on loopback: connection lifetimes the Node
// cannot see (dials in flight, closes during a handshake).
#include "net/node_runtime.h"

#include <gtest/gtest.h>

namespace openstreaming::net {
namespace {

// Runs the loop until `done` or `limit` passes; true when `done` held.
template <typename F>
bool run_until(asio::io_context& io, F done, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    io.run_for(std::chrono::milliseconds(10));
    if (io.stopped()) io.restart();
  }
  return true;
}

// A shutdown while a dial is still in its TLS handshake closes that dial. The
// close erases the runtime's entry for the connection while the call that asked
// for it is still running; under ASan a dangling reference there is a
// heap-use-after-free (seen as a daemon aborting on SIGTERM).
TEST(NodeRuntime, ShutdownDuringADialInItsHandshakeFinishesCleanly) {
  asio::io_context io;
  // A peer that accepts TCP and never answers the TLS ClientHello.
  tcp::acceptor silent(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  std::vector<tcp::socket> accepted;
  std::function<void()> accept = [&] {
    silent.async_accept([&](boost::system::error_code ec, tcp::socket s) {
      if (ec) return;
      accepted.push_back(std::move(s));
      accept();
    });
  };
  accept();

  core::DeterministicRandom rng(7);
  agent::NodeOptions options;
  options.bootstrap = {core::Endpoint{"127.0.0.1", silent.local_endpoint().port()}};
  auto rt = NodeRuntime::create(io, core::PrivateKey::generate(rng), options, {});
  ASSERT_TRUE(rt) << rt.error().message;
  (*rt)->start();
  ASSERT_TRUE(run_until(io, [&] { return !accepted.empty(); })) << "the node never dialed its bootstrap peer";

  bool done = false;
  (*rt)->shutdown([&] { done = true; });
  ASSERT_TRUE(run_until(io, [&] { return done; })) << "shutdown never completed";
  EXPECT_TRUE((*rt)->node().shutdown_complete());
}

} // namespace
} // namespace openstreaming::net
