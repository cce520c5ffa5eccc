// LedgerStore: the embedded ledger on disk (DATA_DIR/ledger.sqlite, WAL).
//
// The state machine is deterministic, so what is stored is its history: the
// genesis, every applied transaction in order with its block, and every sealed
// block's hash. Opening replays it and checks that each replayed block hash
// matches the stored one (a damaged or tampered file is an error, never a
// silently different state). Each block is one SQLite transaction: a crash
// loses at most the block being built, never part of one.
#pragma once

#include "ledger/state.h"

#include <memory>
#include <string>

struct sqlite3;

namespace openstreaming::ledger {

class LedgerStore {
public:
  // Opens (creating with `genesis` if new) and replays into a State. A store
  // created with another genesis is an error.
  static Result<std::unique_ptr<LedgerStore>> open(const std::string& path, const Genesis& genesis, Params params = {});
  ~LedgerStore();

  State& state() { return *m_state; }
  // Applies and records a transaction in the current block.
  Result<json> submit(const Tx& tx);
  // Seals the current block and makes it durable.
  Hash256 seal_block(int64_t time_ms);

private:
  LedgerStore(sqlite3* db, std::unique_ptr<State> state) : m_db(db), m_state(std::move(state)) {}
  bool exec(const char* sql);
  sqlite3* m_db;
  std::unique_ptr<State> m_state;
  uint64_t m_tx_index = 0;
  bool m_in_block = false;
};

} // namespace openstreaming::ledger
