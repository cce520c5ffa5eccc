// The EVM client and our EIP-1559 transactions against a real, independent EVM
// node: Anvil (from the @foundry-rs/anvil npm package, installed by
// scripts/setup), started on 127.0.0.1 with an OS-chosen port and killed by PID.
#include "api/evm_client.h"
#include "core/hex.h"
#include "core/keystore.h"
#include "core/random.h"
#include "ledger/evm/tx.h"
#include "support/process.h"
#include "support/temp_dir.h"

#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace openstreaming::api {
namespace {

// Anvil's first development account (its well-known, public test key).
constexpr const char* kDevKey = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

struct Anvil {
  std::unique_ptr<test::Process> proc;
  HttpUrl url;
  Anvil() {
    proc = std::make_unique<test::Process>(
        std::vector<std::string>{OPENSTREAMING_ANVIL, "--host", "127.0.0.1", "--port", "0", "--chain-id", "31337"});
    auto line = proc->wait_for_line("Listening on ", std::chrono::seconds(30));
    if (!line) throw std::runtime_error("anvil did not start: " + proc->err());
    url = *HttpUrl::parse("http://" + line->substr(line->find("Listening on ") + 13) + "/");
  }
};

core::PrivateKey dev_key() {
  return *core::PrivateKey::from_bytes(*core::from_hex(kDevKey));
}

TEST(EvmAnvil, OurSignedTransactionsAreMinedAndTheClientReadsTheChain) {
  ASSERT_TRUE(std::filesystem::exists(OPENSTREAMING_ANVIL)) << "run scripts/setup (npm ci in contracts/)";
  Anvil anvil;
  EvmClient client(anvil.url);
  auto id = client.chain_id();
  ASSERT_TRUE(id) << id.error().message;
  EXPECT_EQ(*id, U256(31337));

  const core::PrivateKey key = dev_key();
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
  const core::PrivateKey key = dev_key();
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
  const std::string key_file = dir.write("dev.key.json", core::keystore::encrypt(dev_key(), "test", rng, {1024, 8, 1}));
  const std::string out = dir.file("deployments.json");
  const std::string rpc = "http://" + anvil.url.host + ":" + std::to_string(anvil.url.port);
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
  EXPECT_EQ(d["deployer"], dev_key().address().to_checksum_hex());
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

} // namespace
} // namespace openstreaming::api
