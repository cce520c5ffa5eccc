// Tickets: the EIP-712 struct (checked against the general encoder), the win
// rule, and every check a recipient makes, as attacks.
#include "core/eip712.h"
#include "core/hex.h"
#include "core/keccak.h"
#include "core/random.h"
#include "pay/tickets.h"

#include <gtest/gtest.h>

namespace openstreaming::pay {

class TicketReceiverPeer {
public:
  static std::size_t nonce_sets(const TicketReceiver& r) { return r.m_seen_nonces.size(); }
};

namespace {

struct FakeLedger final : LedgerView {
  std::map<core::Address, SenderFunds> accounts;
  uint64_t round = 5;
  std::map<uint64_t, Hash256> hashes;
  std::optional<SenderFunds> funds(const core::Address& a) const override {
    auto it = accounts.find(a);
    if (it == accounts.end()) return std::nullopt;
    return it->second;
  }
  uint64_t current_round() const override { return round; }
  std::optional<Hash256> round_block_hash(uint64_t r) const override {
    auto it = hashes.find(r);
    if (it == hashes.end()) return std::nullopt;
    return it->second;
  }
};

TicketDomain test_domain() {
  TicketDomain d;
  d.verifying_contract = *core::Address::parse("0x00000000000000000000000000000000000000ee");
  return d;
}

struct World {
  core::DeterministicRandom rng{42};
  core::PrivateKey sender_key = core::PrivateKey::generate(rng);
  core::PrivateKey recipient_key = core::PrivateKey::generate(rng);
  TicketDomain domain = test_domain();
  FakeLedger ledger;
  TicketReceiver receiver{recipient_key.address(), Hash256{1, 2, 3}, domain};
  TicketSender sender{sender_key, domain};
  World() {
    ledger.accounts[sender_key.address()] = {core::Amount::from_wei(10'000), core::Amount::from_wei(5'000), 1, 0};
    for (uint64_t r = 0; r <= 5; ++r) ledger.hashes[r] = core::keccak256(as_bytes(std::to_string(r)));
  }
  TicketParams params(U256 face = 1000, U256 win = max_win_prob() / 10, U256 seed = 7) {
    return receiver.params(sender_key.address(), face, win, 5, ledger.hashes[5], seed);
  }
  SignedTicket one(const TicketParams& p) {
    sender.owe(p.recipient, expected_value(p.face_value, p.win_prob));
    auto t = sender.pay(p, 1);
    EXPECT_TRUE(t && t->size() == 1);
    return t->at(0);
  }
};

TEST(Tickets, StructHashIsTheEip712OfTheIssue) {
  World w;
  Ticket t;
  t.recipient = w.recipient_key.address();
  t.sender = w.sender_key.address();
  t.face_value = U256("1000000000000000000");
  t.win_prob = max_win_prob() / 3;
  t.sender_nonce = 17;
  t.recipient_rand_hash = core::keccak256(as_bytes(std::string_view("rand")));
  t.creation_round = 12;
  t.creation_round_block_hash = core::keccak256(as_bytes(std::string_view("block")));
  nlohmann::json typed = {
      {"types",
       {{"EIP712Domain", {{{"name", "name"}, {"type", "string"}}, {{"name", "version"}, {"type", "string"}},
                          {{"name", "chainId"}, {"type", "uint256"}}, {{"name", "verifyingContract"}, {"type", "address"}}}},
        {"Ticket", {{{"name", "recipient"}, {"type", "address"}}, {{"name", "sender"}, {"type", "address"}},
                    {{"name", "faceValue"}, {"type", "uint256"}}, {{"name", "winProb"}, {"type", "uint256"}},
                    {{"name", "senderNonce"}, {"type", "uint256"}}, {{"name", "recipientRandHash"}, {"type", "bytes32"}},
                    {{"name", "creationRound"}, {"type", "uint256"}}, {{"name", "creationRoundBlockHash"}, {"type", "bytes32"}}}}}},
      {"primaryType", "Ticket"},
      {"domain", w.domain.to_json()},
      {"message", t.to_json()}};
  auto data = core::eip712::parse_typed_data(typed);
  ASSERT_TRUE(data) << data.error().message;
  auto general = core::eip712::signing_hash(*data);
  ASSERT_TRUE(general) << general.error().message;
  EXPECT_EQ(*general, t.signing_hash(w.domain));
  EXPECT_EQ(*core::eip712::encode_type(typed["types"], "Ticket"), std::string(kTicketType));
  auto back = Ticket::from_json(t.to_json());
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, t);
}

TEST(Tickets, WinRateMatchesWinProb) {
  World w;
  auto p = w.params(1000, win_prob_from(0.25));
  int wins = 0;
  const int n = 2000;
  w.sender.owe(p.recipient, core::Amount::from_wei(1'000'000));
  for (int i = 0; i < n; i += 16) {
    auto batch = w.sender.pay(p, 16);
    ASSERT_TRUE(batch);
    for (const auto& st : *batch) {
      auto r = w.receiver.receive(st, p.seed, w.ledger, {});
      ASSERT_TRUE(r) << r.error().message;
      wins += r->winner;
    }
  }
  // Binomial(2000, 0.25): mean 500, sd 19.4; +-4 sd.
  EXPECT_NEAR(wins, 500, 78);
  EXPECT_EQ(expected_value(1000, win_prob_from(0.25)), core::Amount::from_wei(249)); // rounded down
  EXPECT_EQ(expected_value(1000, max_win_prob()), core::Amount::from_wei(1000));
}

TEST(Tickets, AttacksAreRejectedWithAReason) {
  World w;
  auto p = w.params();
  SignedTicket good = w.one(p);
  ASSERT_TRUE(w.receiver.receive(good, p.seed, w.ledger, {}));

  struct Case {
    const char* name;
    std::function<void(SignedTicket&, U256&, FakeLedger&, core::Amount&)> attack;
    const char* reason;
  } cases[] = {
      {"replayed", [](SignedTicket&, U256&, FakeLedger&, core::Amount&) {}, "replayed"},
      {"forged signature",
       [&](SignedTicket& t, U256&, FakeLedger&, core::Amount&) {
         core::DeterministicRandom r(9);
         t.ticket.sender_nonce = 99;
         t.signature = sign_ticket(core::PrivateKey::generate(r), t.ticket, w.domain).signature;
       },
       "signature"},
      {"edited after signing",
       [](SignedTicket& t, U256&, FakeLedger&, core::Amount&) { t.ticket.sender_nonce += 1000; }, "signature"},
      // A field recipientRand binds: refused by the hash, before the signature.
      {"face value edited",
       [&](SignedTicket& t, U256&, FakeLedger&, core::Amount&) {
         t = w.one(w.params());
         t.ticket.face_value += 1;
       },
       "recipientRandHash"},
      {"wrong seed",
       [&](SignedTicket& t, U256& seed, FakeLedger&, core::Amount&) {
         t = w.one(w.params());
         seed = 8;
       },
       "recipientRandHash"},
      {"expired",
       [&](SignedTicket& t, U256&, FakeLedger& l, core::Amount&) {
         t = w.one(w.params());
         l.round = 8;
       },
       "expired"},
      {"wrong block hash",
       [&](SignedTicket& t, U256&, FakeLedger& l, core::Amount&) {
         t = w.one(w.params());
         l.hashes[5][0] ^= 1;
       },
       "BlockHash"},
      {"overspending sender",
       [&](SignedTicket& t, U256&, FakeLedger&, core::Amount& pending) {
         t = w.one(w.params());
         pending = core::Amount::from_wei(14'500);
       },
       "cannot cover"},
      {"withdrawing sender",
       [&](SignedTicket& t, U256&, FakeLedger& l, core::Amount&) {
         t = w.one(w.params());
         l.accounts[w.sender_key.address()].withdraw_round = 9;
       },
       "withdrawing"},
  };
  for (const auto& c : cases) {
    SignedTicket t = good;
    U256 seed = p.seed;
    FakeLedger ledger = w.ledger;
    core::Amount pending;
    c.attack(t, seed, ledger, pending);
    auto r = w.receiver.receive(t, seed, ledger, pending);
    ASSERT_FALSE(r) << c.name;
    EXPECT_NE(r.error().message.find(c.reason), std::string::npos) << c.name << ": " << r.error().message;
  }
  // For another recipient.
  core::DeterministicRandom r(11);
  TicketReceiver other(core::PrivateKey::generate(r).address(), Hash256{9}, w.domain);
  auto rejected = other.receive(w.one(w.params()), p.seed, w.ledger, {});
  ASSERT_FALSE(rejected);
  EXPECT_NE(rejected.error().message.find("another recipient"), std::string::npos);
}

TEST(Tickets, TheReplayMemoryForgetsParametersOnceTheirRoundsExpire) {
  // A sender that pays under fresh parameters every round leaves one nonce set
  // per parameter set; those older than the validity window go, so the memory
  // holds at most valid_rounds + 1 of them however long the relationship lasts.
  World w;
  for (uint64_t r = 5; r < 40; ++r) {
    w.ledger.round = r;
    w.ledger.hashes[r] = core::keccak256(as_bytes(std::to_string(r)));
    auto p = w.receiver.params(w.sender_key.address(), 1000, max_win_prob() / 10, r, w.ledger.hashes[r], r);
    ASSERT_TRUE(w.receiver.receive(w.one(p), p.seed, w.ledger, {})) << "round " << r;
    EXPECT_LE(TicketReceiverPeer::nonce_sets(w.receiver), 3u) << "round " << r;
  }
}

// Junk costs no curve operation: every ticket refused for a reason a look-up or
// a hash can find is refused before the signer is recovered.
TEST(Tickets, ARefusedTicketCostsNoSignatureRecoveryUnlessForged) {
  World w;
  int recoveries = 0;
  TicketReceiver receiver(w.recipient_key.address(), Hash256{1, 2, 3}, w.domain, 2,
                          [&](const SignedTicket& st, const TicketDomain& d) {
                            ++recoveries;
                            return ticket_signer(st, d);
                          });
  auto p = w.params();
  SignedTicket good = w.one(p);
  ASSERT_TRUE(receiver.receive(good, p.seed, w.ledger, {}));
  ASSERT_EQ(recoveries, 1);
  struct Case {
    const char* name;
    std::function<void(SignedTicket&, U256&, FakeLedger&, core::Amount&)> attack;
    const char* reason;
  } cheap[] = {
      {"replayed", [&](SignedTicket& t, U256&, FakeLedger&, core::Amount&) { t = good; }, "replayed"},
      {"wrong seed", [](SignedTicket&, U256& seed, FakeLedger&, core::Amount&) { seed += 1; }, "recipientRandHash"},
      {"face value edited", [](SignedTicket& t, U256&, FakeLedger&, core::Amount&) { t.ticket.face_value += 1; },
       "recipientRandHash"},
      {"expired", [](SignedTicket&, U256&, FakeLedger& l, core::Amount&) { l.round = 8; }, "expired"},
      {"future round", [](SignedTicket& t, U256&, FakeLedger&, core::Amount&) { t.ticket.creation_round = 6; },
       "future round"},
      {"wrong block hash", [](SignedTicket&, U256&, FakeLedger& l, core::Amount&) { l.hashes[5][0] ^= 1; },
       "BlockHash"},
      {"sender without funds", [](SignedTicket&, U256&, FakeLedger& l, core::Amount&) { l.accounts.clear(); },
       "no account"},
      {"overspending sender",
       [](SignedTicket&, U256&, FakeLedger&, core::Amount& pending) { pending = core::Amount::from_wei(14'500); },
       "cannot cover"},
  };
  for (const auto& c : cheap) {
    SignedTicket t = w.one(p); // a fresh nonce: valid until attacked
    U256 seed = p.seed;
    FakeLedger ledger = w.ledger;
    core::Amount pending;
    c.attack(t, seed, ledger, pending);
    auto r = receiver.receive(t, seed, ledger, pending);
    ASSERT_FALSE(r) << c.name;
    EXPECT_NE(r.error().message.find(c.reason), std::string::npos) << c.name << ": " << r.error().message;
    EXPECT_EQ(recoveries, 1) << c.name << " cost a signature recovery";
  }
  // Only a ticket that passes every other check is worth one, and a forgery is then caught.
  SignedTicket forged = good;
  forged.ticket.sender_nonce = 77;
  auto r = receiver.receive(forged, p.seed, w.ledger, {});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("signature"), std::string::npos) << r.error().message;
  EXPECT_EQ(recoveries, 2);
}

TEST(Tickets, SenderPaysWhatItOwesAndRefusesBadParameters) {
  World w;
  auto p = w.params(1000, max_win_prob() / 4); // EV 250
  w.sender.owe(p.recipient, core::Amount::from_wei(1000));
  auto t = w.sender.pay(p);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->size(), 4u);
  EXPECT_EQ(w.sender.owed(p.recipient), core::Amount::from_wei(4)); // EV rounds down to 249: 4 x 249 paid, 4 left over
  EXPECT_EQ(t->at(3).ticket.sender_nonce, U256(4));
  TicketParams dear = p;
  dear.face_value = U256("2000000000000000000"); // 2 ether > 1 ether limit
  EXPECT_FALSE(w.sender.pay(dear));
  TicketParams never = p;
  never.win_prob = 0;
  EXPECT_FALSE(w.sender.pay(never));
  EXPECT_EQ(face_value_for(core::Amount::from_wei(3'000'000)), core::Amount::from_wei(300'000'000));
}

} // namespace
} // namespace openstreaming::pay
