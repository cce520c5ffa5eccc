// One set of ledger cases, run against both backends a node can settle on: the
// embedded ledger (`openstreaming ledger`, a real process) and TicketBroker on
// a real, independent EVM node (Anvil from its npm package, the contracts
// deployed by our own `contracts deploy`). Each case goes through what a node
// uses — api::LedgerBackend (poll, redeem) and `openstreaming wallet` — and
// expects the same outcome, with the same reason, from both.
#include "api/evm_client.h"
#include "api/ledger_backend.h"
#include "core/hex.h"
#include "core/keccak.h"
#include "core/keystore.h"
#include "core/random.h"
#include "pay/ticket.h"
#include "pay/winners.h"
#include "support/anvil.h"
#include "support/process.h"
#include "support/temp_dir.h"
#include "support/wait.h"

#include <gtest/gtest.h>

#include <functional>
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

// A ledger under test: where it is, how to move its rounds on, and its wallet.
class Ledger {
public:
  virtual ~Ledger() = default;
  virtual std::string url() const = 0;
  virtual std::string contracts() const { return ""; }
  virtual void advance_rounds(uint64_t n) = 0;

  test::TempDir dir;
  const core::PrivateKey payer = key_of(71), payee = key_of(72), other = key_of(73);

  std::string key_file(const core::PrivateKey& k) {
    core::DeterministicRandom rng(5);
    return dir.write(k.address().to_checksum_hex() + ".key.json",
                     core::keystore::encrypt(k, "test", rng, {1024, 8, 1}));
  }
  test::RunResult wallet(std::vector<std::string> args) {
    args.insert(args.begin(), {OPENSTREAMING_BIN, "wallet"});
    std::vector<std::string> at{"--ledger", url()};
    if (!contracts().empty()) at.insert(at.end(), {"--contracts", contracts()});
    args.insert(args.begin() + 3, at.begin(), at.end());
    test::SpawnOptions o;
    o.env["OPENSTREAMING_PASSWORD"] = "test";
    return test::run(args, o, std::chrono::seconds(60));
  }
  std::unique_ptr<LedgerBackend> backend(const core::PrivateKey& k) {
    auto b = open_ledger_backend(url(), contracts(), k, 1);
    EXPECT_TRUE(b) << b.error().message;
    return b ? std::move(*b) : nullptr;
  }
  // A poll in which the current round has its block hash (on a chain the
  // backend initialises the round when it has none).
  agent::LedgerSnapshot snapshot(LedgerBackend& b, const core::Address& self) {
    for (int i = 0; i < 50; ++i) {
      auto p = b.poll(self, {payer.address(), payee.address()});
      EXPECT_TRUE(p) << p.error().message;
      if (p && p->snapshot.round_hashes.count(p->snapshot.round)) return p->snapshot;
      std::this_thread::sleep_for(100ms);
    }
    ADD_FAILURE() << "the current round never got its block hash";
    return {};
  }
};

// `openstreaming ledger`: 100 ms blocks, 20-block rounds (2 s: two wallet
// commands under ASan fit in one, so "right after unlock" is inside the period).
class Embedded final : public Ledger {
public:
  Embedded() {
    json accounts = json::object();
    for (const auto* k : {&payer, &payee, &other}) accounts[k->address().to_checksum_hex()] = "100ether";
    auto genesis =
        dir.write("genesis.json",
                  json{{"chain_id", 1337}, {"block_ms", 100}, {"round_blocks", 20}, {"accounts", accounts}}.dump());
    m_proc = std::make_unique<test::Process>(std::vector<std::string>{OPENSTREAMING_BIN, "ledger", "--data-dir",
                                                                      dir.file("ledger"), "--listen", "127.0.0.1:0",
                                                                      "--genesis", genesis});
    auto line = m_proc->wait_for_line("listening rpc ", std::chrono::seconds(20));
    if (!line) throw std::runtime_error("ledger did not start: " + m_proc->err());
    m_url = "http://" + line->substr(std::string("listening rpc ").size());
  }
  std::string url() const override { return m_url; }
  void advance_rounds(uint64_t n) override {
    auto b = backend(payee);
    auto start = b->poll(payee.address(), {});
    ASSERT_TRUE(start);
    ASSERT_TRUE(test::wait_until(
        [&] {
          auto p = b->poll(payee.address(), {});
          return p && p->snapshot.round >= start->snapshot.round + n;
        },
        std::chrono::seconds(30)));
  }

private:
  std::unique_ptr<test::Process> m_proc;
  std::string m_url;
};

// Anvil mining on demand; the contracts with 5-block rounds.
class OnAnvil final : public Ledger {
public:
  OnAnvil() : m_client(m_anvil.url) {
    auto deployed = m_anvil.deploy(dir, {"--round-blocks", "5"});
    if (!deployed) throw std::runtime_error(deployed.error().message);
    m_contracts = *deployed;
    const auto dev = test::anvil_dev_key(); // pays for everything
    for (const auto* k : {&payer, &payee, &other}) {
      auto tx = m_client.transact(dev, k->address(), ether(100), {});
      if (!tx || !m_client.wait(*tx, 1, std::chrono::seconds(20)))
        throw std::runtime_error("could not fund the test accounts");
    }
  }
  std::string url() const override { return "evm+" + m_anvil.rpc(); }
  std::string contracts() const override { return m_contracts; }
  void advance_rounds(uint64_t n) override {
    auto r = m_client.rpc("anvil_mine", {to_quantity(U256(5 * n))});
    ASSERT_TRUE(r) << r.error().message;
  }

private:
  test::Anvil m_anvil;
  EvmClient m_client;
  std::string m_contracts;
};

class LedgerConformance : public ::testing::TestWithParam<std::string> {
protected:
  void SetUp() override {
    if (GetParam() == "embedded")
      l = std::make_unique<Embedded>();
    else
      l = std::make_unique<OnAnvil>();
    auto r = l->wallet({"deposit", "--key", l->key_file(l->payer), "--deposit", "2ether", "--reserve", "1ether"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    b = l->backend(l->payee);
    ASSERT_NE(b, nullptr);
  }

  // A ticket from `payer` to `payee` in the current round; `mutate` changes it before signing.
  pay::Winner
  ticket(const agent::LedgerSnapshot& s, uint64_t nonce, const U256& face,
         const std::function<void(pay::Ticket&, Hash256& rand, const core::PrivateKey*& signer)>& mutate = {}) {
    core::DeterministicRandom rng(1000 + nonce);
    Hash256 rand = rng.bytes<32>();
    pay::Ticket t;
    t.recipient = l->payee.address();
    t.sender = l->payer.address();
    t.face_value = face;
    t.win_prob = pay::max_win_prob();
    t.sender_nonce = nonce;
    t.recipient_rand_hash = core::keccak256(rand);
    t.creation_round = s.round;
    t.creation_round_block_hash = s.round_hashes.at(s.round);
    const core::PrivateKey* signer = &l->payer;
    if (mutate) mutate(t, rand, signer);
    pay::Winner w;
    w.ticket = pay::sign_ticket(*signer, t, s.domain);
    w.recipient_rand = rand;
    w.hash = t.signing_hash(s.domain);
    return w;
  }
  json account(const core::PrivateKey& k) {
    auto r = l->wallet({"balance", k.address().to_checksum_hex(), "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out, nullptr, false);
  }

  std::unique_ptr<Ledger> l;
  std::unique_ptr<LedgerBackend> b;
};

TEST_P(LedgerConformance, ADepositAndReserveAreSeenByTheWalletAndByAPoll) {
  json a = account(l->payer);
  EXPECT_EQ(a["deposit"], ether(2).str()) << a.dump();
  EXPECT_EQ(a["reserve"], ether(1).str());
  EXPECT_EQ(a["withdraw_round"], 0);
  auto s = l->snapshot(*b, l->payee.address());
  ASSERT_TRUE(s.accounts.count(l->payer.address()));
  EXPECT_EQ(s.accounts[l->payer.address()].deposit.wei(), ether(2));
  EXPECT_EQ(s.accounts[l->payer.address()].reserve.wei(), ether(1));
  EXPECT_EQ(s.accounts[l->payer.address()].reserve_recipients, 1u);
  EXPECT_EQ(s.ticket_valid_rounds, 4u);
}

TEST_P(LedgerConformance, ABatchJudgesEachTicketOnItsOwnAndPaysOnce) {
  auto s = l->snapshot(*b, l->payee.address());
  const U256 face = ether(1) / 10;
  std::vector<pay::Winner> batch = {
      ticket(s, 1, face),
      ticket(s, 2, face, [&](pay::Ticket& t, Hash256&, const core::PrivateKey*&) { t.recipient = l->other.address(); }),
      ticket(s, 3, face, [&](pay::Ticket&, Hash256&, const core::PrivateKey*& k) { k = &l->other; }),
      ticket(s, 4, face, [&](pay::Ticket&, Hash256& rand, const core::PrivateKey*&) { rand[0] ^= 1; }),
      ticket(s, 5, face, [&](pay::Ticket& t, Hash256&, const core::PrivateKey*&) { t.win_prob = 0; }),
      ticket(s, 6, face,
             [&](pay::Ticket& t, Hash256&, const core::PrivateKey*&) { t.creation_round_block_hash[0] ^= 1; }),
      ticket(s, 7, face, [&](pay::Ticket& t, Hash256&, const core::PrivateKey*&) { t.creation_round = s.round + 1; }),
      ticket(s, 8, face),
  };
  auto out = b->redeem(batch);
  ASSERT_TRUE(out) << out.error().message;
  ASSERT_EQ(out->size(), batch.size());
  const std::vector<std::string> reasons = {"",
                                            "not the recipient",
                                            "signature is not the sender's",
                                            "recipient_rand does not match",
                                            "not a winning ticket",
                                            "creationRoundBlockHash does not match",
                                            "created in a future round",
                                            ""};
  for (std::size_t i = 0; i < batch.size(); ++i) {
    EXPECT_EQ((*out)[i].hash, batch[i].hash) << i;
    EXPECT_EQ((*out)[i].reason, reasons[i]) << i;
    EXPECT_EQ((*out)[i].paid, reasons[i].empty()) << i;
    EXPECT_FALSE((*out)[i].retry) << i;
  }
  EXPECT_EQ(account(l->payer)["deposit"], (ether(2) - 2 * face).str());
  // The same ticket again: refused as already redeemed (which a node counts as paid), nothing moves.
  auto again = b->redeem({batch[0]});
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ((*again)[0].reason, "already redeemed");
  EXPECT_TRUE((*again)[0].paid);
  EXPECT_EQ(account(l->payer)["deposit"], (ether(2) - 2 * face).str());
}

TEST_P(LedgerConformance, ATicketTheSenderCannotCoverIsPaidNothingAndStaysRedeemable) {
  auto s = l->snapshot(*b, l->payee.address());
  auto big = ticket(s, 1, ether(4)); // deposit 2 + reserve 1 < 4
  auto out = b->redeem({big});
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_FALSE((*out)[0].paid);
  EXPECT_TRUE((*out)[0].retry);
  EXPECT_EQ((*out)[0].reason, "sender cannot cover it now (stays redeemable)");
  json a = account(l->payer);
  EXPECT_EQ(a["deposit"], ether(2).str()); // all or nothing: not a wei moved
  EXPECT_EQ(a["reserve"], ether(1).str());
  // Funded now, the same ticket pays in full: deposit first, the rest from the reserve.
  auto r = l->wallet({"deposit", "--key", l->key_file(l->payer), "--deposit", "1ether", "--reserve", "0wei"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  out = b->redeem({big});
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_TRUE((*out)[0].paid) << (*out)[0].reason;
  a = account(l->payer);
  EXPECT_EQ(a["deposit"], "0");
  EXPECT_EQ(a["reserve"], "0");
}

TEST_P(LedgerConformance, ATicketOlderThanItsValidityIsRefusedAsExpired) {
  auto s = l->snapshot(*b, l->payee.address());
  auto old = ticket(s, 1, ether(1) / 10);
  ASSERT_NO_FATAL_FAILURE(l->advance_rounds(s.ticket_valid_rounds + 1));
  auto out = b->redeem({old});
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ((*out)[0].reason, "expired");
  EXPECT_FALSE((*out)[0].paid);
  EXPECT_FALSE((*out)[0].retry);
}

TEST_P(LedgerConformance, WithdrawWaitsForTheUnlockPeriod) {
  const std::string kf = l->key_file(l->payer);
  // The refusal says why: the embedded ledger in words, the broker by its custom error's name.
  const bool chain = GetParam() == "anvil";
  auto r = l->wallet({"withdraw", "--key", kf});
  EXPECT_NE(r.exit_code, 0) << "withdrew without unlocking";
  EXPECT_NE(r.err.find(chain ? "UnlockFirst()" : "unlock first"), std::string::npos) << r.err;
  r = l->wallet({"unlock", "--key", kf});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(account(l->payer)["withdraw_round"], 0);
  r = l->wallet({"withdraw", "--key", kf});
  EXPECT_NE(r.exit_code, 0) << "withdrew before the unlock period ended";
  if (chain) {
    EXPECT_NE(r.err.find("Locked("), std::string::npos) << r.err;
  }
  ASSERT_NO_FATAL_FAILURE(l->advance_rounds(2));
  r = l->wallet({"withdraw", "--key", kf});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json a = account(l->payer);
  EXPECT_EQ(a["deposit"], "0");
  EXPECT_EQ(a["reserve"], "0");
}

INSTANTIATE_TEST_SUITE_P(BothBackends, LedgerConformance, ::testing::Values("embedded", "anvil"),
                         [](const auto& p) { return p.param; });

} // namespace
} // namespace openstreaming::api
