// LedgerStore: the embedded ledger on disk (DATA_DIR/ledger.sqlite, WAL).
//
// The state machine is deterministic, so what is stored is its history: the
// genesis, every applied transaction in order with its block, and sealed
// blocks' hashes. Opening replays it and checks that each replayed block hash
// matches the stored one (a damaged or tampered file is an error, never a
// silently different state). Each logged block is one SQLite transaction: a
// crash loses at most the block being built, never part of one.
//
// Empty blocks are logged only when they open a round (tickets commit to that
// hash) and, for the last one, when the store closes. Every logged block names
// its parent's hash, so replay resumes the chain after unlogged empty blocks
// without sealing them one by one; and empty blocks older than the rounds a
// ticket can still use (Params::ticket_valid_rounds) are pruned. So neither
// the log nor the replay grows with idle uptime, and an idle ledger commits
// (fsyncs) once per round instead of once per block. A crash may also lose the
// empty blocks since the last logged one: no round hash is among them, and
// nothing else depends on them.
//
// Storage failures: a transaction is written (into the open block's SQLite
// transaction) before it is applied, so an applied transaction is never
// missing from the log. A failed write refuses that transaction (the caller
// gets the error) and every later one, and no block is sealed, until a block
// is written again: each seal retries, rewriting the whole open block from
// memory (its acknowledged transactions are kept until it is committed), so
// nothing acknowledged is lost while the process runs and the next start
// replays cleanly. A block is sealed in memory only once it is committed.
//
// Not thread-safe: one thread (the ledger's event loop) uses it.
#pragma once

#include "ledger/state.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

struct sqlite3;

namespace openstreaming::ledger {

class LedgerStore {
public:
  // Opens (creating with `genesis` if new) and replays into a State. A store
  // created with another genesis is an error.
  static Result<std::unique_ptr<LedgerStore>> open(const std::string& path, const Genesis& genesis);
  ~LedgerStore();

  State& state() { return *m_state; }
  // Records and applies a transaction in the current block. Refused (Errc::io)
  // while storage is failing.
  Result<json> submit(const Tx& tx);
  // Seals the current block and makes it durable; returns the chain's last
  // hash (unchanged when the block could not be written: retried next time).
  Hash256 seal_block(int64_t time_ms);
  // Why storage is failing ("" when it works).
  const std::string& failure() const { return m_failure; }

private:
  friend class LedgerStorePeer; // tests
  LedgerStore(sqlite3* db, std::unique_ptr<State> state) : m_db(db), m_state(std::move(state)) {}
  bool exec(const char* sql);
  bool write_block(uint64_t height, const Hash256& parent, const Hash256& hash, int64_t time_ms);
  bool failed(const std::string& what); // records the failure; always false
  sqlite3* m_db;
  std::unique_ptr<State> m_state;
  std::vector<std::string> m_block; // the open block's transactions (JSON), until committed
  bool m_in_block = false;          // a SQLite transaction is open
  bool m_rewrite = false;           // a write failed: the seal rewrites the whole block
  std::string m_failure;
  struct Unlogged {
    uint64_t height;
    Hash256 parent, hash;
    int64_t time_ms;
  };
  std::optional<Unlogged> m_unlogged; // the last sealed block, when empty and not logged
};

} // namespace openstreaming::ledger
