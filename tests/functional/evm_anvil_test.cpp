// The EVM client and our EIP-1559 transactions against a real, independent EVM
// node: Anvil (from the @foundry-rs/anvil npm package, installed by
// scripts/setup), started on 127.0.0.1 with an OS-chosen port and killed by PID.
#include "api/evm_client.h"
#include "core/hex.h"
#include "core/keystore.h"
#include "core/random.h"
#include "ledger/evm/tx.h"
#include "support/anvil.h"
#include "support/node_process.h"
#include "support/process.h"
#include "support/temp_dir.h"
#include "support/wait.h"

#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace openstreaming::api {
namespace {

using test::Anvil;

TEST(EvmAnvil, OurSignedTransactionsAreMinedAndTheClientReadsTheChain) {
  ASSERT_TRUE(std::filesystem::exists(OPENSTREAMING_ANVIL)) << "run scripts/setup (npm ci in contracts/)";
  Anvil anvil;
  EvmClient client(anvil.url);
  auto id = client.chain_id();
  ASSERT_TRUE(id) << id.error().message;
  EXPECT_EQ(*id, U256(31337));

  const core::PrivateKey key = test::anvil_dev_key();
  core::DeterministicRandom rng(5);
  const core::Address payee = core::PrivateKey::generate(rng).address();
  auto before = client.nonce(key.address());
  ASSERT_TRUE(before) << before.error().message;
  const U256 value = U256(1'234'567'890'000ULL);
  auto tx = client.transact(key, payee, value, {});
  ASSERT_TRUE(tx) << tx.error().message;
  auto receipt = client.wait(*tx, 1, std::chrono::seconds(20));
  ASSERT_TRUE(receipt) << receipt.error().message;
  EXPECT_TRUE(receipt->success);
  EXPECT_EQ(receipt->gas_used, 21000u); // a plain transfer
  auto got = client.balance(payee);
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(*got, value);
  EXPECT_EQ(*client.nonce(key.address()), *before + 1);

  // The chain keeps what we signed: the same bytes back, from our signer.
  auto raw = client.rpc("eth_getRawTransactionByHash", {core::to_hex(*tx)});
  ASSERT_TRUE(raw) << raw.error().message;
  auto bytes = parse_data(*raw);
  ASSERT_TRUE(bytes);
  auto decoded = ledger::evm::decode_eip1559(*bytes);
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_EQ(*ledger::evm::recover_sender(*decoded), key.address());
}

TEST(EvmAnvil, ACreatedContractsRevertReasonIsDecodedAndRefusalsAreClearErrors) {
  Anvil anvil;
  EvmClient client(anvil.url);
  const core::PrivateKey key = test::anvil_dev_key();
  // Init code returning a runtime that always reverts with Error("nope"):
  //   runtime: mstore the ABI of Error(string "nope") at 0 and revert(0, 100)
  //   init:    codecopy(0, 11, len) return(0, len)
  const std::string runtime = "7f08c379a000000000000000000000000000000000000000000000000000000000"
                              "600052"
                              "6020600452"
                              "6004602452"
                              "7f6e6f706500000000000000000000000000000000000000000000000000000000"
                              "604452"
                              "60646000fd";
  const std::size_t len = runtime.size() / 2;
  ASSERT_LT(len, 256u);
  const std::string init = "60" + core::to_hex(Bytes{static_cast<uint8_t>(len)}, false) + "80600b6000396000f3";
  Bytes code = *core::from_hex(init + runtime);
  auto tx = client.transact(key, std::nullopt, 0, code);
  ASSERT_TRUE(tx) << tx.error().message;
  auto receipt = client.wait(*tx, 1, std::chrono::seconds(20));
  ASSERT_TRUE(receipt) << receipt.error().message;
  ASSERT_TRUE(receipt->success);
  ASSERT_TRUE(receipt->contract);
  auto r = client.call(EvmCall{key.address(), *receipt->contract, 0, {}});
  ASSERT_FALSE(r);
  // Decoded from the revert data by our ABI code, not the node's own message text.
  EXPECT_EQ(r.error().message, "eth_call: reverted: nope");

  // A transaction with a nonce already used is refused with the node's reason.
  ledger::evm::Eip1559Transaction stale;
  stale.chain_id = 31337;
  stale.nonce = 0; // used by the creation above
  stale.max_fee_per_gas = U256(100'000'000'000ULL);
  stale.gas_limit = 21000;
  stale.to = key.address();
  auto sent = client.send_raw(ledger::evm::encode(ledger::evm::sign(stale, key)));
  ASSERT_FALSE(sent);
  EXPECT_NE(sent.error().message.find("nonce"), std::string::npos) << sent.error().message;
  // The wrong chain id is refused too.
  stale.chain_id = 1;
  stale.nonce = *client.nonce(key.address());
  sent = client.send_raw(ledger::evm::encode(ledger::evm::sign(stale, key)));
  ASSERT_FALSE(sent);
  EXPECT_FALSE(sent.error().message.empty());
}

// `openstreaming contracts deploy` puts the four contracts on the chain with the
// parameters given as flags, and records where they are.
TEST(EvmAnvil, ContractsDeployRecordsFourContractsWithTheirParameters) {
  Anvil anvil;
  test::TempDir dir;
  core::DeterministicRandom rng(9);
  const std::string key_file =
      dir.write("dev.key.json", core::keystore::encrypt(test::anvil_dev_key(), "test", rng, {1024, 8, 1}));
  const std::string out = dir.file("deployments.json");
  const std::string rpc = anvil.rpc();
  test::SpawnOptions opts;
  opts.env["OPENSTREAMING_PASSWORD"] = "test";
  auto r = test::run({OPENSTREAMING_BIN, "contracts", "deploy", "--rpc", rpc, "--key", key_file, "--out", out,
                      "--round-blocks", "7", "--challenge-blocks", "11", "--unbonding-blocks", "13"},
                     opts, std::chrono::seconds(120));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::ifstream in(out);
  std::stringstream text;
  text << in.rdbuf();
  auto d = nlohmann::json::parse(text.str());
  EXPECT_EQ(d["chain_id"], "31337");
  EXPECT_EQ(d["deployer"], test::anvil_dev_key().address().to_checksum_hex());
  EvmClient client(anvil.url);
  auto getter = [&](const std::string& contract, const std::string& fn) -> U256 {
    auto address = core::Address::parse(d["contracts"][contract]["address"].get<std::string>());
    EXPECT_TRUE(address) << contract;
    auto f = ledger::evm::abi::Function::parse(fn + "()");
    auto call = client.call(EvmCall{std::nullopt, *address, 0, *f->encode_call({})});
    EXPECT_TRUE(call) << contract << "." << fn << ": " << (call ? "" : call.error().message);
    auto word = ledger::evm::abi::decode(ledger::evm::abi::Type::uint(), call ? *call : Bytes{});
    return word ? word->as_uint() : U256(0);
  };
  EXPECT_EQ(getter("TicketBroker", "roundLength"), U256(7));
  EXPECT_EQ(getter("TicketBroker", "unlockRounds"), U256(2));
  EXPECT_EQ(getter("TicketBroker", "ticketValidRounds"), U256(4));
  EXPECT_EQ(getter("StreamChannels", "challengeBlocks"), U256(11));
  EXPECT_EQ(getter("Staking", "unbondingBlocks"), U256(13));
  ASSERT_TRUE(d["contracts"].contains("ServiceRegistry"));
  // A deployment is never overwritten.
  r = test::run({OPENSTREAMING_BIN, "contracts", "deploy", "--rpc", rpc, "--key", key_file, "--out", out}, opts,
                std::chrono::seconds(60));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("exists"), std::string::npos) << r.err;
}

TEST(EvmAnvil, AnUnreachableNodeIsAnErrorWithinTheDeadline) {
  uint16_t port;
  {
    Anvil gone;
    port = gone.url.port;
    gone.proc->signal(SIGKILL);
    gone.proc->wait(std::chrono::seconds(10));
  }
  EvmClient client(*HttpUrl::parse("http://127.0.0.1:" + std::to_string(port) + "/"), std::chrono::milliseconds(500));
  auto id = client.chain_id();
  ASSERT_FALSE(id);
  EXPECT_EQ(id.error().code, Errc::io);
}

// ---- The EVM ledger backend: nodes settle on the chain ------------------------

using nlohmann::json;
namespace abi = ledger::evm::abi;

U256 ether(uint64_t n) {
  return U256(n) * U256(1'000'000'000'000'000'000ULL);
}

// Deploys the contracts with `openstreaming contracts deploy`; the path of deployments.json.
std::string deploy(const Anvil& anvil, test::TempDir& dir, const std::vector<std::string>& flags) {
  auto out = anvil.deploy(dir, flags);
  EXPECT_TRUE(out) << out.error().message;
  return out ? *out : dir.file("deployments.json");
}

core::Address broker_of(const std::string& deployments) {
  std::ifstream in(deployments);
  std::stringstream text;
  text << in.rdbuf();
  auto d = json::parse(text.str());
  return *core::Address::parse(d["contracts"]["TicketBroker"]["address"].get<std::string>());
}

// The key NodeProcess makes from `seed`.
core::PrivateKey node_key(uint64_t seed) {
  core::DeterministicRandom rng(seed);
  return core::PrivateKey::generate(rng);
}

void pay(EvmClient& client, const core::PrivateKey& from, const core::Address& to, const U256& value,
         const Bytes& data = {}) {
  auto tx = client.transact(from, to, value, data);
  ASSERT_TRUE(tx) << tx.error().message;
  auto receipt = client.wait(*tx, 1, std::chrono::seconds(30));
  ASSERT_TRUE(receipt) << receipt.error().message;
  ASSERT_TRUE(receipt->success);
}

U256 funds_of(EvmClient& client, const core::Address& broker, const core::Address& sender) {
  auto f = abi::Function::parse("getSender(address)");
  auto r = client.call(EvmCall{std::nullopt, broker, 0, *f->encode_call(std::vector{abi::Value::address(sender)})});
  EXPECT_TRUE(r) << r.error().message;
  auto v = abi::decode(std::vector{abi::Type::uint(), abi::Type::uint(), abi::Type::uint()}, r ? *r : Bytes{});
  EXPECT_TRUE(v);
  return v ? (*v)[0].as_uint() + (*v)[1].as_uint() : U256(0);
}

json relation(const json& payments, const core::Address& other) {
  for (const auto& r : payments["relationships"]) {
    if (r["address"] == other.to_checksum_hex()) return r;
  }
  return nullptr;
}

U256 wei(const json& j) {
  return j.is_string() ? core::Amount::from_decimal_wei(j.get<std::string>())->wei() : U256(0);
}

// As in the embedded ledger's paid line: a ticket per 64 KiB, face value 0.002
// ether, so a 2.5 Mbit/s stream wins several times a second.
constexpr const char* kPaidEvmToml =
    "[timing]\nping_interval_ms = 300\nidle_timeout_ms = 4000\nhandshake_timeout_ms = 3000\n"
    "reconnect_base_ms = 200\nreconnect_max_ms = 1000\nstream_stall_ms = 6000\n"
    "[agent]\ncost_per_mb = \"0.01ether\"\nmax_price_per_mb = \"1ether\"\n"
    "[payments]\nredeem_cost = \"0.00002ether\"\nticket_kb = 64\npoll_ms = 300\nconfirmations = 1\n";

// A broadcaster and a paying viewer on Anvil (blocks every second, rounds of 3
// blocks), both with `--ledger evm+http://… --contracts deployments.json`. The
// viewer funds its deposit and reserve with `openstreaming wallet`.
struct AnvilPair {
  Anvil anvil{{"--block-time", "1"}};
  test::TempDir dir;
  std::string deployments = deploy(anvil, dir, {"--round-blocks", "3"});
  core::Address broker = broker_of(deployments);
  std::string ledger = "evm+" + anvil.rpc();
  core::PrivateKey bk = node_key(931), vk = node_key(932);
  EvmClient client{anvil.url};
  std::unique_ptr<test::NodeProcess> b, v;

  void SetUp() {
    ASSERT_NO_FATAL_FAILURE(pay(client, test::anvil_dev_key(), bk.address(), ether(5)));
    ASSERT_NO_FATAL_FAILURE(pay(client, test::anvil_dev_key(), vk.address(), ether(5)));
    test::NodeSpec s;
    s.peer_exchange = false;
    s.config_toml = kPaidEvmToml;
    b = std::make_unique<test::NodeProcess>(dir, "b", 931, s);
    v = std::make_unique<test::NodeProcess>(dir, "v", 932, s);
    auto r = wallet({"deposit", "--key", v->key_file(), "--deposit", "2ether", "--reserve", "1ether"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  }
  void start() {
    b->spec().extra_args = {"--ingest", "testsrc", "--stream", "show", "--ledger", ledger, "--contracts", deployments};
    b->start();
    v->spec().bootstrap = {b->p2p()};
    v->spec().extra_args = {"--watch", "show", "--role", "viewer", "--ledger", ledger, "--contracts", deployments};
    v->start();
  }
  test::RunResult wallet(std::vector<std::string> args) {
    args.insert(args.begin(), {OPENSTREAMING_BIN, "wallet"});
    args.insert(args.begin() + 3, {"--ledger", ledger, "--contracts", deployments});
    test::SpawnOptions o;
    o.env["OPENSTREAMING_PASSWORD"] = "test";
    return test::run(args, o, std::chrono::seconds(60));
  }
  json account(const core::Address& a) {
    auto r = wallet({"balance", a.to_checksum_hex(), "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out, nullptr, false);
  }
  // The tickets the broadcaster redeemed, by the chain's TicketOutcome events (`wallet tickets`).
  json redeemed_on_chain() {
    auto r = wallet({"tickets", "--key", b->key_file()});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out, nullptr, false)["tickets"];
  }
};

// The viewer's tickets (signed by our C++ payer under the broker's EIP-712
// domain) redeem in the Solidity contract, and on chain every party's funds
// changed by exactly what the broadcaster redeemed (its gas aside, counted
// from the receipts of its own transactions).
TEST(EvmLedger, APaidPairSettlesOnAnvilAndTheChainAgreesWithTheNodes) {
  AnvilPair p;
  ASSERT_NO_FATAL_FAILURE(p.SetUp());
  json va = p.account(p.vk.address());
  ASSERT_EQ(va["deposit"], ether(2).str()) << va.dump();
  ASSERT_EQ(va["reserve"], ether(1).str());
  const U256 b_before = *p.client.balance(p.bk.address());
  const U256 v_funds_before = funds_of(p.client, p.broker, p.vk.address());
  p.start();
  EXPECT_EQ(p.b->get_json("/api/payments")["ledger"]["backend"], "evm");

  // Winners are redeemed on chain while the stream plays.
  json seen;
  ASSERT_TRUE(test::wait_until(
      [&] {
        seen = relation(p.b->get_json("/api/payments"), p.vk.address());
        return !seen.is_null() && seen["they_pay"]["redeemed"].get<uint64_t>() >= 3;
      },
      std::chrono::seconds(120)))
      << p.b->get_json("/api/payments").dump(1) << "\n"
      << p.b->process().err().substr(0, 4000);
  EXPECT_EQ(p.v->stop(), 0);
  ASSERT_TRUE(
      test::wait_until([&] { return p.b->get_json("/api/payments")["winners_queued"] == 0; }, std::chrono::seconds(90)))
      << p.b->get_json("/api/payments").dump(1);
  json in = relation(p.b->get_json("/api/payments"), p.vk.address())["they_pay"];
  EXPECT_EQ(in["tickets_rejected"], 0) << in.dump(1);
  EXPECT_EQ(in["redeemed"], in["won"]) << in.dump(1);
  const U256 redeemed = wei(in["redeemed_wei"]);
  ASSERT_GT(redeemed, U256(0));

  // The chain's own record: the TicketOutcome events paid to the broadcaster.
  json tickets = p.redeemed_on_chain();
  U256 paid_on_chain = 0;
  for (const auto& t : tickets) {
    EXPECT_EQ(t["sender"], p.vk.address().to_checksum_hex());
    paid_on_chain += wei(t["face_value"]);
  }
  std::cout << "[ measured ] " << tickets.size() << " tickets redeemed on Anvil, " << redeemed.str() << " wei\n";
  EXPECT_EQ(paid_on_chain, redeemed);
  EXPECT_EQ(tickets.size(), in["redeemed"].get<uint64_t>());
  // The viewer's deposit and reserve lost exactly that; the broadcaster's
  // balance gained it, less the gas of its own transactions.
  EXPECT_EQ(funds_of(p.client, p.broker, p.vk.address()), v_funds_before - redeemed);
  EXPECT_EQ(*p.client.balance(p.bk.address()) + test::gas_spent(p.client, p.bk.address()), b_before + redeemed);
}

// A payee killed (SIGKILL) with winners queued redeems each of them after a
// restart, and the chain pays each exactly once.
TEST(EvmLedger, APayeeKilledWithWinnersQueuedRedeemsEachExactlyOnceOnChain) {
  AnvilPair p;
  ASSERT_NO_FATAL_FAILURE(p.SetUp());
  p.start();
  json queued;
  ASSERT_TRUE(test::wait_until(
      [&] {
        queued = p.b->get_json("/api/payments")["winners"];
        return queued.size() >= 2;
      },
      std::chrono::seconds(90)))
      << p.b->get_json("/api/payments").dump(1);
  p.b->kill9();
  std::set<std::string> lost;
  for (const auto& w : queued) lost.insert(w["ticket_hash"].get<std::string>());
  EXPECT_EQ(p.v->stop(), 0);
  p.b->spec().extra_args = {"--ledger", p.ledger, "--contracts", p.deployments}; // no stream: only the winners
  p.b->start(); // same data dir, same key: the winners come back from payments.sqlite
  ASSERT_TRUE(
      test::wait_until([&] { return p.b->get_json("/api/payments")["winners_queued"] == 0; }, std::chrono::seconds(90)))
      << p.b->get_json("/api/payments").dump(1);
  std::map<std::string, int> times;
  for (const auto& t : p.redeemed_on_chain()) ++times[t["ticket_hash"].get<std::string>()];
  for (const auto& h : lost) EXPECT_EQ(times[h], 1) << h << " was paid " << times[h] << " times";
  for (const auto& [h, n] : times) EXPECT_EQ(n, 1) << h;
  std::cout << "[ measured ] " << lost.size() << " winners queued at the kill, all redeemed once; " << times.size()
            << " tickets paid in all\n";
}

// A deployment for another chain, or a chain that is not there: the node runs,
// pays nothing, and says why.
TEST(EvmLedger, AWrongChainOrAnUnreachableOneIsAClearErrorAndNothingMoves) {
  Anvil anvil;
  test::TempDir dir;
  const std::string deployments = deploy(anvil, dir, {});
  std::ifstream in(deployments);
  std::stringstream text;
  text << in.rdbuf();
  auto d = json::parse(text.str());
  d["chain_id"] = "1";
  const std::string other = dir.write("other-chain.json", d.dump());
  const std::string ledger = "evm+" + anvil.rpc();
  test::NodeSpec s;
  s.peer_exchange = false;
  s.config_toml = kPaidEvmToml;
  test::NodeProcess n(dir, "n", 941, s);
  n.spec().extra_args = {"--ledger", ledger, "--contracts", other};
  n.start();
  json status;
  ASSERT_TRUE(test::wait_until(
      [&] {
        status = n.get_json("/api/payments")["ledger"];
        return status["last_error"].get<std::string>().find("wrong chain") != std::string::npos;
      },
      std::chrono::seconds(20)))
      << status.dump(1);
  EXPECT_EQ(status["reachable"], false);
  EXPECT_EQ(n.stop(), 0);

  // The right chain, but no broker at the address (nothing there, or another
  // contract): refused with the reason, never polled as if it were one.
  auto not_a_broker = [&](const std::string& address, const std::string& expected) {
    auto wrong = json::parse(text.str());
    wrong["contracts"]["TicketBroker"]["address"] = address;
    n.spec().extra_args = {"--ledger", ledger, "--contracts", dir.write("not-a-broker.json", wrong.dump())};
    n.start();
    json st;
    EXPECT_TRUE(test::wait_until(
        [&] {
          st = n.get_json("/api/payments")["ledger"];
          return st["last_error"].get<std::string>().find(expected) != std::string::npos;
        },
        std::chrono::seconds(20)))
        << address << ": " << st.dump(1);
    EXPECT_EQ(st["reachable"], false);
    EXPECT_EQ(n.stop(), 0);
  };
  not_a_broker("0x000000000000000000000000000000000000dEaD", "no TicketBroker at");
  not_a_broker(d["contracts"]["Staking"]["address"].get<std::string>(), "ticketValidRounds");

  // No contracts file, or one with an embedded ledger: refused at start.
  core::DeterministicRandom rng(942);
  const std::string kf = dir.write("m.key.json", core::keystore::encrypt(node_key(942), "test", rng, {1024, 8, 1}));
  test::SpawnOptions opts;
  opts.env["OPENSTREAMING_PASSWORD"] = "test";
  auto r = test::run({OPENSTREAMING_BIN, "node", "--key", kf, "--data-dir", dir.file("m.data"), "--ledger", ledger},
                     opts, std::chrono::seconds(30));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("needs --contracts"), std::string::npos) << r.err;
  r = test::run({OPENSTREAMING_BIN, "node", "--key", kf, "--data-dir", dir.file("m.data"), "--ledger",
                 "http://127.0.0.1:1", "--contracts", deployments},
                opts, std::chrono::seconds(30));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("EVM ledger"), std::string::npos) << r.err;

  // The chain goes away: the poll's error says so, and the node keeps running.
  n.spec().extra_args = {"--ledger", ledger, "--contracts", deployments};
  n.start();
  ASSERT_TRUE(test::wait_until([&] { return n.get_json("/api/payments")["ledger"]["reachable"] == true; },
                               std::chrono::seconds(20)))
      << n.get_json("/api/payments")["ledger"].dump(1);
  anvil.proc->signal(SIGKILL);
  anvil.proc->wait(std::chrono::seconds(10));
  ASSERT_TRUE(test::wait_until([&] { return n.get_json("/api/payments")["ledger"]["reachable"] == false; },
                               std::chrono::seconds(30)));
  EXPECT_EQ(n.stop(), 0);
}

} // namespace
} // namespace openstreaming::api
