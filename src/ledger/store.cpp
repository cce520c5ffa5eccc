#include "ledger/store.h"

#include "core/hex.h"

#include <spdlog/spdlog.h>

#include <sqlite3.h>

namespace openstreaming::ledger {

namespace {

struct Stmt {
  sqlite3_stmt* s = nullptr;
  Stmt(sqlite3* db, const char* sql) { sqlite3_prepare_v2(db, sql, -1, &s, nullptr); }
  ~Stmt() { sqlite3_finalize(s); }
};

std::string text_of(sqlite3_stmt* s, int col) {
  const unsigned char* t = sqlite3_column_text(s, col);
  return t ? reinterpret_cast<const char*>(t) : "";
}

} // namespace

bool LedgerStore::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(m_db, sql, nullptr, nullptr, &err) == SQLITE_OK) return true;
  spdlog::error("ledger store: {}", err ? err : "error");
  sqlite3_free(err);
  return false;
}

Result<std::unique_ptr<LedgerStore>> LedgerStore::open(const std::string& path, const Genesis& genesis) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr) !=
      SQLITE_OK) {
    std::string why = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return make_error(Errc::io, "ledger " + path + ": " + why);
  }
  std::unique_ptr<LedgerStore> store(new LedgerStore(db, std::make_unique<State>(genesis)));
  if (!store->exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                   "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
                   "CREATE TABLE IF NOT EXISTS blocks (height INTEGER PRIMARY KEY, hash TEXT NOT NULL, time_ms INTEGER "
                   "NOT NULL, prev_hash TEXT);"
                   "CREATE TABLE IF NOT EXISTS txs (height INTEGER NOT NULL, idx INTEGER NOT NULL, tx TEXT NOT NULL, "
                   "PRIMARY KEY (height, idx));")) {
    return make_error(Errc::io, "ledger " + path + ": not a ledger database (" + sqlite3_errmsg(db) + ")");
  }
  // Stores from before empty blocks were logged sparsely have no prev_hash (every block is there).
  sqlite3_exec(db, "ALTER TABLE blocks ADD COLUMN prev_hash TEXT", nullptr, nullptr, nullptr); // fails if present
  std::string want = genesis.to_json().dump();
  {
    Stmt q(db, "SELECT value FROM meta WHERE key = 'genesis'");
    if (q.s && sqlite3_step(q.s) == SQLITE_ROW) {
      if (text_of(q.s, 0) != want)
        return make_error(Errc::invalid_input, "ledger " + path + " was created with another genesis");
    } else {
      Stmt ins(db, "INSERT INTO meta (key, value) VALUES ('genesis', ?)");
      sqlite3_bind_text(ins.s, 1, want.c_str(), -1, SQLITE_TRANSIENT);
      if (sqlite3_step(ins.s) != SQLITE_DONE) return make_error(Errc::io, "ledger " + path + ": cannot write");
    }
  }
  // Replay: transactions block by block, checking each block hash. A block
  // after unlogged empty blocks resumes the chain at its parent.
  Stmt blocks(db, "SELECT height, hash, time_ms, prev_hash FROM blocks ORDER BY height");
  Stmt txs(db, "SELECT tx FROM txs WHERE height = ? ORDER BY idx");
  State& st = *store->m_state;
  while (blocks.s && sqlite3_step(blocks.s) == SQLITE_ROW) {
    auto height = static_cast<uint64_t>(sqlite3_column_int64(blocks.s, 0));
    std::string hash = text_of(blocks.s, 1);
    int64_t time_ms = sqlite3_column_int64(blocks.s, 2);
    auto out_of_order = [&] {
      return make_error(Errc::invalid_input, "ledger " + path + ": block " + std::to_string(height) + " out of order");
    };
    if (sqlite3_column_type(blocks.s, 3) != SQLITE_NULL) {
      auto parent = core::from_hex_fixed<32>(text_of(blocks.s, 3));
      if (!parent || height < st.height()) return out_of_order();
      Hash256 p{};
      std::copy(parent->begin(), parent->end(), p.begin());
      st.skip_empty_blocks(height, p);
      if (st.last_hash() != p) return out_of_order();
    } else if (height != st.height()) {
      return out_of_order();
    }
    sqlite3_reset(txs.s);
    sqlite3_bind_int64(txs.s, 1, static_cast<sqlite3_int64>(height));
    while (sqlite3_step(txs.s) == SQLITE_ROW) {
      auto j = json::parse(text_of(txs.s, 0), nullptr, false);
      auto tx = Tx::from_json(j);
      if (!tx || !st.apply(*tx))
        return make_error(Errc::invalid_input, "ledger " + path + ": a recorded transaction no longer applies");
    }
    if (core::to_hex(st.seal_block(time_ms)) != hash) {
      return make_error(Errc::invalid_input,
                        "ledger " + path + ": block " + std::to_string(height) + " hash mismatch on replay");
    }
  }
  // Transactions recorded after the last sealed block were never durable as a block: dropped.
  Stmt drop(db, "DELETE FROM txs WHERE height >= ?");
  sqlite3_bind_int64(drop.s, 1, static_cast<sqlite3_int64>(st.height()));
  sqlite3_step(drop.s);
  return store;
}

LedgerStore::~LedgerStore() {
  if (m_in_block) exec("ROLLBACK"); // an unsealed block is lost, as in a crash
  m_in_block = m_rewrite = false;
  m_block.clear();
  // The last empty block, so that a clean restart resumes at the same height.
  if (m_unlogged && m_failure.empty()) {
    const Unlogged u = *m_unlogged;
    write_block(u.height, u.parent, u.hash, u.time_ms);
  }
  if (m_in_block) exec("ROLLBACK");
  sqlite3_close(m_db);
}

bool LedgerStore::failed(const std::string& what) {
  std::string why = what + ": " + sqlite3_errmsg(m_db);
  if (m_failure.empty()) spdlog::error("ledger store: {}; refusing transactions until storage works again", why);
  m_failure = why;
  m_rewrite = true;
  m_in_block = sqlite3_get_autocommit(m_db) == 0; // some errors roll the SQLite transaction back
  return false;
}

Result<json> LedgerStore::submit(const Tx& tx) {
  if (!m_failure.empty()) {
    return make_error(Errc::io, "ledger storage is failing (" + m_failure + "): not accepting transactions");
  }
  auto refused = [&] {
    return make_error(Errc::io, "ledger storage failed (" + m_failure + "): transaction not recorded");
  };
  if (!m_in_block) {
    if (!exec("BEGIN")) {
      failed("begin");
      return refused();
    }
    m_in_block = true;
  }
  // Written first, applied second: what is applied is always in the log.
  const auto idx = static_cast<sqlite3_int64>(m_block.size());
  const auto height = static_cast<sqlite3_int64>(m_state->height());
  std::string text = tx.to_json().dump();
  {
    Stmt ins(m_db, "INSERT INTO txs (height, idx, tx) VALUES (?, ?, ?)");
    sqlite3_bind_int64(ins.s, 1, height);
    sqlite3_bind_int64(ins.s, 2, idx);
    sqlite3_bind_text(ins.s, 3, text.c_str(), -1, SQLITE_TRANSIENT);
    if (!ins.s || sqlite3_step(ins.s) != SQLITE_DONE) {
      failed("cannot record a transaction");
      return refused();
    }
  }
  auto r = m_state->apply(tx);
  if (!r) { // refused by the state machine: out of the log again
    Stmt del(m_db, "DELETE FROM txs WHERE height = ? AND idx = ?");
    sqlite3_bind_int64(del.s, 1, height);
    sqlite3_bind_int64(del.s, 2, idx);
    if (!del.s || sqlite3_step(del.s) != SQLITE_DONE) failed("cannot remove a refused transaction");
    return r;
  }
  m_block.push_back(std::move(text));
  return r;
}

bool LedgerStore::write_block(uint64_t height, const Hash256& parent, const Hash256& hash, int64_t time_ms) {
  if (m_rewrite) { // start the block over from memory: the SQLite transaction may hold part of it, or nothing
    if (m_in_block) exec("ROLLBACK");
    m_in_block = false;
  }
  if (!m_in_block) {
    if (!exec("BEGIN")) return failed("begin");
    m_in_block = true;
  }
  const auto h = static_cast<sqlite3_int64>(height);
  if (m_rewrite) {
    for (std::size_t i = 0; i < m_block.size(); ++i) {
      Stmt ins(m_db, "INSERT OR REPLACE INTO txs (height, idx, tx) VALUES (?, ?, ?)");
      sqlite3_bind_int64(ins.s, 1, h);
      sqlite3_bind_int64(ins.s, 2, static_cast<sqlite3_int64>(i));
      sqlite3_bind_text(ins.s, 3, m_block[i].c_str(), -1, SQLITE_TRANSIENT);
      if (!ins.s || sqlite3_step(ins.s) != SQLITE_DONE) return failed("cannot record a transaction");
    }
    Stmt del(m_db, "DELETE FROM txs WHERE height = ? AND idx >= ?");
    sqlite3_bind_int64(del.s, 1, h);
    sqlite3_bind_int64(del.s, 2, static_cast<sqlite3_int64>(m_block.size()));
    if (!del.s || sqlite3_step(del.s) != SQLITE_DONE) return failed("cannot record a block");
  }
  {
    Stmt ins(m_db, "INSERT OR REPLACE INTO blocks (height, hash, time_ms, prev_hash) VALUES (?, ?, ?, ?)");
    std::string hex = core::to_hex(hash), parent_hex = core::to_hex(parent);
    sqlite3_bind_int64(ins.s, 1, h);
    sqlite3_bind_text(ins.s, 2, hex.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(ins.s, 3, time_ms);
    sqlite3_bind_text(ins.s, 4, parent_hex.c_str(), -1, SQLITE_TRANSIENT);
    if (!ins.s || sqlite3_step(ins.s) != SQLITE_DONE) return failed("cannot record a block");
  }
  if (m_block.empty()) {
    // Empty blocks older than any round a ticket can still use: their hashes
    // matter to no one, and the blocks after them name their parents.
    const Params& p = m_state->params();
    const uint64_t keep = (p.ticket_valid_rounds + 1) * m_state->genesis().round_blocks;
    if (height > keep) {
      Stmt prune(m_db, "DELETE FROM blocks WHERE prev_hash IS NOT NULL AND height < ? AND "
                       "NOT EXISTS (SELECT 1 FROM txs WHERE txs.height = blocks.height)");
      sqlite3_bind_int64(prune.s, 1, static_cast<sqlite3_int64>(height - keep));
      if (!prune.s || sqlite3_step(prune.s) != SQLITE_DONE) return failed("cannot prune empty blocks");
    }
  }
  if (!exec("COMMIT")) return failed("cannot commit a block"); // the block and its transactions, at once
  m_in_block = false;
  m_rewrite = false;
  return true;
}

Hash256 LedgerStore::seal_block(int64_t time_ms) {
  const uint64_t height = m_state->height();
  const Hash256 parent = m_state->last_hash();
  const Hash256 hash = m_state->next_block_hash(time_ms);
  const bool opens_round = (height + 1) % m_state->genesis().round_blocks == 0;
  if (m_block.empty() && !opens_round && m_failure.empty()) { // not logged (see the header)
    if (m_in_block) exec("ROLLBACK");                         // only refused transactions, already taken out again
    m_in_block = false;
    m_state->seal_block(time_ms);
    m_unlogged = Unlogged{height, parent, hash, time_ms};
    return hash;
  }
  if (!write_block(height, parent, hash, time_ms)) return m_state->last_hash(); // not sealed; retried next time
  m_state->seal_block(time_ms);
  m_block.clear();
  m_unlogged.reset();
  if (!m_failure.empty()) {
    spdlog::info("ledger store: storage works again (block {} written); accepting transactions", height);
    m_failure.clear();
  }
  return hash;
}

} // namespace openstreaming::ledger
