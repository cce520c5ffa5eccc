#include "core/keccak.h"
#include "json_values.h"
#include "ledger/evm/rlp.h"
#include "ledger/evm/tx.h"

#include <gtest/gtest.h>

namespace openstreaming::ledger::evm {
namespace {

using test::hex;
using test::json;

// Signing with a published key gives the published raw bytes; decoding them gives
// back the transaction, its signature and its sender.
void check_signing(const json& vectors) {
  for (const auto& v : vectors) {
    SCOPED_TRACE(v["name"].get<std::string>());
    Eip1559Transaction tx = test::eip1559_tx(v["tx"]);
    core::PrivateKey key = test::private_key(v["private_key"]);
    SignedEip1559Transaction signed_tx = sign(tx, key);
    Bytes raw = encode(signed_tx);
    EXPECT_EQ(core::to_hex(raw), v["raw"].get<std::string>());
    if (v.contains("signing_hash")) {
      EXPECT_EQ(core::to_hex(signing_hash(tx)), v["signing_hash"].get<std::string>());
    }
    EXPECT_EQ(transaction_hash(signed_tx), core::keccak256(raw));
    if (v.contains("hash")) {
      EXPECT_EQ(core::to_hex(transaction_hash(signed_tx)), v["hash"].get<std::string>());
    }

    auto decoded = decode_eip1559(hex(v["raw"].get<std::string>()));
    ASSERT_TRUE(decoded) << decoded.error().message;
    EXPECT_EQ(*decoded, signed_tx);
    auto sender = recover_sender(*decoded);
    ASSERT_TRUE(sender) << sender.error().message;
    EXPECT_EQ(*sender, test::address(v["sender"].get<std::string>()));
    EXPECT_EQ(*sender, key.address());
  }
}

TEST(Eip1559, ViemSignedSnapshots) {
  json vectors = test::read_json("eip1559_transactions.json")["signing"];
  ASSERT_EQ(vectors.size(), 6u);
  check_signing(vectors);
}

TEST(Eip1559, EthersSignedTransactions) {
  check_signing(test::read_json("evm_ethers_generated.json")["transactions"]);
}

TEST(Eip1559, MainnetTransactionHashAndSender) {
  json file = test::read_json("eip1559_transactions.json");
  for (const auto& v : file["recover"]) {
    SCOPED_TRACE(v["name"].get<std::string>());
    SignedEip1559Transaction signed_tx{test::eip1559_tx(v["tx"]), static_cast<uint8_t>(v["y_parity"].get<int>()),
                                       test::u256(v["r"]), test::u256(v["s"])};
    EXPECT_EQ(core::to_hex(transaction_hash(signed_tx)), v["hash"].get<std::string>());
    auto sender = recover_sender(signed_tx);
    ASSERT_TRUE(sender) << sender.error().message;
    EXPECT_EQ(*sender, test::address(v["sender"].get<std::string>()));
    auto decoded = decode_eip1559(encode(signed_tx));
    ASSERT_TRUE(decoded);
    EXPECT_EQ(*decoded, signed_tx);
  }
}

TEST(Eip1559, ContractCreationEncodesAnEmptyTo) {
  Eip1559Transaction tx;
  tx.chain_id = 1;
  tx.data = Bytes{0x60, 0x80};
  Bytes payload = signing_payload(tx);
  // 0x02 ‖ [1, 0, 0, 0, 0, "", 0, 0x6080, []]
  EXPECT_EQ(core::to_hex(payload), "0x02cb01808080808080826080c0");
  auto decoded = decode_eip1559(encode(sign(tx, test::private_key(json("0x" + std::string(63, '0') + "1")))));
  ASSERT_TRUE(decoded);
  EXPECT_FALSE(decoded->tx.to.has_value());
}

Bytes reencode(const rlp::Item& list) {
  Bytes out{kEip1559TxType};
  rlp::encode_to(list, out);
  return out;
}

TEST(Eip1559, DecodeRejectsMalformedTransactions) {
  json v = test::read_json("eip1559_transactions.json")["signing"][3]; // has an access list
  Bytes raw = hex(v["raw"].get<std::string>());
  rlp::Item good = *rlp::decode(ByteView(raw).subspan(1));
  auto with = [&](std::size_t field, rlp::Item replacement) {
    std::vector<rlp::Item> items = good.items();
    items[field] = std::move(replacement);
    return reencode(rlp::Item::list(std::move(items)));
  };
  auto fewer = good.items();
  fewer.pop_back();
  Bytes trailing = raw;
  trailing.push_back(0x00);
  struct Case {
    const char* name;
    Bytes raw;
  } cases[] = {
      {.name = "empty", .raw = {}},
      {.name = "legacy envelope", .raw = Bytes(raw.begin() + 1, raw.end())},
      {.name = "type 1",
       .raw =
           [&] {
             Bytes b = raw;
             b[0] = 0x01;
             return b;
           }()},
      {.name = "trailing byte", .raw = trailing},
      {.name = "11 fields", .raw = reencode(rlp::Item::list(fewer))},
      {.name = "nonce with a leading zero", .raw = with(1, rlp::Item::bytes(Bytes{0x00, 0x01}))},
      {.name = "nonce of 9 bytes", .raw = with(1, rlp::Item::bytes(Bytes(9, 0x01)))},
      {.name = "to of 19 bytes", .raw = with(5, rlp::Item::bytes(Bytes(19, 0x01)))},
      {.name = "data as a list", .raw = with(7, rlp::Item::list({}))},
      {.name = "access list as bytes", .raw = with(8, rlp::Item::bytes(Bytes{}))},
      {.name = "access entry of one item",
       .raw = with(8, rlp::Item::list({rlp::Item::list({good.items()[8].items()[0].items()[0]})}))},
      {.name = "storage key of 31 bytes",
       .raw = with(8, rlp::Item::list({rlp::Item::list({good.items()[8].items()[0].items()[0],
                                                        rlp::Item::list({rlp::Item::bytes(Bytes(31, 1))})})}))},
      {.name = "yParity 2", .raw = with(9, rlp::Item::uint(U256(2)))},
      {.name = "r of 33 bytes", .raw = with(10, rlp::Item::bytes(Bytes(33, 1)))},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_FALSE(decode_eip1559(c.raw));
  }
  EXPECT_TRUE(decode_eip1559(with(1, good.items()[1])));
}

TEST(Eip1559, RecoverRejectsNonCanonicalSignatures) {
  json v = test::read_json("eip1559_transactions.json")["signing"][0];
  auto signed_tx = *decode_eip1559(hex(v["raw"].get<std::string>()));
  // s' = n - s verifies mathematically but is the high-s twin EIP-2 forbids.
  U256 n("0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141");
  auto high_s = signed_tx;
  high_s.s = n - signed_tx.s;
  high_s.y_parity ^= 1;
  EXPECT_FALSE(recover_sender(high_s));
  auto zero_r = signed_tx;
  zero_r.r = 0;
  EXPECT_FALSE(recover_sender(zero_r));
  auto r_at_n = signed_tx;
  r_at_n.r = n;
  EXPECT_FALSE(recover_sender(r_at_n));
  // A different transaction under the same signature recovers someone else.
  auto changed = signed_tx;
  changed.tx.nonce += 1;
  auto other = recover_sender(changed);
  if (other) {
    EXPECT_NE(*other, test::address(v["sender"].get<std::string>()));
  }
}

TEST(Legacy, Eip155ExampleAndViemSnapshots) {
  json file = test::read_json("eip1559_transactions.json");
  for (const auto& v : file["legacy"]) {
    SCOPED_TRACE(v["name"].get<std::string>());
    LegacyTransaction tx = test::legacy_tx(v["tx"]);
    if (v.contains("signing_data")) {
      EXPECT_EQ(core::to_hex(signing_hash(tx)),
                core::to_hex(core::keccak256(hex(v["signing_data"].get<std::string>()))));
    }
    if (v.contains("signing_hash")) {
      EXPECT_EQ(core::to_hex(signing_hash(tx)), v["signing_hash"].get<std::string>());
    }
    SignedLegacyTransaction signed_tx = sign(tx, test::private_key(v["private_key"]));
    if (v.contains("v")) {
      EXPECT_EQ(signed_tx.v, test::u256(v["v"]));
      EXPECT_EQ(signed_tx.r, test::u256(v["r"]));
      EXPECT_EQ(signed_tx.s, test::u256(v["s"]));
    }
    EXPECT_EQ(core::to_hex(encode(signed_tx)), v["raw"].get<std::string>());
  }
}

} // namespace
} // namespace openstreaming::ledger::evm
