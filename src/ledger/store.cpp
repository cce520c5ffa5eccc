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

Result<std::unique_ptr<LedgerStore>> LedgerStore::open(const std::string& path, const Genesis& genesis, Params params) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
    std::string why = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return make_error(Errc::io, "ledger " + path + ": " + why);
  }
  std::unique_ptr<LedgerStore> store(new LedgerStore(db, std::make_unique<State>(genesis, params)));
  if (!store->exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                   "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
                   "CREATE TABLE IF NOT EXISTS blocks (height INTEGER PRIMARY KEY, hash TEXT NOT NULL, time_ms INTEGER NOT NULL);"
                   "CREATE TABLE IF NOT EXISTS txs (height INTEGER NOT NULL, idx INTEGER NOT NULL, tx TEXT NOT NULL, PRIMARY KEY (height, idx));")) {
    return make_error(Errc::io, "ledger " + path + ": not a ledger database (" + sqlite3_errmsg(db) + ")");
  }
  std::string want = genesis.to_json().dump();
  {
    Stmt q(db, "SELECT value FROM meta WHERE key = 'genesis'");
    if (q.s && sqlite3_step(q.s) == SQLITE_ROW) {
      if (text_of(q.s, 0) != want) return make_error(Errc::invalid_input, "ledger " + path + " was created with another genesis");
    } else {
      Stmt ins(db, "INSERT INTO meta (key, value) VALUES ('genesis', ?)");
      sqlite3_bind_text(ins.s, 1, want.c_str(), -1, SQLITE_TRANSIENT);
      if (sqlite3_step(ins.s) != SQLITE_DONE) return make_error(Errc::io, "ledger " + path + ": cannot write");
    }
  }
  // Replay: transactions block by block, checking each block hash.
  Stmt blocks(db, "SELECT height, hash, time_ms FROM blocks ORDER BY height");
  Stmt txs(db, "SELECT tx FROM txs WHERE height = ? ORDER BY idx");
  State& st = *store->m_state;
  while (blocks.s && sqlite3_step(blocks.s) == SQLITE_ROW) {
    auto height = static_cast<uint64_t>(sqlite3_column_int64(blocks.s, 0));
    std::string hash = text_of(blocks.s, 1);
    int64_t time_ms = sqlite3_column_int64(blocks.s, 2);
    if (height != st.height()) return make_error(Errc::invalid_input, "ledger " + path + ": block " + std::to_string(height) + " out of order");
    sqlite3_reset(txs.s);
    sqlite3_bind_int64(txs.s, 1, static_cast<sqlite3_int64>(height));
    while (sqlite3_step(txs.s) == SQLITE_ROW) {
      auto j = json::parse(text_of(txs.s, 0), nullptr, false);
      auto tx = Tx::from_json(j);
      if (!tx || !st.apply(*tx)) return make_error(Errc::invalid_input, "ledger " + path + ": a recorded transaction no longer applies");
    }
    if (core::to_hex(st.seal_block(time_ms)) != hash) {
      return make_error(Errc::invalid_input, "ledger " + path + ": block " + std::to_string(height) + " hash mismatch on replay");
    }
  }
  // Transactions recorded after the last sealed block were never durable as a block: dropped.
  Stmt drop(db, "DELETE FROM txs WHERE height >= ?");
  sqlite3_bind_int64(drop.s, 1, static_cast<sqlite3_int64>(st.height()));
  sqlite3_step(drop.s);
  return store;
}

LedgerStore::~LedgerStore() {
  if (m_in_block) exec("ROLLBACK");
  sqlite3_close(m_db);
}

Result<json> LedgerStore::submit(const Tx& tx) {
  auto r = m_state->apply(tx);
  if (!r) return r;
  if (!m_in_block) m_in_block = exec("BEGIN");
  Stmt ins(m_db, "INSERT INTO txs (height, idx, tx) VALUES (?, ?, ?)");
  std::string text = tx.to_json().dump();
  sqlite3_bind_int64(ins.s, 1, static_cast<sqlite3_int64>(m_state->height()));
  sqlite3_bind_int64(ins.s, 2, static_cast<sqlite3_int64>(m_tx_index++));
  sqlite3_bind_text(ins.s, 3, text.c_str(), -1, SQLITE_TRANSIENT);
  if (sqlite3_step(ins.s) != SQLITE_DONE) spdlog::error("ledger store: cannot record a transaction: {}", sqlite3_errmsg(m_db));
  return r;
}

Hash256 LedgerStore::seal_block(int64_t time_ms) {
  uint64_t height = m_state->height();
  Hash256 h = m_state->seal_block(time_ms);
  if (!m_in_block) m_in_block = exec("BEGIN");
  Stmt ins(m_db, "INSERT INTO blocks (height, hash, time_ms) VALUES (?, ?, ?)");
  std::string hex = core::to_hex(h);
  sqlite3_bind_int64(ins.s, 1, static_cast<sqlite3_int64>(height));
  sqlite3_bind_text(ins.s, 2, hex.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(ins.s, 3, time_ms);
  sqlite3_step(ins.s);
  exec("COMMIT"); // the block and its transactions, at once
  m_in_block = false;
  m_tx_index = 0;
  return h;
}

} // namespace openstreaming::ledger
