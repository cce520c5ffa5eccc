// Six real `openstreaming node` processes on loopback, bootstrapped in a chain.
#include "support/node_process.h"
#include "support/wait.h"

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <set>
#include <thread>

namespace openstreaming {
namespace {

using test::NodeProcess;
using test::NodeSpec;

using test::wait_until;

// The running nodes form one connected graph over the links their APIs report.
bool mesh_connected(const std::vector<std::unique_ptr<NodeProcess>>& nodes) {
  std::map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    if (nodes[i]->running()) index[nodes[i]->address().to_checksum_hex()] = i;
  }
  if (index.empty()) return true;
  std::map<std::size_t, std::vector<std::size_t>> adj;
  for (auto [addr, i] : index) {
    for (const auto& p : nodes[i]->peer_addresses()) {
      if (auto it = index.find(p); it != index.end()) adj[i].push_back(it->second);
    }
  }
  std::set<std::size_t> seen{index.begin()->second};
  std::vector<std::size_t> stack{index.begin()->second};
  while (!stack.empty()) {
    auto i = stack.back();
    stack.pop_back();
    for (auto j : adj[i]) {
      if (seen.insert(j).second) stack.push_back(j);
    }
  }
  return seen.size() == index.size();
}

bool anyone_lists(const std::vector<std::unique_ptr<NodeProcess>>& nodes, const std::string& address) {
  for (const auto& n : nodes) {
    if (!n->running()) continue;
    for (const auto& p : n->peer_addresses()) {
      if (p == address) return true;
    }
  }
  return false;
}

TEST(P2pMesh, SixDaemonsInAChainFormAMeshSurviveAKillAndRejoin) {
  test::TempDir dir;
  std::vector<std::unique_ptr<NodeProcess>> nodes;
  for (std::size_t i = 0; i < 6; ++i) {
    NodeSpec spec;
    if (i > 0) spec.bootstrap = {nodes[i - 1]->p2p()};
    spec.config_toml = test::kFastTiming;
    nodes.push_back(std::make_unique<NodeProcess>(dir, "n" + std::to_string(i), 100 + i, spec));
    nodes.back()->start();
  }
  ASSERT_TRUE(wait_until([&] { return mesh_connected(nodes); }, std::chrono::seconds(20)));
  // Peer exchange turns the chain into a denser mesh.
  EXPECT_TRUE(wait_until([&] { return nodes[5]->peer_addresses().size() >= 3; }, std::chrono::seconds(20)));

  // kill -9 a node in the middle of the chain: noticed by everyone, the rest stay one mesh.
  const std::string victim = nodes[2]->address().to_checksum_hex();
  nodes[2]->kill9();
  ASSERT_TRUE(wait_until([&] { return !anyone_lists(nodes, victim); }, std::chrono::seconds(10)));
  EXPECT_TRUE(wait_until([&] { return mesh_connected(nodes); }, std::chrono::seconds(10)));

  // It comes back with the same key and rejoins.
  nodes[2]->start();
  EXPECT_TRUE(
      wait_until([&] { return anyone_lists(nodes, victim) && mesh_connected(nodes); }, std::chrono::seconds(20)));

  // Status reports who the node is.
  auto status = nodes[0]->get_json("/api/status");
  EXPECT_EQ(status["address"], nodes[0]->address().to_checksum_hex());
  EXPECT_EQ(status["p2p"], nodes[0]->p2p());
  EXPECT_TRUE(status["uptime_s"].is_number());

  // SIGTERM: every node exits 0 after telling its peers.
  for (auto& n : nodes) EXPECT_EQ(n->stop(), 0);
}

TEST(P2pMesh, NoPeerExchangeKeepsAnExactLine) {
  test::TempDir dir;
  std::vector<std::unique_ptr<NodeProcess>> nodes;
  for (std::size_t i = 0; i < 3; ++i) {
    NodeSpec spec;
    if (i > 0) spec.bootstrap = {nodes[i - 1]->p2p()};
    spec.peer_exchange = false;
    spec.config_toml = test::kFastTiming;
    nodes.push_back(std::make_unique<NodeProcess>(dir, "l" + std::to_string(i), 200 + i, spec));
    nodes.back()->start();
  }
  ASSERT_TRUE(wait_until([&] { return mesh_connected(nodes); }, std::chrono::seconds(15)));
  std::this_thread::sleep_for(std::chrono::seconds(2));
  EXPECT_EQ(nodes[0]->peer_addresses().size(), 1u);
  EXPECT_EQ(nodes[1]->peer_addresses().size(), 2u);
  EXPECT_EQ(nodes[2]->peer_addresses().size(), 1u);
}

TEST(P2pMesh, BadConfigurationIsAClearErrorWithExitCode2) {
  test::TempDir dir;
  struct Case {
    const char* name;
    std::string toml;
    std::vector<std::string> args;
    const char* message;
  } cases[] = {
      {"unknown key", "kee = \"x\"\n", {}, "unknown key 'kee'"},
      {"wrong type", "max_peers = \"many\"\n", {}, "'max_peers' must be an integer"},
      {"syntax", "listen = \n", {}, "line 1"},
      {"no key", "", {}, "no key"},
      {"bad bootstrap", "key = \"k\"\n", {"--bootstrap", "nowhere"}, "--bootstrap"},
      {"bad role", "key = \"k\"\n", {"--role", "dj"}, "unknown role 'dj'"},
      {"missing key file", "key = \"/nonexistent/key.json\"\n", {}, "/nonexistent/key.json"},
  };
  for (const auto& c : cases) {
    std::string cfg = dir.write(std::string("bad-") + std::to_string(&c - cases) + ".toml", c.toml);
    std::vector<std::string> argv = {OPENSTREAMING_BIN, "node", "--config", cfg};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    test::SpawnOptions opts;
    opts.env["OPENSTREAMING_PASSWORD"] = "x";
    auto r = test::run(argv, opts, std::chrono::seconds(10));
    EXPECT_EQ(r.exit_code, 2) << c.name << ": " << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << c.name << ": " << r.err;
  }
  auto missing = test::run({OPENSTREAMING_BIN, "node", "--config", dir.file("absent.toml")});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("absent.toml"), std::string::npos);
}

} // namespace
} // namespace openstreaming
