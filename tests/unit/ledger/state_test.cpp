// The embedded ledger's state machine: genesis, accounts, unlock/withdraw,
// all-or-nothing ticket redemption, channels (and the sample contract's three
// bugs, absent), and properties over random histories (RapidCheck).
#include "core/hex.h"
#include "core/keccak.h"
#include "core/random.h"
#include "ledger/state.h"

#include <gtest/gtest.h>
#include <rapidcheck.h>

namespace openstreaming::ledger {
namespace {

std::string salt(uint64_t n) {
  return core::to_hex(core::to_word(U256(n)));
}

struct Chain {
  core::DeterministicRandom rng{7};
  std::vector<core::PrivateKey> keys;
  State state;
  static Genesis genesis_for(std::vector<core::PrivateKey>& keys, core::DeterministicRandom& rng) {
    for (int i = 0; i < 4; ++i) keys.push_back(core::PrivateKey::generate(rng));
    Genesis g;
    for (const auto& k : keys) g.accounts[k.address()] = *Amount::parse("100ether");
    g.round_blocks = 4;
    return g;
  }
  Chain() : state(genesis_for(keys, rng)) {}
  Result<json> tx(int who, const std::string& kind, json args) {
    const auto& k = keys[static_cast<std::size_t>(who)];
    return state.apply(sign_tx(k, state.account(k.address()).nonce, kind, std::move(args), state.genesis().chain_id));
  }
  void blocks(int n) {
    for (int i = 0; i < n; ++i) state.seal_block(1000 * (static_cast<int64_t>(state.height()) + 1));
  }
  Address addr(int i) const { return keys[static_cast<std::size_t>(i)].address(); }
  // A ticket from `from` to `to` that always wins, created now.
  json winning_ticket(int from, int to, const std::string& face, uint64_t nonce) {
    pay::Ticket t;
    t.recipient = addr(to);
    t.sender = addr(from);
    t.face_value = Amount::parse(face)->wei();
    t.win_prob = pay::max_win_prob();
    t.sender_nonce = nonce;
    Hash256 rand = core::keccak256(as_bytes(std::to_string(nonce)));
    t.recipient_rand_hash = core::keccak256(rand);
    t.creation_round = state.round();
    t.creation_round_block_hash = *state.round_block_hash(state.round());
    auto st = pay::sign_ticket(keys[static_cast<std::size_t>(from)], t, state.ticket_domain());
    return {{"ticket", t.to_json()}, {"signature", st.signature.to_hex()}, {"recipient_rand", core::to_hex(rand)}};
  }
};

TEST(LedgerGenesis, ExactFormatAndClearErrors) {
  auto g = Genesis::from_json(json::parse(R"({"chain_id": 1337, "block_ms": 500, "round_blocks": 20,
      "accounts": {"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed": "100ether", "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359": "5gwei"}})"));
  ASSERT_TRUE(g) << g.error().message;
  EXPECT_EQ(g->chain_id, 1337u);
  EXPECT_EQ(g->accounts.size(), 2u);
  EXPECT_EQ(g->supply(), Amount::parse("100.000000005ether")->wei());
  for (const char* bad : {R"([])", R"({"accounts": []})", R"({"accounts": {"0x12": "1ether"}})",
                          R"({"accounts": {"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed": 5}})",
                          R"({"accounts": {}, "round_blocks": 0})", R"({"accounts": {}, "colour": "blue"})"}) {
    auto r = Genesis::from_json(json::parse(bad));
    EXPECT_FALSE(r) << bad;
    if (!r) {
      EXPECT_EQ(r.error().message.rfind("genesis: ", 0), 0u) << r.error().message;
    }
  }
}

TEST(LedgerState, SignaturesAndNoncesGuardEveryTransaction) {
  Chain c;
  EXPECT_TRUE(c.tx(0, "transfer", {{"to", c.addr(1).to_checksum_hex()}, {"amount", "1ether"}}));
  // Replay of the same signed transaction: nonce already used.
  Tx t = sign_tx(c.keys[0], 0, "transfer", {{"to", c.addr(1).to_checksum_hex()}, {"amount", "1ether"}}, 1337);
  auto replay = c.state.apply(t);
  ASSERT_FALSE(replay);
  EXPECT_NE(replay.error().message.find("nonce"), std::string::npos);
  // Signed by someone else.
  Tx forged = sign_tx(c.keys[1], 0, "transfer", {{"to", c.addr(1).to_checksum_hex()}, {"amount", "1ether"}}, 1337);
  forged.from = c.addr(2);
  EXPECT_FALSE(c.state.apply(forged));
  // Another chain's signature.
  EXPECT_FALSE(c.state.apply(sign_tx(c.keys[0], 1, "unlock", {}, 1)));
  auto broke = c.tx(3, "transfer", {{"to", c.addr(1).to_checksum_hex()}, {"amount", "101ether"}});
  ASSERT_FALSE(broke);
  EXPECT_NE(broke.error().message.find("insufficient balance"), std::string::npos);
  EXPECT_EQ(c.state.account(c.addr(3)).nonce, 0u); // a failed transaction consumes nothing
  EXPECT_EQ(c.state.total_value(), c.state.genesis().supply());
}

TEST(LedgerState, UnlockWaitWithdrawAndFundingCancelsAnUnlock) {
  Chain c;
  ASSERT_TRUE(c.tx(0, "fund", {{"deposit", "2ether"}, {"reserve", "1ether"}}));
  ASSERT_TRUE(c.tx(0, "unlock", {}));
  EXPECT_EQ(c.state.account(c.addr(0)).withdraw_round, 2u);
  EXPECT_FALSE(c.tx(0, "withdraw", {}));
  ASSERT_TRUE(c.tx(0, "fund", {{"deposit", "1ether"}}));
  EXPECT_EQ(c.state.account(c.addr(0)).withdraw_round, 0u); // cancelled
  ASSERT_TRUE(c.tx(0, "unlock", {}));
  c.blocks(8); // two rounds of 4 blocks
  auto w = c.tx(0, "withdraw", {});
  ASSERT_TRUE(w) << w.error().message;
  EXPECT_EQ(c.state.account(c.addr(0)).balance, *Amount::parse("100ether"));
  EXPECT_EQ(c.state.account(c.addr(0)).deposit, Amount{});
}

TEST(LedgerState, RedemptionIsAllOrNothingAndNeverTwice) {
  Chain c;
  ASSERT_TRUE(c.tx(0, "fund", {{"deposit", "1ether"}, {"reserve", "1ether"}}));
  json t1 = c.winning_ticket(0, 1, "1.5ether", 1), t2 = c.winning_ticket(0, 1, "1ether", 2);
  auto r = c.tx(1, "redeem", {{"tickets", {t1, t1, t2}}});
  ASSERT_TRUE(r) << r.error().message;
  const json& res = (*r)["results"];
  EXPECT_EQ(res[0]["paid"], true); // 1 ether from the deposit, 0.5 from the reserve
  EXPECT_EQ(res[0]["from_reserve"], "500000000000000000");
  EXPECT_EQ(res[1]["paid"], false); // the same ticket again
  EXPECT_EQ(res[1]["reason"], "already redeemed");
  EXPECT_EQ(res[2]["paid"], false); // only 0.5 ether left: nothing paid, not burnt
  EXPECT_EQ(c.state.account(c.addr(1)).balance, *Amount::parse("101.5ether"));
  EXPECT_EQ(c.state.account(c.addr(0)).reserve, *Amount::parse("0.5ether"));
  // Funded again, the same ticket is still redeemable.
  ASSERT_TRUE(c.tx(0, "fund", {{"deposit", "1ether"}}));
  auto again = c.tx(1, "redeem", {{"tickets", {t2}}});
  ASSERT_TRUE(again);
  EXPECT_EQ((*again)["results"][0]["paid"], true);
  // Someone else cannot redeem it; a stolen ticket with a wrong rand does not pay.
  json stolen = c.winning_ticket(0, 1, "0.1ether", 3);
  EXPECT_EQ((*c.tx(2, "redeem", {{"tickets", {stolen}}}))["results"][0]["reason"], "not the recipient");
  stolen["recipient_rand"] = core::to_hex(core::keccak256(as_bytes(std::string_view("guess"))));
  EXPECT_EQ((*c.tx(1, "redeem", {{"tickets", {stolen}}}))["results"][0]["reason"], "recipient_rand does not match");
  // Expired: created more than ticket_valid_rounds (4) rounds ago.
  json old = c.winning_ticket(0, 1, "0.1ether", 4);
  c.blocks(4 * (c.state.params().ticket_valid_rounds + 1));
  EXPECT_EQ((*c.tx(1, "redeem", {{"tickets", {old}}}))["results"][0]["reason"], "expired");
  EXPECT_EQ(c.state.total_value(), c.state.genesis().supply());
}

TEST(LedgerState, ChannelsWithoutTheSampleContractsBugs) {
  Chain c;
  auto opened =
      c.tx(0, "open_channel",
           {{"payee", c.addr(1).to_checksum_hex()}, {"amount", "2ether"}, {"expiry", 1000}, {"salt", salt(1)}});
  ASSERT_TRUE(opened) << opened.error().message;
  std::string id = (*opened)["id"];
  auto other =
      c.tx(2, "open_channel",
           {{"payee", c.addr(1).to_checksum_hex()}, {"amount", "5ether"}, {"expiry", 1000}, {"salt", salt(1)}});
  ASSERT_TRUE(other);
  Hash256 cid = *core::from_hex_fixed<32>(id);
  auto voucher = [&](int payer, const Hash256& channel, const std::string& cum) {
    return core::sign_hash(c.keys[static_cast<std::size_t>(payer)],
                           voucher_hash(c.state.ticket_domain(), channel, Amount::parse(cum)->wei()))
        .to_hex();
  };
  // Bug 1 (payee self-reports): a claim needs the payer's signed voucher.
  EXPECT_FALSE(c.tx(1, "claim", {{"channel", id}, {"cumulative", "1ether"}, {"signature", voucher(1, cid, "1ether")}}));
  ASSERT_TRUE(c.tx(1, "claim", {{"channel", id}, {"cumulative", "1ether"}, {"signature", voucher(0, cid, "1ether")}}));
  // Stale and replayed vouchers pay nothing; a voucher for one channel does not open another.
  auto stale = c.tx(1, "claim", {{"channel", id}, {"cumulative", "1ether"}, {"signature", voucher(0, cid, "1ether")}});
  ASSERT_FALSE(stale);
  EXPECT_NE(stale.error().message.find("stale"), std::string::npos);
  EXPECT_FALSE(
      c.tx(1, "claim",
           {{"channel", (*other)["id"]}, {"cumulative", "1.5ether"}, {"signature", voucher(0, cid, "1.5ether")}}));
  // Bug 2 (paid from the pooled balance): a voucher above this channel's deposit is refused.
  EXPECT_FALSE(c.tx(1, "claim", {{"channel", id}, {"cumulative", "3ether"}, {"signature", voucher(0, cid, "3ether")}}));
  // Top-up while open; close starts the challenge; no top-up then; the payee still claims.
  ASSERT_TRUE(c.tx(0, "top_up", {{"channel", id}, {"amount", "1ether"}}));
  ASSERT_TRUE(c.tx(0, "close_channel", {{"channel", id}}));
  EXPECT_FALSE(c.tx(0, "top_up", {{"channel", id}, {"amount", "1ether"}}));
  EXPECT_FALSE(c.tx(0, "settle_channel", {{"channel", id}}));
  ASSERT_TRUE(
      c.tx(1, "claim", {{"channel", id}, {"cumulative", "2.5ether"}, {"signature", voucher(0, cid, "2.5ether")}}));
  c.blocks(41);
  auto settled = c.tx(0, "settle_channel", {{"channel", id}});
  ASSERT_TRUE(settled) << settled.error().message;
  // Bug 3 (close sends the whole pool to the payer): only this channel's rest, 0.5 ether.
  EXPECT_EQ((*settled)["returned"], "500000000000000000");
  EXPECT_EQ(c.state.account(c.addr(0)).balance, *Amount::parse("97.5ether"));
  EXPECT_EQ(c.state.account(c.addr(1)).balance, *Amount::parse("102.5ether"));
  EXPECT_EQ(c.state.channels().at(*core::from_hex_fixed<32>((*other)["id"].get<std::string>())).deposit,
            *Amount::parse("5ether"));
  EXPECT_EQ(c.state.total_value(), c.state.genesis().supply());
}

TEST(LedgerState, AChannelHasTheContractsIdAndExpiry) {
  Chain c;
  const Hash256 salt7 = *core::from_hex_fixed<32>(salt(7));
  auto open = [&](json expiry, const std::string& s) {
    return c.tx(0, "open_channel",
                {{"payee", c.addr(1).to_checksum_hex()}, {"amount", "1ether"}, {"expiry", expiry}, {"salt", s}});
  };
  // The expiry must leave the whole challenge period (40 blocks from block 0).
  EXPECT_FALSE(open(39, salt(7)));
  EXPECT_FALSE(open("60", salt(7)));
  auto opened = open(60, salt(7));
  ASSERT_TRUE(opened) << opened.error().message;
  // The id is StreamChannels.channelId's formula, computable before opening.
  EXPECT_EQ((*opened)["id"], core::to_hex(c.state.channel_id(c.addr(0), c.addr(1), salt7)));
  EXPECT_EQ((*opened)["expiry"], 60);
  auto again = open(60, salt(7));
  ASSERT_FALSE(again);
  EXPECT_NE(again.error().message.find("exists"), std::string::npos);
  const std::string id = (*opened)["id"];
  const Hash256 cid = *core::from_hex_fixed<32>(id);
  auto voucher = [&](const std::string& cum) {
    return core::sign_hash(c.keys[0], voucher_hash(c.state.ticket_domain(), cid, Amount::parse(cum)->wei())).to_hex();
  };
  // Not settleable before the expiry without a close; claimable up to the expiry block, not after.
  EXPECT_FALSE(c.tx(3, "settle_channel", {{"channel", id}}));
  c.blocks(60);
  ASSERT_TRUE(c.tx(1, "claim", {{"channel", id}, {"cumulative", "0.25ether"}, {"signature", voucher("0.25ether")}}));
  c.blocks(1);
  auto late = c.tx(1, "claim", {{"channel", id}, {"cumulative", "0.5ether"}, {"signature", voucher("0.5ether")}});
  ASSERT_FALSE(late);
  EXPECT_NE(late.error().message.find("expired"), std::string::npos);
  EXPECT_FALSE(c.tx(0, "top_up", {{"channel", id}, {"amount", "1ether"}}));
  // After the expiry anyone settles, and the rest goes to the payer.
  auto settled = c.tx(3, "settle_channel", {{"channel", id}});
  ASSERT_TRUE(settled) << settled.error().message;
  EXPECT_EQ((*settled)["returned"], "750000000000000000");
  EXPECT_EQ(c.state.account(c.addr(0)).balance, *Amount::parse("99.75ether"));
  EXPECT_EQ(c.state.total_value(), c.state.genesis().supply());
}

TEST(LedgerState, StakeUnbondsThroughALock) {
  Chain c;
  EXPECT_FALSE(c.tx(0, "bond", {{"amount", "0ether"}}));
  EXPECT_FALSE(c.tx(0, "bond", {{"amount", "101ether"}}));
  ASSERT_TRUE(c.tx(0, "bond", {{"amount", "10ether"}}));
  EXPECT_FALSE(c.tx(0, "unbond", {{"amount", "11ether"}}));
  auto u = c.tx(0, "unbond", {{"amount", "4ether"}});
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_EQ((*u)["lock"], 0);
  EXPECT_EQ((*u)["locks"][0]["withdraw_block"], 40);
  ASSERT_TRUE(c.tx(0, "unbond", {{"amount", "1ether"}}));
  Account a = c.state.account(c.addr(0));
  EXPECT_EQ(a.bonded, *Amount::parse("5ether"));
  EXPECT_EQ(a.unbonding, *Amount::parse("5ether"));
  EXPECT_EQ(a.stake(), *Amount::parse("10ether")); // still all reachable by a slasher
  // Not before the unbonding period; someone else's lock id is not ours.
  auto early = c.tx(0, "withdraw_stake", {{"lock", 0}});
  ASSERT_FALSE(early);
  EXPECT_NE(early.error().message.find("not yet withdrawable"), std::string::npos);
  EXPECT_FALSE(c.tx(1, "withdraw_stake", {{"lock", 0}}));
  ASSERT_TRUE(c.tx(0, "rebond", {{"lock", 1}}));
  EXPECT_FALSE(c.tx(0, "rebond", {{"lock", 1}})); // a lock is used once
  c.blocks(40);
  auto w = c.tx(0, "withdraw_stake", {{"lock", 0}});
  ASSERT_TRUE(w) << w.error().message;
  EXPECT_EQ((*w)["withdrawn"], "4000000000000000000");
  EXPECT_FALSE(c.tx(0, "withdraw_stake", {{"lock", 0}}));
  a = c.state.account(c.addr(0));
  EXPECT_EQ(a.balance, *Amount::parse("94ether"));
  EXPECT_EQ(a.bonded, *Amount::parse("6ether"));
  EXPECT_EQ(a.unbonding, Amount{});
  EXPECT_EQ(c.state.total_value(), c.state.genesis().supply());
}

TEST(LedgerState, TheRegistryHoldsBoundedRecordsOnlyTheirOperatorsChange) {
  Chain c;
  json offers = json::array({{{"capability", "h264/480p30"}, {"price", "3wei"}}});
  json rec = {{"endpoint", "127.0.0.1:7000"}, {"region", "eu"}, {"roles", 4}, {"offers", offers}};
  EXPECT_FALSE(c.tx(0, "update", rec));
  EXPECT_FALSE(c.tx(0, "deregister", json::object()));
  auto r = c.tx(0, "register", rec);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(c.tx(0, "register", rec));
  ASSERT_EQ(c.state.services().size(), 1u);
  EXPECT_EQ(c.state.services().at(c.addr(0)).offers.at(0).price, Amount(U256(3)));
  for (const json& bad :
       {json{{"endpoint", ""}, {"roles", 1}}, json{{"endpoint", "x"}, {"roles", 0}},
        json{{"endpoint", "x"}, {"roles", 32}}, json{{"endpoint", std::string(257, 'e')}, {"roles", 1}},
        json{{"endpoint", "x"}, {"region", std::string(33, 'r')}, {"roles", 1}},
        json{{"endpoint", "x"}, {"roles", 1}, {"offers", json::array({json{{"capability", ""}, {"price", "1wei"}}})}},
        json{{"endpoint", "x"}, {"roles", 1}, {"offers", json::array({json::object()})}}}) {
    EXPECT_FALSE(c.tx(1, "register", bad)) << bad.dump();
  }
  json many = json::array();
  for (int i = 0; i < 33; ++i) many.push_back({{"capability", "c" + std::to_string(i)}, {"price", "1wei"}});
  EXPECT_FALSE(c.tx(1, "register", {{"endpoint", "x"}, {"roles", 1}, {"offers", many}}));
  many.erase(many.begin());
  ASSERT_TRUE(c.tx(1, "register", {{"endpoint", "x"}, {"roles", 1}, {"offers", many}}));
  // An update replaces the record; deregister removes only the sender's.
  ASSERT_TRUE(c.tx(0, "update", {{"endpoint", "127.0.0.1:7001"}, {"roles", 5}}));
  EXPECT_EQ(c.state.services().at(c.addr(0)).endpoint, "127.0.0.1:7001");
  EXPECT_TRUE(c.state.services().at(c.addr(0)).offers.empty());
  ASSERT_TRUE(c.tx(1, "deregister", json::object()));
  EXPECT_EQ(c.state.services().count(c.addr(1)), 0u);
  EXPECT_EQ(c.state.services().count(c.addr(0)), 1u);
}

TEST(LedgerGenesis, ParamsAreOptionalAndCheckedAndOnlyWrittenWhenSet) {
  const std::string accounts = R"("accounts": {"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed": "1ether"})";
  auto plain = Genesis::from_json(json::parse("{" + accounts + "}"));
  ASSERT_TRUE(plain);
  EXPECT_FALSE(plain->to_json().contains("params"));
  auto set = Genesis::from_json(
      json::parse("{" + accounts + R"(, "params": {"challenge_blocks": 5, "unbonding_blocks": 7}})"));
  ASSERT_TRUE(set) << set.error().message;
  EXPECT_EQ(set->params.challenge_blocks, 5u);
  EXPECT_EQ(set->params.unbonding_blocks, 7u);
  EXPECT_EQ(set->params.unlock_rounds, 2u);
  EXPECT_EQ(Genesis::from_json(set->to_json())->params, set->params);
  for (const char* bad : {R"("params": [])", R"("params": {"challenge_blocks": 0})", R"("params": {"later": 1})",
                          R"("params": {"ticket_valid_rounds": 256})"}) {
    EXPECT_FALSE(Genesis::from_json(json::parse("{" + accounts + ", " + bad + "}"))) << bad;
  }
}

TEST(LedgerProperties, ValueIsConservedAndNoTicketIsPaidTwice) {
  bool ok = rc::check("random histories", [](const std::vector<std::tuple<uint8_t, uint8_t, uint8_t, uint16_t>>& ops) {
    Chain c;
    std::vector<json> tickets;
    std::vector<std::string> channels;
    std::map<std::string, int> paid;
    uint64_t nonce = 0;
    for (const auto& [op, a, b, x] : ops) {
      int who = a % 4, to = b % 4;
      std::string amt = std::to_string(x % 50) + "ether";
      switch (op % 11) {
      case 0:
        (void)c.tx(who, "transfer", {{"to", c.addr(to).to_checksum_hex()}, {"amount", amt}});
        break;
      case 1:
        (void)c.tx(who, "fund", {{"deposit", amt}, {"reserve", std::to_string(x % 7) + "ether"}});
        break;
      case 2:
        (void)c.tx(who, "unlock", {});
        break;
      case 3:
        (void)c.tx(who, "withdraw", {});
        break;
      case 4:
        if (who != to) tickets.push_back(c.winning_ticket(who, to, std::to_string(x % 20) + "ether", ++nonce));
        break;
      case 5:
        if (!tickets.empty()) {
          const json& t = tickets[x % tickets.size()];
          int recipient = 0;
          for (int i = 0; i < 4; ++i)
            if (c.addr(i).to_checksum_hex() == t["ticket"]["recipient"]) recipient = i;
          if (auto r = c.tx(recipient, "redeem", {{"tickets", {t}}}); r && (*r)["results"][0]["paid"] == true) {
            ++paid[(*r)["results"][0]["ticket_hash"]];
          }
        }
        break;
      case 6:
        if (who != to) {
          if (auto r = c.tx(who, "open_channel",
                            {{"payee", c.addr(to).to_checksum_hex()},
                             {"amount", amt},
                             {"expiry", 50 + x % 100},
                             {"salt", salt(x)}}))
            channels.push_back((*r)["id"]);
        }
        break;
      case 7:
        if (!channels.empty()) (void)c.tx(who, "close_channel", {{"channel", channels[x % channels.size()]}});
        break;
      case 8:
        c.blocks(1 + x % 5);
        break;
      case 9:
        (void)c.tx(who, x % 2 ? "bond" : "unbond", {{"amount", amt}});
        break;
      case 10:
        (void)c.tx(who, x % 2 ? "rebond" : "withdraw_stake", {{"lock", x % 3}});
        break;
      }
      RC_ASSERT(c.state.total_value() == c.state.genesis().supply());
    }
    for (const auto& [hash, n] : paid) RC_ASSERT(n == 1);
  });
  EXPECT_TRUE(ok);
}

// The reserve is split: over random faces and redemption orders, a sender
// whose previous round paid three recipients gives each at most a third of its
// reserve (as it stood at the round's first draw), never pays out more than its
// deposit and reserve, and never marks a winning ticket used without paying it
// in full.
TEST(LedgerProperties, EachRecipientTakesAtMostItsShareOfTheReserve) {
  bool ok = rc::check("random redemption orders", [](const std::vector<std::pair<uint8_t, uint8_t>>& draws) {
    Chain c;
    RC_ASSERT(static_cast<bool>(c.tx(0, "fund", {{"deposit", "3ether"}, {"reserve", "6ether"}})));
    // Round 0: each of 1, 2, 3 is paid once (from the deposit): next round they share the reserve.
    uint64_t nonce = 0;
    for (int to = 1; to <= 3; ++to) {
      auto r = c.tx(to, "redeem", {{"tickets", {c.winning_ticket(0, to, "0.5ether", ++nonce)}}});
      RC_ASSERT(r && (*r)["results"][0]["paid"] == true);
    }
    c.blocks(4); // round 1
    RC_ASSERT(c.state.reserve_recipients(c.addr(0)) == 3u);
    const Account start = c.state.account(c.addr(0));
    const U256 share = start.reserve.wei() / 3;
    std::map<int, U256> from_reserve;
    U256 paid = 0;
    for (const auto& [who, face] : draws) {
      int to = 1 + who % 3;
      std::string f = std::to_string(1 + face % 30) + "00000000000000000"; // 0.1 .. 3 ether in wei
      json t = c.winning_ticket(0, to, f, ++nonce);
      auto r = c.tx(to, "redeem", {{"tickets", {t}}});
      RC_ASSERT(static_cast<bool>(r));
      const json& res = (*r)["results"][0];
      Hash256 th = *core::from_hex_fixed<32>(res["ticket_hash"].get<std::string>());
      if (res["paid"] == true) {
        RC_ASSERT(res["amount"] == f); // in full
        from_reserve[to] += core::Amount::from_decimal_wei(res["from_reserve"].get<std::string>())->wei();
        paid += core::Amount::from_decimal_wei(f)->wei();
        RC_ASSERT(c.state.ticket_used(th));
      } else {
        RC_ASSERT(!c.state.ticket_used(th)); // not paid: not burnt
      }
      RC_ASSERT(from_reserve[to] <= share);
      RC_ASSERT(paid <= start.deposit.wei() + start.reserve.wei());
      RC_ASSERT(c.state.total_value() == c.state.genesis().supply());
    }
  });
  EXPECT_TRUE(ok);
}

TEST(LedgerState, TheReserveShareIsFixedForTheRoundAndRenewsWithTheNext) {
  Chain c;
  ASSERT_TRUE(c.tx(0, "fund", {{"deposit", "0ether"}, {"reserve", "2ether"}}));
  uint64_t nonce = 0;
  // Round 0: one recipient paid (from the reserve: it has it all to itself).
  auto first = c.tx(1, "redeem", {{"tickets", {c.winning_ticket(0, 1, "0.2ether", ++nonce)}}});
  ASSERT_TRUE(first && (*first)["results"][0]["paid"] == true);
  auto second = c.tx(2, "redeem", {{"tickets", {c.winning_ticket(0, 2, "0.2ether", ++nonce)}}});
  ASSERT_TRUE(second && (*second)["results"][0]["paid"] == true);
  c.blocks(4); // round 1: 1.6 ether of reserve, shared by the two recipients of round 0
  EXPECT_EQ(c.state.reserve_recipients(c.addr(0)), 2u);
  EXPECT_EQ(c.state.reserve_share(c.addr(0)), *Amount::parse("0.8ether"));
  auto big = c.tx(1, "redeem", {{"tickets", {c.winning_ticket(0, 1, "0.9ether", ++nonce)}}});
  ASSERT_TRUE(big);
  EXPECT_EQ((*big)["results"][0]["paid"], false) << "more than its share";
  EXPECT_NE((*big)["results"][0]["reason"].get<std::string>().find("share of the reserve"), std::string::npos);
  auto fits = c.tx(1, "redeem", {{"tickets", {c.winning_ticket(0, 1, "0.8ether", ++nonce)}}});
  ASSERT_TRUE(fits && (*fits)["results"][0]["paid"] == true);
  EXPECT_EQ(c.state.reserve_taken(c.addr(0), c.addr(1)), *Amount::parse("0.8ether"));
  // The other recipient's share is unchanged by the first one's draw.
  EXPECT_EQ(c.state.reserve_share(c.addr(0)), *Amount::parse("0.8ether"));
  auto other = c.tx(2, "redeem", {{"tickets", {c.winning_ticket(0, 2, "0.8ether", ++nonce)}}});
  ASSERT_TRUE(other && (*other)["results"][0]["paid"] == true);
  EXPECT_EQ(c.state.total_value(), c.state.genesis().supply());
}

} // namespace
} // namespace openstreaming::ledger
