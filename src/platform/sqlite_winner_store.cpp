#include "platform/sqlite_winner_store.h"

#include "core/hex.h"

#include <nlohmann/json.hpp>

#include <sqlite3.h>

namespace openstreaming::platform {

namespace {

using nlohmann::json;

Error db_error(sqlite3* db, const std::string& what) {
  return make_error(Errc::io, what + ": " + (db ? sqlite3_errmsg(db) : "cannot open"));
}

struct Stmt {
  sqlite3_stmt* s = nullptr;
  Stmt(sqlite3* db, const char* sql) { sqlite3_prepare_v2(db, sql, -1, &s, nullptr); }
  ~Stmt() { sqlite3_finalize(s); }
};

} // namespace

Result<std::unique_ptr<SqliteWinnerStore>> SqliteWinnerStore::open(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr) !=
      SQLITE_OK) {
    auto e = db_error(db, "cannot open " + path);
    sqlite3_close(db);
    return e;
  }
  char* err = nullptr;
  if (sqlite3_exec(db,
                   "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                   "CREATE TABLE IF NOT EXISTS winners (hash TEXT PRIMARY KEY, ticket TEXT NOT NULL,"
                   " signature TEXT NOT NULL, recipient_rand TEXT NOT NULL)",
                   nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "?";
    sqlite3_free(err);
    sqlite3_close(db);
    return make_error(Errc::io, path + ": " + msg);
  }
  return std::unique_ptr<SqliteWinnerStore>(new SqliteWinnerStore(db));
}

SqliteWinnerStore::~SqliteWinnerStore() {
  sqlite3_close(m_db);
}

Result<std::vector<pay::Winner>> SqliteWinnerStore::load() {
  Stmt st(m_db, "SELECT hash, ticket, signature, recipient_rand FROM winners");
  if (!st.s) return db_error(m_db, "reading winners");
  std::vector<pay::Winner> out;
  int rc;
  while ((rc = sqlite3_step(st.s)) == SQLITE_ROW) {
    auto col = [&](int i) { return std::string(reinterpret_cast<const char*>(sqlite3_column_text(st.s, i))); };
    std::string hash_hex = col(0);
    auto bad = [&](const std::string& why) {
      return make_error(Errc::invalid_input, "stored winner " + hash_hex + ": " + why);
    };
    json tj = json::parse(col(1), nullptr, false);
    if (tj.is_discarded()) return bad("ticket is not JSON");
    auto t = pay::Ticket::from_json(tj);
    auto sig = core::RecoverableSignature::from_hex(col(2));
    auto rand = core::from_hex(col(3));
    auto hash = core::from_hex(hash_hex);
    if (!t || !sig || !rand || rand->size() != 32 || !hash || hash->size() != 32) return bad("damaged row");
    pay::Winner w;
    w.ticket = {*t, *sig};
    std::copy(rand->begin(), rand->end(), w.recipient_rand.begin());
    std::copy(hash->begin(), hash->end(), w.hash.begin());
    out.push_back(std::move(w));
  }
  if (rc != SQLITE_DONE) return db_error(m_db, "reading winners");
  return out;
}

Result<void> SqliteWinnerStore::add(const pay::Winner& w) {
  Stmt st(m_db, "INSERT OR REPLACE INTO winners (hash, ticket, signature, recipient_rand) VALUES (?, ?, ?, ?)");
  std::string hash = core::to_hex(w.hash), ticket = w.ticket.ticket.to_json().dump(), sig = w.ticket.signature.to_hex(),
              rand = core::to_hex(w.recipient_rand);
  sqlite3_bind_text(st.s, 1, hash.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st.s, 2, ticket.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st.s, 3, sig.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st.s, 4, rand.c_str(), -1, SQLITE_TRANSIENT);
  if (!st.s || sqlite3_step(st.s) != SQLITE_DONE) return db_error(m_db, "storing a winner");
  return {};
}

Result<void> SqliteWinnerStore::remove(const Hash256& h) {
  Stmt st(m_db, "DELETE FROM winners WHERE hash = ?");
  std::string hash = core::to_hex(h);
  sqlite3_bind_text(st.s, 1, hash.c_str(), -1, SQLITE_TRANSIENT);
  if (!st.s || sqlite3_step(st.s) != SQLITE_DONE) return db_error(m_db, "removing a winner");
  return {};
}

} // namespace openstreaming::platform
