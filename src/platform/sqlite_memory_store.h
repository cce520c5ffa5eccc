// SqliteMemoryStore: the agent's memory on disk (DATA_DIR/memory.sqlite), so a
// restarted node remembers whom it trusts, whom it shuns, and how good its
// predictors were. One row per neighbour (its profile as JSON), one per
// predictor, and the most recent predictions. WAL mode; each save is one
// transaction, so a crash leaves the previous snapshot intact; a save writes
// only the profiles that changed since the last one.
#pragma once

#include "agent/memory/memory.h"
#include "core/result.h"

#include <map>
#include <memory>
#include <string>

struct sqlite3;

namespace openstreaming::platform {

class SqliteMemoryStore final : public agent::MemoryStore {
public:
  static Result<std::unique_ptr<SqliteMemoryStore>> open(const std::string& path);
  ~SqliteMemoryStore() override;
  std::optional<agent::MemorySnapshot> load() override;
  void save(const agent::MemorySnapshot& snapshot) override;
  const std::string& path() const { return m_path; }
  // Neighbour rows written so far (only changed profiles are written).
  uint64_t profiles_written() const { return m_profiles_written; }

private:
  SqliteMemoryStore(sqlite3* db, std::string path) : m_db(db), m_path(std::move(path)) {}
  sqlite3* m_db;
  std::string m_path;
  std::map<std::string, std::string> m_saved; // address -> profile JSON as on disk
  uint64_t m_profiles_written = 0;
};

} // namespace openstreaming::platform
