// The EVM ledger backend under the faults a chain throws at it, each on a real
// Anvil: a redemption reorganised away before it is confirmed, a queued
// transaction a crashed process left behind (a nonce gap), a base fee above the
// operator's cap, and a transaction the node refuses as underpriced. In each,
// the error says what happened and no winner is lost: a batch counts as redeemed
// only once its receipt is confirmed on the canonical chain, and a ticket is
// paid exactly once.
#include "api/evm_calls.h"
#include "api/evm_ledger.h"
#include "api/evm_wallet.h"
#include "core/hex.h"
#include "core/random.h"
#include "ledger/evm/tx.h"
#include "support/anvil.h"
#include "support/process.h"
#include "support/tickets.h"
#include "support/tls_proxy.h"
#include "support/wait.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <future>
#include <thread>

namespace openstreaming::api {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

U256 ether(uint64_t n) {
  return U256(n) * U256(1'000'000'000'000'000'000ULL);
}

core::PrivateKey key_of(uint64_t seed) {
  core::DeterministicRandom rng(seed);
  return core::PrivateKey::generate(rng);
}

// Anvil mining a block per transaction; the contracts with 5-block rounds; a
// payer with 2 ether of deposit and a payee, both funded by the dev key.
struct Chain {
  test::Anvil anvil;
  test::TempDir dir;
  Deployment deployment;
  EvmClient client{anvil.url};
  const core::PrivateKey payer = key_of(81), payee = key_of(82);

  Chain() {
    auto path = anvil.deploy(dir, {"--round-blocks", "5"});
    if (!path) throw std::runtime_error(path.error().message);
    deployment = *load_deployment(*path);
    for (const auto* k : {&payer, &payee}) {
      auto tx = client.transact(anvil_dev_key(), k->address(), ether(10), {});
      if (!tx || !client.wait(*tx, 1, 20s)) throw std::runtime_error("could not fund the test accounts");
    }
    EvmWallet w(anvil.url, deployment);
    auto funded = w.send(payer, "fund", {{"deposit", "2ether"}, {"reserve", "0wei"}});
    if (!funded) throw std::runtime_error(funded.error().message);
  }
  std::unique_ptr<EvmLedger> backend(EvmLedgerOptions o) {
    return std::make_unique<EvmLedger>(anvil.url, "evm+" + anvil.rpc(), deployment, payee, o);
  }
  // A winner for the payee in the current round (its poll initialises the round).
  pay::Winner winner(EvmLedger& b, uint64_t nonce) {
    for (int i = 0; i < 50; ++i) {
      auto p = b.poll(payee.address(), {payer.address()});
      EXPECT_TRUE(p) << p.error().message;
      if (p && p->snapshot.round_hashes.count(p->snapshot.round))
        return test::winning_ticket(p->snapshot, payer, payee.address(), nonce, ether(1) / 10);
      std::this_thread::sleep_for(100ms);
    }
    ADD_FAILURE() << "the round never got its block hash";
    return {};
  }
  // The payer's deposit as the broker holds it now.
  U256 deposit() {
    auto a = EvmWallet(anvil.url, deployment).account(payer.address());
    EXPECT_TRUE(a) << a.error().message;
    return a ? U256((*a)["deposit"].get<std::string>()) : U256(0);
  }
  json rpc(const std::string& method, json params = json::array()) {
    auto r = client.rpc(method, std::move(params));
    EXPECT_TRUE(r) << method << ": " << r.error().message;
    return r ? *r : json();
  }
};

TEST(EvmFaults, ARedemptionReorganisedAwayBeforeItIsConfirmedIsAnErrorAndTheRetryPaysOnce) {
  Chain c;
  EvmLedgerOptions o;
  o.confirmations = 3;
  o.receipt_timeout = 6s;
  auto b = c.backend(o);
  const pay::Winner w = c.winner(*b, 1);
  const U256 before = c.deposit();
  const json snapshot = c.rpc("evm_snapshot");
  const uint64_t head = *c.client.block_number();
  auto first = std::async(std::launch::async, [&] { return b->redeem({w}); });
  // The redemption is mined (one block: not yet 3 deep), then the chain goes
  // back to before it and grows past that depth without it.
  ASSERT_TRUE(test::wait_until([&] { return *c.client.block_number() > head; }, 20s));
  ASSERT_EQ(c.rpc("evm_revert", json::array({snapshot})), true);
  c.rpc("anvil_mine", json::array({"0x4"}));
  auto out = first.get();
  ASSERT_FALSE(out) << "reported " << (out->empty() ? "nothing" : (*out)[0].reason) << " for a reorganised redemption";
  EXPECT_NE(out.error().message.find("not confirmed"), std::string::npos) << out.error().message;
  EXPECT_EQ(c.deposit(), before); // nothing paid on the canonical chain
  // The winner was kept: the next try pays it (blocks every second now, so it
  // gets its confirmations), and a third finds it paid.
  c.rpc("evm_setIntervalMining", json::array({1}));
  auto again = b->redeem({w});
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_TRUE((*again)[0].paid) << (*again)[0].reason;
  EXPECT_EQ((*again)[0].reason, "");
  auto third = b->redeem({w});
  ASSERT_TRUE(third) << third.error().message;
  EXPECT_TRUE((*third)[0].paid);
  EXPECT_EQ((*third)[0].reason, "already redeemed");
  EXPECT_EQ(c.deposit(), before - ether(1) / 10);
}

TEST(EvmFaults, AQueuedTransactionACrashLeftBehindIsNoGapForTheNextRedemption) {
  Chain c;
  EvmLedgerOptions o;
  o.confirmations = 1;
  auto b = c.backend(o);
  const pay::Winner w = c.winner(*b, 1);
  // A process that crashed had signed nonces n and n+1; only n+1 reached the
  // node, which queues it behind the gap.
  const uint64_t n = *c.client.nonce(c.payee.address(), "latest");
  auto fees = c.client.suggest_fees();
  ASSERT_TRUE(fees);
  ledger::evm::Eip1559Transaction gap;
  gap.chain_id = 31337;
  gap.nonce = n + 1;
  gap.max_fee_per_gas = fees->max_fee_per_gas;
  gap.max_priority_fee_per_gas = fees->max_priority_fee_per_gas;
  gap.gas_limit = 21000;
  gap.to = c.payer.address();
  gap.value = 1;
  auto sent = c.client.send_raw(ledger::evm::encode(ledger::evm::sign(gap, c.payee)));
  ASSERT_TRUE(sent) << sent.error().message;
  EXPECT_EQ(*c.client.nonce(c.payee.address(), "latest"), n);
  // The redemption takes nonce n from the chain, fills the gap, and both are mined.
  auto out = b->redeem({w});
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_TRUE((*out)[0].paid) << (*out)[0].reason;
  ASSERT_TRUE(test::wait_until([&] { return *c.client.nonce(c.payee.address(), "latest") == n + 2; }, 20s))
      << "the queued transaction stayed stuck";
  auto receipt = c.client.receipt(*sent);
  ASSERT_TRUE(receipt && *receipt);
  EXPECT_TRUE((*receipt)->success);
}

TEST(EvmFaults, AboveTheGasPriceCapNothingIsSentAndTheWinnerWaitsForACheaperBlock) {
  Chain c;
  EvmLedgerOptions o;
  o.confirmations = 1;
  o.max_gas_price = U256(100'000'000'000ULL); // 100 gwei
  auto b = c.backend(o);
  const pay::Winner w = c.winner(*b, 1);
  const U256 before = c.deposit();
  const uint64_t n = *c.client.nonce(c.payee.address(), "latest");
  // A fee spike: the next block's base fee is 300 gwei.
  c.rpc("anvil_setNextBlockBaseFeePerGas", json::array({to_quantity(U256(300'000'000'000ULL))}));
  c.rpc("evm_mine");
  auto out = b->redeem({w});
  ASSERT_FALSE(out) << "redeemed above the cap";
  EXPECT_NE(out.error().message.find("above the cap"), std::string::npos) << out.error().message;
  EXPECT_EQ(*c.client.nonce(c.payee.address(), "pending"), n); // nothing was sent
  EXPECT_EQ(c.deposit(), before);
  // Empty blocks bring the base fee down (-12.5 % each); then the same winner pays.
  c.rpc("anvil_mine", json::array({"0xa"}));
  out = b->redeem({w});
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_TRUE((*out)[0].paid) << (*out)[0].reason;
  EXPECT_EQ(c.deposit(), before - ether(1) / 10);
  // The redemption paid at most the cap per gas.
  const json latest = c.rpc("eth_getBlockByNumber", json::array({"latest", false}));
  ASSERT_FALSE(latest["transactions"].empty());
  auto receipt = c.client.receipt(*core::from_hex_fixed<32>(latest["transactions"].back().get<std::string>()));
  ASSERT_TRUE(receipt && *receipt);
  EXPECT_LE((*receipt)->effective_gas_price, *o.max_gas_price);
}

TEST(EvmFaults, AnUnderpricedTransactionIsRefusedWithTheNodesReasonAndUsesNoNonce) {
  Chain c;
  const uint64_t n = *c.client.nonce(c.payee.address(), "latest");
  ledger::evm::Eip1559Transaction tx;
  tx.chain_id = 31337;
  tx.nonce = n;
  tx.max_fee_per_gas = 1; // below any base fee
  tx.max_priority_fee_per_gas = 1;
  tx.gas_limit = 21000;
  tx.to = c.payer.address();
  tx.value = 1;
  auto sent = c.client.send_raw(ledger::evm::encode(ledger::evm::sign(tx, c.payee)));
  ASSERT_FALSE(sent);
  EXPECT_NE(sent.error().message.find("base fee"), std::string::npos) << sent.error().message;
  EXPECT_EQ(*c.client.nonce(c.payee.address(), "pending"), n);
  // A transaction priced by the client goes through with the same nonce.
  auto ok = c.client.transact(c.payee, c.payer.address(), 1, {});
  ASSERT_TRUE(ok) << ok.error().message;
  auto r = c.client.wait(*ok, 1, 20s);
  ASSERT_TRUE(r && r->success);
}

// `evm+https://`: the wallet and the node's backend reach the chain through
// TLS, and trust only a certificate the system trust store vouches for.
TEST(EvmFaults, OverHttpsTheCertificateIsVerifiedAndThenEverythingWorks) {
  Chain c;
  const std::string ca = c.dir.file("proxy-ca.pem");
  test::TlsProxy proxy(c.anvil.url.port, ca);
  const std::string url = "evm+https://127.0.0.1:" + std::to_string(proxy.port());
  const std::string contracts = c.dir.file("deployments.json");
  auto balance = [&](const std::string& trust) {
    test::SpawnOptions o;
    o.env["SSL_CERT_FILE"] = trust;
    o.env["SSL_CERT_DIR"] = c.dir.file("no-such-dir");
    return test::run({OPENSTREAMING_BIN, "wallet", "balance", c.payer.address().to_checksum_hex(), "--json", "--ledger",
                      url, "--contracts", contracts},
                     o, std::chrono::seconds(60));
  };
  auto r = balance(ca);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(json::parse(r.out)["deposit"], ether(2).str());
  // A certificate nobody vouches for: refused at the handshake, nothing read.
  r = balance(c.dir.write("empty.pem", ""));
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_NE(r.err.find("TLS handshake"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("certificate verify failed"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
  // The node's backend redeems over https too.
  ::setenv("SSL_CERT_FILE", ca.c_str(), 1);
  LedgerBackendOptions o;
  o.confirmations = 1;
  auto b = open_ledger_backend(url, contracts, c.payee, o);
  ASSERT_TRUE(b) << b.error().message;
  pay::Winner w;
  for (int i = 0; i < 50 && w.hash == Hash256{}; ++i) {
    auto p = (*b)->poll(c.payee.address(), {c.payer.address()});
    ASSERT_TRUE(p) << p.error().message;
    if (p->snapshot.round_hashes.count(p->snapshot.round))
      w = test::winning_ticket(p->snapshot, c.payer, c.payee.address(), 1, ether(1) / 10);
    else
      std::this_thread::sleep_for(100ms);
  }
  auto out = (*b)->redeem({w});
  ::unsetenv("SSL_CERT_FILE");
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_TRUE((*out)[0].paid) << (*out)[0].reason;
  EXPECT_EQ(c.deposit(), ether(2) - ether(1) / 10);
}

} // namespace
} // namespace openstreaming::api
