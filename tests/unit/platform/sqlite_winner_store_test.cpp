// Winning tickets on disk: what goes in comes back after a reopen, removal is
// durable, and a damaged row is an error naming the ticket, never a silent skip.
#include "core/random.h"
#include "platform/sqlite_winner_store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <sqlite3.h>
#include <unistd.h>

namespace openstreaming::platform {
namespace {

struct Dir {
  std::filesystem::path path =
      std::filesystem::temp_directory_path() / ("os-winners-test-" + std::to_string(::getpid()));
  Dir() { std::filesystem::create_directories(path); }
  ~Dir() { std::filesystem::remove_all(path); }
};

pay::Winner sample(core::DeterministicRandom& rng, uint64_t nonce) {
  auto key = core::PrivateKey::generate(rng);
  pay::TicketDomain domain;
  pay::Ticket t;
  t.recipient = key.address();
  t.sender = key.address();
  t.face_value = 1000;
  t.win_prob = pay::max_win_prob();
  t.sender_nonce = nonce;
  t.creation_round = 3;
  pay::Winner w;
  w.ticket = pay::sign_ticket(key, t, domain);
  w.recipient_rand = rng.bytes<32>();
  w.hash = t.signing_hash(domain);
  return w;
}

TEST(SqliteWinnerStore, WinnersSurviveAReopenAndRemovalIsDurable) {
  Dir d;
  core::DeterministicRandom rng(5);
  auto a = sample(rng, 1), b = sample(rng, 2);
  std::string path = (d.path / "payments.sqlite").string();
  {
    auto s = SqliteWinnerStore::open(path);
    ASSERT_TRUE(s) << s.error().message;
    ASSERT_TRUE((*s)->add(a));
    ASSERT_TRUE((*s)->add(b));
    ASSERT_TRUE((*s)->add(b)); // idempotent
    ASSERT_TRUE((*s)->remove(a.hash));
  }
  auto s = SqliteWinnerStore::open(path);
  ASSERT_TRUE(s);
  auto got = (*s)->load();
  ASSERT_TRUE(got) << got.error().message;
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].hash, b.hash);
  EXPECT_EQ((*got)[0].ticket.ticket, b.ticket.ticket);
  EXPECT_EQ((*got)[0].ticket.signature, b.ticket.signature);
  EXPECT_EQ((*got)[0].recipient_rand, b.recipient_rand);
}

TEST(SqliteWinnerStore, DamageIsAnErrorAndAMissingDirectoryToo) {
  Dir d;
  core::DeterministicRandom rng(6);
  std::string path = (d.path / "payments.sqlite").string();
  {
    auto s = SqliteWinnerStore::open(path);
    ASSERT_TRUE(s);
    ASSERT_TRUE((*s)->add(sample(rng, 1)));
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE winners SET signature = 'nonsense'", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto s = SqliteWinnerStore::open(path);
  ASSERT_TRUE(s);
  auto got = (*s)->load();
  ASSERT_FALSE(got);
  EXPECT_NE(got.error().message.find("stored winner 0x"), std::string::npos) << got.error().message;
  EXPECT_FALSE(SqliteWinnerStore::open((d.path / "no" / "such" / "dir.sqlite").string()));
}

} // namespace
} // namespace openstreaming::platform
