// LedgerStore: what is acknowledged is durable and replays; a failed write
// refuses the transaction (and the next ones) until storage works again; an
// idle ledger does not grow its log.
#include "core/random.h"
#include "ledger/store.h"
#include "support/temp_dir.h"

#include <gtest/gtest.h>

#include <sqlite3.h>

namespace openstreaming::ledger {

// Test-only access to the store's database.
class LedgerStorePeer {
public:
  static sqlite3* db(LedgerStore& s) { return s.m_db; }
};

namespace {

struct Fixture {
  test::TempDir dir;
  core::DeterministicRandom rng{11};
  core::PrivateKey alice = core::PrivateKey::generate(rng), bob = core::PrivateKey::generate(rng);
  Genesis genesis;
  std::string path = dir.file("ledger.sqlite");
  Fixture() {
    genesis.accounts[alice.address()] = *Amount::parse("100ether");
    genesis.round_blocks = 4;
  }
  std::unique_ptr<LedgerStore> open() {
    auto s = LedgerStore::open(path, genesis);
    EXPECT_TRUE(s) << s.error().message;
    return s ? std::move(*s) : nullptr;
  }
  Result<json> pay(LedgerStore& s) {
    const State& st = s.state();
    return s.submit(sign_tx(alice, st.account(alice.address()).nonce, "transfer",
                            {{"to", bob.address().to_checksum_hex()}, {"amount", "1gwei"}}, st.genesis().chain_id));
  }
};

int64_t rows(const std::string& path, const std::string& table) {
  sqlite3* db = nullptr;
  sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* q = nullptr;
  sqlite3_prepare_v2(db, ("SELECT COUNT(*) FROM " + table).c_str(), -1, &q, nullptr);
  int64_t n = q && sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_int64(q, 0) : -1;
  sqlite3_finalize(q);
  sqlite3_close(db);
  return n;
}

void exec(sqlite3* db, const std::string& sql) {
  ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
}

TEST(LedgerStore, AFailedWriteRefusesTheTransactionUntilStorageWorksAgainAndRestartReplays) {
  Fixture f;
  auto s = f.open();
  ASSERT_TRUE(s);
  int64_t t = 1000;
  ASSERT_TRUE(f.pay(*s));
  s->seal_block(t += 500);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(f.pay(*s)); // acknowledged, in the open block
  // Every write fails from here (as on a read-only or broken disk).
  sqlite3* db = LedgerStorePeer::db(*s);
  exec(db, "PRAGMA query_only = 1");
  auto r = f.pay(*s);
  ASSERT_FALSE(r) << "a transaction that was never written was acknowledged";
  EXPECT_EQ(r.error().code, Errc::io);
  EXPECT_NE(s->failure(), "");
  EXPECT_EQ(s->state().account(f.alice.address()).nonce, 4u) << "the refused transaction was applied";
  // Refused while storage fails, and no block is sealed over the unwritten block.
  EXPECT_FALSE(f.pay(*s));
  const uint64_t height = s->state().height();
  s->seal_block(t += 500);
  s->seal_block(t += 500);
  EXPECT_EQ(s->state().height(), height);
  EXPECT_NE(s->failure(), "");
  // Storage works again: the next seal writes the open block, transactions are accepted.
  exec(db, "PRAGMA query_only = 0");
  s->seal_block(t += 500);
  EXPECT_EQ(s->failure(), "");
  EXPECT_EQ(s->state().height(), height + 1);
  ASSERT_TRUE(f.pay(*s));
  s->seal_block(t += 500);
  const Hash256 last = s->state().last_hash();
  s.reset();
  // The restart replays everything acknowledged: no hash mismatch, the same state.
  auto again = f.open();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->state().last_hash(), last);
  EXPECT_EQ(again->state().account(f.alice.address()).nonce, 5u);
}

TEST(LedgerStore, AFullDiskRefusesTheTransactionThatDoesNotFitAndRestartReplays) {
  Fixture f;
  auto s = f.open();
  ASSERT_TRUE(s);
  int64_t t = 1000;
  ASSERT_TRUE(f.pay(*s));
  s->seal_block(t += 500);
  // The disk is "full": the database may not grow by one more page.
  sqlite3* db = LedgerStorePeer::db(*s);
  sqlite3_stmt* q = nullptr;
  sqlite3_prepare_v2(db, "PRAGMA page_count", -1, &q, nullptr);
  ASSERT_EQ(sqlite3_step(q), SQLITE_ROW);
  int64_t pages = sqlite3_column_int64(q, 0);
  sqlite3_finalize(q);
  exec(db, "PRAGMA max_page_count = " + std::to_string(pages));
  int accepted = 0;
  Result<json> r = json::object();
  for (int i = 0; i < 200 && r; ++i) {
    r = f.pay(*s);
    if (r) ++accepted;
    if (r && i % 10 == 9) s->seal_block(t += 500);
  }
  ASSERT_FALSE(r) << "the full database never refused a write";
  EXPECT_EQ(r.error().code, Errc::io);
  const uint64_t nonce = s->state().account(f.alice.address()).nonce;
  EXPECT_EQ(nonce, static_cast<uint64_t>(1 + accepted)) << "the refused transaction was applied";
  exec(db, "PRAGMA max_page_count = 1000000");
  s->seal_block(t += 500);
  EXPECT_EQ(s->failure(), "");
  ASSERT_TRUE(f.pay(*s));
  s->seal_block(t += 500);
  const Hash256 last = s->state().last_hash();
  const Amount bob_balance = s->state().account(f.bob.address()).balance;
  s.reset();
  auto again = f.open();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->state().last_hash(), last);
  EXPECT_EQ(again->state().account(f.bob.address()).balance, bob_balance);
  EXPECT_EQ(again->state().account(f.alice.address()).nonce, nonce + 1);
}

TEST(LedgerStore, AnIdleLedgerDoesNotGrowItsLogAndRestartsAtTheSameBlock) {
  Fixture f;
  auto s = f.open();
  ASSERT_TRUE(s);
  int64_t t = 1000;
  ASSERT_TRUE(f.pay(*s));
  s->seal_block(t += 500);
  for (int i = 0; i < 100; ++i) s->seal_block(t += 500);
  const int64_t after_100 = rows(f.path, "blocks");
  for (int i = 0; i < 2000; ++i) s->seal_block(t += 500);
  // 2,000 empty blocks later the log is no longer: empty blocks are logged
  // only when they open a round, and old ones are pruned.
  EXPECT_LE(rows(f.path, "blocks"), after_100);
  EXPECT_LE(rows(f.path, "blocks"), static_cast<int64_t>(s->state().params().ticket_valid_rounds) + 4);
  EXPECT_EQ(rows(f.path, "txs"), 1);
  const uint64_t height = s->state().height();
  const Hash256 last = s->state().last_hash();
  const auto round_hash = s->state().round_block_hash(s->state().round());
  s.reset();
  auto again = f.open();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->state().height(), height);
  EXPECT_EQ(again->state().last_hash(), last);
  EXPECT_EQ(again->state().round_block_hash(again->state().round()), round_hash);
  EXPECT_EQ(again->state().account(f.alice.address()).nonce, 1u);
  // The chain goes on from there and replays again.
  ASSERT_TRUE(f.pay(*again));
  again->seal_block(t += 500);
  const Hash256 next = again->state().last_hash();
  again.reset();
  auto third = f.open();
  ASSERT_TRUE(third);
  EXPECT_EQ(third->state().last_hash(), next);
}

TEST(LedgerStore, ACrashBetweenLoggedBlocksResumesAtTheLastLoggedOneWithTheRoundHashesIntact) {
  Fixture f;
  auto s = f.open();
  ASSERT_TRUE(s);
  int64_t t = 1000;
  for (int i = 0; i < 10; ++i) s->seal_block(t += 500); // height 10, round 2 opened at height 8
  const auto round_hash = s->state().round_block_hash(2);
  ASSERT_TRUE(round_hash);
  // A "crash": the database as it is now, without the store's clean close.
  std::filesystem::copy_file(f.path, f.dir.file("crash.sqlite"));
  if (std::filesystem::exists(f.path + "-wal"))
    std::filesystem::copy_file(f.path + "-wal", f.dir.file("crash.sqlite-wal"));
  s.reset();
  auto crashed = LedgerStore::open(f.dir.file("crash.sqlite"), f.genesis);
  ASSERT_TRUE(crashed) << crashed.error().message;
  EXPECT_EQ((*crashed)->state().height(), 8u);
  EXPECT_EQ((*crashed)->state().round(), 2u);
  EXPECT_EQ((*crashed)->state().round_block_hash(2), round_hash);
}

} // namespace
} // namespace openstreaming::ledger
