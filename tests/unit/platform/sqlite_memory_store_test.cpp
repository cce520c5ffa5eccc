// The agent's memory on disk: what goes in comes back; damage is reported, not crashed on.
#include "platform/sqlite_memory_store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sqlite3.h>
#include <unistd.h>

namespace openstreaming::platform {
namespace {

struct Dir {
  std::filesystem::path path =
      std::filesystem::temp_directory_path() / ("os-memory-test-" + std::to_string(::getpid()));
  Dir() { std::filesystem::create_directories(path); }
  ~Dir() { std::filesystem::remove_all(path); }
};

agent::MemorySnapshot sample() {
  agent::Memory m;
  auto a = core::Address::parse("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed");
  agent::NeighbourProfile& p = m.neighbour(*a);
  p.on_time.value = 0.42;
  p.on_time.n = 17;
  p.on_time_recent.value = 0.3;
  p.rate_kbps.add(21000, 0.3);
  p.parts_missing = 5;
  p.status = agent::NeighbourStatus::incoherent;
  p.probation_until_ms = 1'800'000'000'000;
  p.episodes = 2;
  p.reason = "late or missing parts";
  p.credit_wei = core::Amount::from_wei(123456789);
  agent::NeighbourClaims c;
  c.capacity_kbps = 20000;
  c.quote_wei_per_mb = core::Amount::from_wei(1'200'000'000);
  c.has_quote = true;
  p.claims = c;
  auto id = m.predict("route_latency_ms", "s via x", "keep", 40, 1, 2);
  m.outcome(id, 50);
  return m.snapshot();
}

TEST(SqliteMemoryStore, WhatIsSavedComesBack) {
  Dir d;
  std::string path = (d.path / "memory.sqlite").string();
  {
    auto store = SqliteMemoryStore::open(path);
    ASSERT_TRUE(store) << store.error().message;
    EXPECT_FALSE((*store)->load()); // empty
    (*store)->save(sample());
  }
  auto store = SqliteMemoryStore::open(path); // a restarted node
  ASSERT_TRUE(store);
  auto snap = (*store)->load();
  ASSERT_TRUE(snap);
  ASSERT_EQ(snap->neighbours.size(), 1u);
  const auto& p = snap->neighbours[0];
  EXPECT_EQ(p.address.to_checksum_hex(), "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed");
  EXPECT_DOUBLE_EQ(p.on_time.value, 0.42);
  EXPECT_EQ(p.on_time.n, 17u);
  EXPECT_DOUBLE_EQ(p.on_time_recent.value, 0.3);
  EXPECT_DOUBLE_EQ(p.rate_kbps.mean, 21000);
  EXPECT_EQ(p.status, agent::NeighbourStatus::incoherent);
  EXPECT_EQ(p.probation_until_ms, 1'800'000'000'000);
  EXPECT_EQ(p.episodes, 2u);
  EXPECT_EQ(p.credit_wei, core::Amount::from_wei(123456789));
  ASSERT_TRUE(p.claims);
  EXPECT_EQ(p.claims->quote_wei_per_mb, core::Amount::from_wei(1'200'000'000));
  EXPECT_DOUBLE_EQ(snap->predictors.at("route_latency_ms").mae, 10.0);
  ASSERT_EQ(snap->predictions.size(), 1u);
  EXPECT_EQ(snap->predictions[0].actual, 50.0);
  // Saving again replaces, never duplicates.
  (*store)->save(*snap);
  EXPECT_EQ((*store)->load()->neighbours.size(), 1u);
}

// The memory a restarted node loads from `path`.
agent::Memory reload(const std::string& path) {
  agent::Memory m;
  auto store = SqliteMemoryStore::open(path);
  EXPECT_TRUE(store);
  if (!store) return m;
  auto snap = (*store)->load();
  EXPECT_TRUE(snap);
  if (snap) m.restore(*snap);
  return m;
}

TEST(SqliteMemoryStore, ACalibrationComesBackAndADamagedOneIsDropped) {
  Dir d;
  std::string path = (d.path / "memory.sqlite").string();
  agent::Memory m;
  for (int k = 0; k < 6; ++k) m.outcome(m.predict_calibrated("route_on_time", "s", "keep", 0.9, k, k + 1), 0.6);
  {
    auto store = SqliteMemoryStore::open(path);
    ASSERT_TRUE(store);
    (*store)->save(m.snapshot());
  }
  {
    agent::Memory restored = reload(path);
    EXPECT_NEAR(restored.calibrated("route_on_time", 0.9), 0.6, 1e-9);
    EXPECT_NEAR(*restored.predictors().at("route_on_time").calibration_error(),
                m.predictors().at("route_on_time").calibration_error().value(), 1e-9);
  }
  // A record someone edited: a bin whose outcomes exceed its count. The file
  // is input: that predictor comes back uncalibrated, the rest as it was.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  const char* sql = "UPDATE predictor_calibration SET record = "
                    "'{\"bias\":0,\"ratio\":true,\"bins\":[[1,1e300,5],[0,0,0],[0,0,0],[0,0,0],[0,0,0],[0,0,0],[0,0,0],"
                    "[0,0,0],[0,0,0],[0,0,0]],\"raw_bins\":[]}'";
  ASSERT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  agent::Memory restored = reload(path);
  ASSERT_EQ(restored.predictors().count("route_on_time"), 1u);
  EXPECT_EQ(restored.predictors().at("route_on_time").n, 6u);
  EXPECT_DOUBLE_EQ(restored.calibrated("route_on_time", 0.9), 0.9);
  EXPECT_FALSE(restored.predictors().at("route_on_time").calibration_error().has_value());
}

TEST(SqliteMemoryStore, ANonDatabaseFileIsAClearError) {
  Dir d;
  auto path = d.path / "memory.sqlite";
  std::ofstream(path) << std::string(4096, 'x');
  auto store = SqliteMemoryStore::open(path.string());
  ASSERT_FALSE(store);
  EXPECT_NE(store.error().message.find(path.string()), std::string::npos);
  EXPECT_FALSE(SqliteMemoryStore::open((d.path / "no" / "such" / "dir.sqlite").string()));
}

} // namespace
} // namespace openstreaming::platform
