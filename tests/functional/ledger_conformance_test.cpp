// One set of ledger cases, run against both backends a node can settle on: the
// embedded ledger (`openstreaming ledger`, a real process) and TicketBroker on
// a real, independent EVM node (Anvil from its npm package, the contracts
// deployed by our own `contracts deploy`). Each case goes through what a node
// uses — api::LedgerBackend (poll, redeem) and `openstreaming wallet` — and
// expects the same outcome, with the same reason, from both.
#include "api/evm_client.h"
#include "api/evm_wallet.h"
#include "api/ledger_backend.h"
#include "core/hex.h"
#include "core/keccak.h"
#include "core/keystore.h"
#include "core/random.h"
#include "ledger/state.h"
#include "pay/ticket.h"
#include "pay/winners.h"
#include "support/anvil.h"
#include "support/embedded_ledger.h"
#include "support/process.h"
#include "support/temp_dir.h"
#include "support/tickets.h"
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
  // Until at least `n` blocks after the current head.
  virtual void advance_blocks(uint64_t n) = 0;
  // Until a round has just begun (so a few transactions land in one round).
  virtual void fresh_round() = 0;
  // What `k` has paid for gas so far (nothing on the embedded ledger).
  virtual U256 gas(const core::PrivateKey&) { return 0; }
  virtual bool chain() const = 0;

  test::TempDir dir;
  const core::PrivateKey payer = key_of(71), payee = key_of(72), other = key_of(73);

  std::string key_file(const core::PrivateKey& k) {
    core::DeterministicRandom rng(5);
    return dir.write(k.address().to_checksum_hex() + ".key.json",
                     core::keystore::encrypt(k, "test", rng, {1024, 8, 1}));
  }
  test::RunResult wallet(std::vector<std::string> args) {
    args.insert(args.begin(), {OPENSTREAMING_BIN, "wallet"});
    // After the (sub)subcommand and its arguments, where every command takes them.
    args.insert(args.end(), {"--ledger", url()});
    if (!contracts().empty()) args.insert(args.end(), {"--contracts", contracts()});
    test::SpawnOptions o;
    o.env["OPENSTREAMING_PASSWORD"] = "test";
    return test::run(args, o, std::chrono::seconds(60));
  }
  std::unique_ptr<LedgerBackend> backend(const core::PrivateKey& k) {
    LedgerBackendOptions o;
    o.confirmations = 1;
    auto b = open_ledger_backend(url(), contracts(), k, o);
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

// Both backends run with the same rule parameters.
// On the embedded ledger they are time (100 ms blocks): the challenge period must
// hold the few wallet commands run inside it on a loaded machine.
constexpr uint64_t kChallengeBlocks = 100, kUnbondingBlocks = 100;

// `openstreaming ledger`: 100 ms blocks, 20-block rounds (2 s: two wallet
// commands under ASan fit in one, so "right after unlock" is inside the period).
class Embedded final : public Ledger {
public:
  Embedded() {
    auto u = test::start_embedded_ledger(
        m_proc, dir,
        test::write_genesis(
            dir, {payer.address(), payee.address(), other.address()}, 100, 20, "100ether",
            {{"params", {{"challenge_blocks", kChallengeBlocks}, {"unbonding_blocks", kUnbondingBlocks}}}}));
    if (!u) throw std::runtime_error(u.error().message);
    m_url = *u;
  }
  std::string url() const override { return m_url; }
  void advance_rounds(uint64_t n) override {
    advance([](const agent::LedgerSnapshot& s) { return s.round; }, n, std::chrono::seconds(30));
  }
  void advance_blocks(uint64_t n) override {
    advance([](const agent::LedgerSnapshot& s) { return s.height; }, n, std::chrono::seconds(60));
  }
  void fresh_round() override { advance_rounds(1); }
  bool chain() const override { return false; }

private:
  // Waits until `figure` of the ledger's snapshot has grown by `n` (the ledger's clock moves it).
  void advance(uint64_t (*figure)(const agent::LedgerSnapshot&), uint64_t n, std::chrono::seconds limit) {
    auto b = backend(payee);
    auto start = b->poll(payee.address(), {});
    ASSERT_TRUE(start);
    ASSERT_TRUE(test::wait_until(
        [&] {
          auto p = b->poll(payee.address(), {});
          return p && figure(p->snapshot) >= figure(start->snapshot) + n;
        },
        limit));
  }
  std::unique_ptr<test::Process> m_proc;
  std::string m_url;
};

// Anvil mining on demand; the contracts with 5-block rounds.
class OnAnvil final : public Ledger {
public:
  OnAnvil() : m_client(m_anvil.url) {
    auto deployed = m_anvil.deploy(dir, {"--round-blocks", "5", "--challenge-blocks", std::to_string(kChallengeBlocks),
                                         "--unbonding-blocks", std::to_string(kUnbondingBlocks)});
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
  void advance_blocks(uint64_t n) override {
    auto r = m_client.rpc("anvil_mine", {to_quantity(U256(n))});
    ASSERT_TRUE(r) << r.error().message;
  }
  // Mines block by block until the broker's round moves on.
  void fresh_round() override {
    auto d = load_deployment(m_contracts);
    ASSERT_TRUE(d);
    EvmWallet w(m_anvil.url, *d);
    auto start = w.status();
    ASSERT_TRUE(start) << start.error().message;
    for (int i = 0; i < 10; ++i) {
      ASSERT_NO_FATAL_FAILURE(advance_blocks(1));
      auto now = w.status();
      ASSERT_TRUE(now);
      if ((*now)["round"] != (*start)["round"]) return;
    }
    FAIL() << "the round did not move on";
  }
  U256 gas(const core::PrivateKey& k) override { return test::gas_spent(m_client, k.address()); }
  bool chain() const override { return true; }

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
  pay::Winner ticket(const agent::LedgerSnapshot& s, uint64_t nonce, const U256& face,
                     const test::TicketMutation& mutate = {}) {
    return test::winning_ticket(s, l->payer, l->payee.address(), nonce, face, mutate);
  }
  json account(const core::PrivateKey& k) {
    auto r = l->wallet({"balance", k.address().to_checksum_hex(), "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out, nullptr, false);
  }

  U256 balance(const core::PrivateKey& k) { return U256(account(k)["balance"].get<std::string>()); }
  // A wallet command that must succeed: its JSON output.
  json ok(std::vector<std::string> args) {
    auto r = l->wallet(std::move(args));
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    auto j = json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.out;
    return j;
  }
  // A wallet command the ledger must refuse, saying why: the embedded
  // ledger in words, a contract by its custom error's name.
  void refused(std::vector<std::string> args, const std::string& embedded, const std::string& on_chain) {
    auto r = l->wallet(std::move(args));
    EXPECT_NE(r.exit_code, 0) << "accepted: " << r.out;
    const std::string& want = l->chain() ? on_chain : embedded;
    EXPECT_NE(r.err.find(want), std::string::npos) << "wanted '" << want << "' in: " << r.err;
  }
  std::string key(const core::PrivateKey& k) { return l->key_file(k); }
  std::string addr(const core::PrivateKey& k) { return k.address().to_checksum_hex(); }

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

TEST_P(LedgerConformance, TheReserveIsSharedByTheRecipientsOfThePreviousRound) {
  ASSERT_NO_FATAL_FAILURE(l->fresh_round());
  auto by_other = l->backend(l->other);
  ASSERT_NE(by_other, nullptr);
  // Round r: the deposit (2 ether) pays one ticket to each of two recipients.
  auto s = l->snapshot(*b, l->payee.address());
  auto to_payee = ticket(s, 1, ether(3) / 2);
  auto to_other = ticket(s, 2, ether(1) / 2,
                         [&](pay::Ticket& t, Hash256&, const core::PrivateKey*&) { t.recipient = l->other.address(); });
  auto paid = b->redeem({to_payee});
  ASSERT_TRUE(paid && (*paid)[0].paid) << (paid ? (*paid)[0].reason : paid.error().message);
  paid = by_other->redeem({to_other});
  ASSERT_TRUE(paid && (*paid)[0].paid) << (paid ? (*paid)[0].reason : paid.error().message);
  EXPECT_EQ(account(l->payer)["deposit"], "0");
  // Round r+1: the reserve (1 ether) is split between those two, half each.
  ASSERT_NO_FATAL_FAILURE(l->fresh_round());
  s = l->snapshot(*b, l->payee.address());
  EXPECT_EQ(s.accounts[l->payer.address()].reserve_recipients, 2u);
  auto over = b->redeem({ticket(s, 3, ether(6) / 10)});
  ASSERT_TRUE(over) << over.error().message;
  EXPECT_FALSE((*over)[0].paid);
  EXPECT_TRUE((*over)[0].retry);
  EXPECT_EQ((*over)[0].reason, "sender cannot cover it now: this recipient's share of the reserve this round is used "
                               "up (stays redeemable)");
  auto half = b->redeem({ticket(s, 4, ether(1) / 2)});
  ASSERT_TRUE(half) << half.error().message;
  EXPECT_TRUE((*half)[0].paid) << (*half)[0].reason;
  EXPECT_EQ(account(l->payer)["reserve"], (ether(1) / 2).str());
}

TEST_P(LedgerConformance, AChannelPaysThePayeeByVoucherAndReturnsTheRestAfterTheChallenge) {
  // Balances plus the gas paid so far (on a chain), before and after.
  const U256 payer0 = balance(l->payer) + l->gas(l->payer), payee0 = balance(l->payee) + l->gas(l->payee);
  const std::string kp = key(l->payer), ke = key(l->payee);
  json opened =
      ok({"channel", "open", "--key", kp, "--payee", addr(l->payee), "--amount", "1ether", "--expiry-blocks", "1000"});
  ASSERT_TRUE(opened.contains("id")) << opened.dump();
  const std::string id = opened["id"];
  json c = ok({"channel", "show", id});
  EXPECT_EQ(c["payer"], addr(l->payer));
  EXPECT_EQ(c["payee"], addr(l->payee));
  EXPECT_EQ(c["deposit"], ether(1).str());
  EXPECT_EQ(c["state"], "open");
  auto voucher = [&](const std::string& cum) {
    return ok({"channel", "voucher", "--key", kp, "--channel", id, "--cumulative", cum})["signature"]
        .get<std::string>();
  };
  auto claim = [&](const std::string& cum, const std::string& sig) {
    return std::vector<std::string>{"channel",      "claim", "--key",       ke, "--channel", id,
                                    "--cumulative", cum,     "--signature", sig};
  };
  const std::string v3 = voucher("0.3ether");
  ok(claim("0.3ether", v3));
  // The same voucher again, one the payee signed itself, one above the deposit: nothing more.
  refused(claim("0.3ether", v3), "stale voucher", "StaleVoucher(");
  refused(claim("0.5ether",
                ok({"channel", "voucher", "--key", ke, "--channel", id, "--cumulative", "0.5ether"})["signature"]),
          "not signed by the payer", "BadVoucherSignature()");
  refused(claim("1.5ether", voucher("1.5ether")), "exceeds the channel deposit", "VoucherExceedsDeposit(");
  // Only the payer tops up; then 1.5 ether is within the deposit.
  refused({"channel", "top-up", "--key", ke, "--channel", id, "--amount", "1ether"}, "only the payer", "NotPayer()");
  ok({"channel", "top-up", "--key", kp, "--channel", id, "--amount", "1ether"});
  ok(claim("1.5ether", voucher("1.5ether")));
  // Close: the payee may still claim during the challenge; no settle yet, no
  // top-up (the time-bound steps first, and the voucher signed beforehand).
  refused({"channel", "close", "--key", ke, "--channel", id}, "only the payer closes", "NotPayer()");
  const std::string v16 = voucher("1.6ether");
  ok({"channel", "close", "--key", kp, "--channel", id});
  ok(claim("1.6ether", v16));
  refused({"channel", "settle", "--key", kp, "--channel", id}, "challenge period not over", "ChallengePeriodNotOver()");
  EXPECT_EQ(ok({"channel", "show", id})["state"], "closing");
  refused({"channel", "top-up", "--key", kp, "--channel", id, "--amount", "1ether"}, "not open", "NotOpen()");
  // After the challenge period: no claim; anyone settles and the payer gets the rest.
  ASSERT_NO_FATAL_FAILURE(l->advance_blocks(kChallengeBlocks + 1));
  refused(claim("1.7ether", voucher("1.7ether")), "challenge period over", "ChallengePeriodOver()");
  ok({"channel", "settle", "--key", key(l->other), "--channel", id});
  c = ok({"channel", "show", id});
  EXPECT_EQ(c["state"], "settled");
  EXPECT_EQ(c["paid"], (ether(16) / 10).str());
  refused({"channel", "settle", "--key", kp, "--channel", id}, "settled", "ChannelSettledAlready()");
  EXPECT_EQ(balance(l->payee) + l->gas(l->payee), payee0 + ether(16) / 10);
  EXPECT_EQ(balance(l->payer) + l->gas(l->payer), payer0 - ether(16) / 10);
  json listed = ok({"channel", "list", addr(l->payee)});
  ASSERT_EQ(listed.size(), 1u) << listed.dump();
  EXPECT_EQ(listed[0]["id"], id);
}

TEST_P(LedgerConformance, AChannelExpiresSoFundsNeverLockForever) {
  const std::string kp = key(l->payer), ke = key(l->payee);
  refused({"channel", "open", "--key", kp, "--payee", addr(l->payee), "--amount", "1ether", "--expiry-blocks", "10"},
          "at least the challenge period", "InvalidParameter()");
  json opened = ok({"channel", "open", "--key", kp, "--payee", addr(l->payee), "--amount", "1ether", "--expiry-blocks",
                    std::to_string(kChallengeBlocks + 5)});
  const std::string id = opened.value("id", "");
  const json c = ok({"channel", "show", id});
  refused({"channel", "settle", "--key", kp, "--channel", id}, "challenge period not over", "ChallengePeriodNotOver()");
  ASSERT_NO_FATAL_FAILURE(l->advance_blocks(kChallengeBlocks + 6));
  const std::string sig =
      ok({"channel", "voucher", "--key", kp, "--channel", id, "--cumulative", "0.1ether"})["signature"];
  refused({"channel", "claim", "--key", ke, "--channel", id, "--cumulative", "0.1ether", "--signature", sig}, "expired",
          "ChannelExpired()");
  refused({"channel", "top-up", "--key", kp, "--channel", id, "--amount", "1ether"}, "expired", "ChannelExpired()");
  ok({"channel", "settle", "--key", key(l->other), "--channel", id}); // no close needed
  EXPECT_EQ(ok({"channel", "show", id})["state"], "settled");
  EXPECT_EQ(c["expiry"].get<uint64_t>() > 0, true);
}

TEST_P(LedgerConformance, StakeBondsAndUnbondsThroughALockAfterTheUnbondingPeriod) {
  const std::string k = key(l->payee);
  const U256 before = balance(l->payee) + l->gas(l->payee);
  ok({"bond", "--key", k, "--amount", "5ether"});
  refused({"unbond", "--key", k, "--amount", "6ether"}, "insufficient bond", "InsufficientBond(");
  json u = ok({"unbond", "--key", k, "--amount", "2ether"});
  ASSERT_EQ(u["lock"], 0) << u.dump();
  // At once (the period is time on the embedded ledger): not before it ends.
  refused({"withdraw-stake", "--key", k, "--lock", "0"}, "not yet withdrawable", "NotYetWithdrawable(");
  EXPECT_EQ(ok({"unbond", "--key", k, "--amount", "1ether"})["lock"], 1);
  json st = ok({"stake", addr(l->payee)});
  EXPECT_EQ(st["bonded"], ether(2).str()) << st.dump();
  EXPECT_EQ(st["unbonding"], ether(3).str());
  EXPECT_EQ(st["stake"], ether(5).str());
  ASSERT_EQ(st["locks"].size(), 2u);
  EXPECT_EQ(account(l->payee)["stake"], ether(5).str());
  refused({"withdraw-stake", "--key", key(l->other), "--lock", "0"}, "no such lock", "NoSuchLock()");
  ok({"rebond", "--key", k, "--lock", "1"});
  refused({"rebond", "--key", k, "--lock", "1"}, "no such lock", "NoSuchLock()");
  ASSERT_NO_FATAL_FAILURE(l->advance_blocks(kUnbondingBlocks + 1));
  ok({"withdraw-stake", "--key", k, "--lock", "0"});
  st = ok({"stake", addr(l->payee)});
  EXPECT_EQ(st["bonded"], ether(3).str());
  EXPECT_EQ(st["unbonding"], "0");
  EXPECT_EQ(st["locks"], json::array());
  EXPECT_EQ(balance(l->payee) + l->gas(l->payee), before - ether(3));
}

TEST_P(LedgerConformance, TheRegistryHoldsEachOperatorsOwnBoundedRecord) {
  const std::string k = key(l->payee);
  EXPECT_EQ(ok({"services"}), json::array());
  refused({"update", "--key", k, "--endpoint", "127.0.0.1:7000", "--roles", "relay"}, "not registered",
          "NotRegistered()");
  ok({"register", "--key", k, "--endpoint", "127.0.0.1:7000", "--roles", "relay,orchestrator", "--region", "eu",
      "--offer", "h264/480p30=3wei", "--offer", "relay=1gwei"});
  refused({"register", "--key", k, "--endpoint", "127.0.0.1:7000", "--roles", "relay"}, "already registered",
          "AlreadyRegistered()");
  refused({"register", "--key", key(l->other), "--endpoint", std::string(257, 'e'), "--roles", "relay"}, "too long",
          "TooLong()");
  refused({"register", "--key", key(l->other), "--endpoint", "x", "--roles", "relay", "--offer",
           std::string(65, 'c') + "=1wei"},
          "capability name", "TooLong()");
  json list = ok({"services"});
  ASSERT_EQ(list.size(), 1u) << list.dump();
  EXPECT_EQ(list[0]["operator"], addr(l->payee));
  EXPECT_EQ(list[0]["endpoint"], "127.0.0.1:7000");
  EXPECT_EQ(list[0]["region"], "eu");
  EXPECT_EQ(list[0]["roles"], 5);
  EXPECT_EQ(list[0]["offers"], (json::array({{{"capability", "h264/480p30"}, {"price", "3"}},
                                             {{"capability", "relay"}, {"price", "1000000000"}}})));
  ok({"update", "--key", k, "--endpoint", "127.0.0.1:7001", "--roles", "transcoder"});
  list = ok({"services"});
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["endpoint"], "127.0.0.1:7001");
  EXPECT_EQ(list[0]["roles"], 2);
  EXPECT_EQ(list[0]["offers"], json::array());
  refused({"deregister", "--key", key(l->other)}, "not registered", "NotRegistered()");
  ok({"deregister", "--key", k});
  EXPECT_EQ(ok({"services"}), json::array());
}

INSTANTIATE_TEST_SUITE_P(BothBackends, LedgerConformance, ::testing::Values("embedded", "anvil"),
                         [](const auto& p) { return p.param; });

} // namespace
} // namespace openstreaming::api
