// SqliteWinnerStore: a node's winning tickets between receipt and redemption
// (DATA_DIR/payments.sqlite). Each add and remove is its own transaction with
// synchronous=FULL, written before the node sends or reads anything else, so a
// kill -9 loses no winner (agent/payments/payments.h, docs/payments.md).
#pragma once

#include "core/result.h"
#include "pay/winners.h"

#include <memory>
#include <string>
#include <vector>

struct sqlite3;

namespace openstreaming::platform {

class SqliteWinnerStore {
public:
  static Result<std::unique_ptr<SqliteWinnerStore>> open(const std::string& path);
  ~SqliteWinnerStore();
  SqliteWinnerStore(const SqliteWinnerStore&) = delete;
  SqliteWinnerStore& operator=(const SqliteWinnerStore&) = delete;

  // Every stored winner; a row that does not parse is an error (never skipped silently).
  Result<std::vector<pay::Winner>> load();
  Result<void> add(const pay::Winner& w);
  Result<void> remove(const Hash256& hash);

private:
  explicit SqliteWinnerStore(sqlite3* db) : m_db(db) {}
  sqlite3* m_db;
};

} // namespace openstreaming::platform
