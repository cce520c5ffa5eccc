// `openstreaming demo` as a newcomer runs it: it exits 0 after --duration with
// a summary, leaves no process behind (also when it is itself killed with
// SIGKILL), and its dashboard works in a real browser (Chromium, playwright-core).
#include "support/http_client.h"
#include "support/process.h"
#include "support/temp_dir.h"
#include "support/wait.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <cstdio>
#include <dirent.h>
#include <filesystem>
#include <fstream>

namespace openstreaming {
namespace {

using nlohmann::json;

// Processes whose command line mentions `needle` (the demo's data dir).
std::vector<int> processes_mentioning(const std::string& needle) {
  std::vector<int> out;
  DIR* d = ::opendir("/proc");
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    int pid = std::atoi(e->d_name);
    if (pid <= 0) continue;
    std::ifstream f("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
    std::string cmd((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    std::replace(cmd.begin(), cmd.end(), '\0', ' ');
    if (cmd.find(needle) != std::string::npos) out.push_back(pid);
  }
  ::closedir(d);
  return out;
}

TEST(Demo, HeadlessRunExitsZeroPrintsTheSummaryAndLeavesNothingBehind) {
  test::TempDir dir;
  std::string data = dir.file("demo");
  auto r = test::run({OPENSTREAMING_BIN, "demo", "--headless", "--duration", "40", "--http", "127.0.0.1:0", "--nodes",
                      "4", "--data-dir", data},
                     {}, std::chrono::seconds(150));
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  for (const char* line : {"== summary", "parts delivered", "continuity", "glass-to-glass", "tickets", "balance change",
                           "misbehaving relay", "stream reached every viewer: yes"}) {
    EXPECT_NE(r.out.find(line), std::string::npos) << line << "\n" << r.out;
  }
  // Outcomes, not labels: tickets were won and redeemed, and what one side
  // gained the others paid. (Whether the dropping relay is found out depends on
  // whether a viewer's route runs through it in a 4-relay mesh: not asserted.)
  unsigned long long won = 0, redeemed = 0;
  bool found = false; // the first "won N, redeemed M" in the summary
  for (auto at = r.out.find("won "); !found && at != std::string::npos; at = r.out.find("won ", at + 1))
    found = std::sscanf(r.out.c_str() + at, "won %llu, redeemed %llu", &won, &redeemed) == 2;
  ASSERT_TRUE(found) << r.out;
  EXPECT_GT(won, 0u);
  EXPECT_GT(redeemed, 0u);
  EXPECT_NE(r.out.find("value conserved: yes"), std::string::npos) << r.out;
  EXPECT_TRUE(test::wait_until([&] { return processes_mentioning(data).empty(); }, std::chrono::seconds(5)))
      << "left behind: " << processes_mentioning(data).size();
}

// `demo --chain anvil`: the same network settles on an Anvil chain the demo
// starts, with the contracts deployed; the dashboard's ledger panel reads the
// chain, tickets are redeemed on it, value is conserved once the gas paid is
// counted, and the chain goes with the demo.
TEST(Demo, OnAnAnvilChainTicketsRedeemOnChainAndTheDashboardReadsIt) {
  test::TempDir dir;
  std::string data = dir.file("demo");
  test::Process demo({OPENSTREAMING_BIN, "demo", "--headless", "--duration", "40", "--http", "127.0.0.1:0", "--nodes",
                      "3", "--chain", "anvil", "--data-dir", data});
  auto ledger = demo.wait_for_line("ledger       evm+http://127.0.0.1:", std::chrono::seconds(120));
  ASSERT_TRUE(ledger) << demo.err();
  const std::string rpc = ledger->substr(std::string("ledger       evm+http://").size(),
                                         ledger->find("  (") - std::string("ledger       evm+http://").size());
  EXPECT_TRUE(std::filesystem::exists(data + "/deployments.json"));
  auto line = demo.wait_for_line("dashboard http://", std::chrono::seconds(120));
  ASSERT_TRUE(line) << demo.err();
  std::string origin = line->substr(std::string("dashboard http://").size());
  origin = origin.substr(0, origin.find('/'));
  // The ledger panel's data: the chain's id and height, the payers' deposits in the broker.
  json state;
  ASSERT_TRUE(test::wait_until(
      [&] {
        auto r = test::http_get(origin, "/api/demo/state");
        state = json::parse(r.body, nullptr, false);
        return r.status == 200 && state.is_object() && state.contains("ledger") &&
               state["ledger"]["accounts"].size() == 1 + 3 + 3;
      },
      std::chrono::seconds(30)))
      << state.dump(1);
  const json& l = state["ledger"];
  EXPECT_EQ(l["backend"], "evm");
  EXPECT_EQ(l["status"]["chain_id"], "31337") << l.dump(1);
  EXPECT_GT(l["status"]["height"].get<uint64_t>(), 0u);
  for (const auto& a : l["accounts"]) {
    if (a["name"] == "broadcaster") continue;
    EXPECT_EQ(a["deposit"], "10000000000000000000") << a.dump();
    EXPECT_EQ(a["reserve"], "1000000000000000000") << a.dump();
  }
  auto code = demo.wait(std::chrono::seconds(150));
  ASSERT_TRUE(code.has_value()) << demo.out();
  const std::string out = demo.out();
  EXPECT_EQ(*code, 0) << out << demo.err();
  EXPECT_NE(out.find("stream reached every viewer: yes"), std::string::npos) << out;
  unsigned long long won = 0, redeemed = 0;
  bool found = false;
  for (auto at = out.find("won "); !found && at != std::string::npos; at = out.find("won ", at + 1))
    found = std::sscanf(out.c_str() + at, "won %llu, redeemed %llu", &won, &redeemed) == 2;
  ASSERT_TRUE(found) << out;
  EXPECT_GT(redeemed, 0u) << out;
  EXPECT_NE(out.find("value conserved: yes"), std::string::npos) << out;
  EXPECT_NE(out.find(" in gas"), std::string::npos) << out;
  // The chain stopped with the demo: nothing answers at its address.
  EXPECT_NE(test::http_get(rpc, "/").status, 200);
}

TEST(Demo, KilledWithSigkillItsChildrenDieToo) {
  test::TempDir dir;
  std::string data = dir.file("demo");
  test::Process demo(
      {OPENSTREAMING_BIN, "demo", "--headless", "--http", "127.0.0.1:0", "--nodes", "3", "--data-dir", data});
  ASSERT_TRUE(demo.wait_for_line("dashboard http://", std::chrono::seconds(60))) << demo.err();
  EXPECT_GE(processes_mentioning(data).size(), 8u); // ledger, broadcaster, 3 relays, 3 viewers (and the demo)
  demo.signal(SIGKILL);
  demo.wait(std::chrono::seconds(10));
  EXPECT_TRUE(test::wait_until([&] { return processes_mentioning(data).empty(); }, std::chrono::seconds(10)))
      << "orphans: " << processes_mentioning(data).size();
}

// Keystores and the password file hold secrets: 0600, like `keys new`. The
// page reads the nodes through the demo's own origin (nodes send no CORS headers).
TEST(Demo, SecretsAre0600AndNodesAreReadThroughTheDashboardsOrigin) {
  test::TempDir dir;
  std::string data = dir.file("demo");
  test::Process demo(
      {OPENSTREAMING_BIN, "demo", "--headless", "--http", "127.0.0.1:0", "--nodes", "3", "--data-dir", data});
  auto line = demo.wait_for_line("dashboard http://", std::chrono::seconds(60));
  ASSERT_TRUE(line) << demo.err();
  int secrets = 0;
  for (const auto& e : std::filesystem::directory_iterator(data)) {
    std::string name = e.path().filename().string();
    if (name != "password" && !name.ends_with(".key.json")) continue;
    ++secrets;
    EXPECT_EQ(std::filesystem::status(e.path()).permissions() & std::filesystem::perms::all,
              std::filesystem::perms::owner_read | std::filesystem::perms::owner_write)
        << name;
  }
  EXPECT_EQ(secrets, 1 + 1 + 3 + 3); // password, broadcaster, relays, viewers
  std::string origin = line->substr(std::string("dashboard http://").size());
  origin = origin.substr(0, origin.find('/'));
  auto status = test::http_get(origin, "/node/viewer1/api/status");
  EXPECT_EQ(status.status, 200) << status.body;
  EXPECT_NE(status.body.find("\"address\""), std::string::npos) << status.body;
  EXPECT_EQ(test::http_get(origin, "/node/nobody/api/status").status, 404);
  EXPECT_EQ(test::http_get(origin, "/node/viewer1/elsewhere").status, 404);
  demo.signal(SIGTERM);
  EXPECT_TRUE(demo.wait(std::chrono::seconds(60)).has_value());
}

TEST(Demo, BadFlagsAreClearErrors) {
  auto r = test::run({OPENSTREAMING_BIN, "demo", "--nodes", "1"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--nodes must be 3..32"), std::string::npos) << r.err;
  r = test::run({OPENSTREAMING_BIN, "demo", "--input", "/no/such/file.mp4"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("no such file"), std::string::npos) << r.err;
  r = test::run({OPENSTREAMING_BIN, "demo", "--chain", "ropsten"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--chain must be embedded or anvil"), std::string::npos) << r.err;
  r = test::run({OPENSTREAMING_BIN, "demo", "--headless", "--chain", "anvil", "--anvil", "/no/such/anvil", "--http",
                 "127.0.0.1:0"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("no Anvil binary at /no/such/anvil"), std::string::npos) << r.err;
  r = test::run({OPENSTREAMING_BIN, "demo", "--http", "nonsense"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--http"), std::string::npos) << r.err;
}

TEST(Demo, DashboardShowsTheMeshPlaysTheVideoAndOpensANodePanelInChromium) {
  test::TempDir dir;
  std::string data = dir.file("demo");
  test::Process demo(
      {OPENSTREAMING_BIN, "demo", "--headless", "--http", "127.0.0.1:0", "--nodes", "4", "--data-dir", data});
  auto line = demo.wait_for_line("dashboard http://", std::chrono::seconds(60));
  ASSERT_TRUE(line) << demo.err();
  std::string url = line->substr(std::string("dashboard ").size());
  std::filesystem::create_directories(OPENSTREAMING_ARTIFACTS_DIR);
  std::string shot = std::string(OPENSTREAMING_ARTIFACTS_DIR) + "/dashboard.png";
  auto r = test::run({"node", std::string(OPENSTREAMING_BROWSER_DIR) + "/dashboard.mjs", url, shot, "8", "5"}, {},
                     std::chrono::seconds(120));
  // On failure, the end of the demo's own log too: a node that died or a stall shows there.
  auto demo_tail = [&] {
    std::string e = demo.err();
    return e.size() > 8000 ? e.substr(e.size() - 8000) : e;
  };
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err << "\n--- demo stderr (end) ---\n" << demo_tail();
  EXPECT_NE(r.out.find("\"ok\":true"), std::string::npos) << r.out;
  EXPECT_TRUE(std::filesystem::exists(shot));
  demo.signal(SIGTERM);
  EXPECT_TRUE(demo.wait(std::chrono::seconds(60)).has_value());
  EXPECT_TRUE(test::wait_until([&] { return processes_mentioning(data).empty(); }, std::chrono::seconds(10)));
}

} // namespace
} // namespace openstreaming
