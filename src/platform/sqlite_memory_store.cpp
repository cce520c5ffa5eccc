#include "platform/sqlite_memory_store.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <cmath>
#include <sqlite3.h>

namespace openstreaming::platform {

namespace {

using nlohmann::json;

json ewma_json(const agent::Ewma& e) {
  return {{"mean", e.mean}, {"var", e.var}, {"n", e.n}};
}
agent::Ewma ewma_from(const json& j) {
  agent::Ewma e;
  e.mean = j.value("mean", 0.0);
  e.var = j.value("var", 0.0);
  e.n = j.value("n", uint64_t{0});
  return e;
}
json ratio_json(const agent::Ratio& r) {
  return {{"value", r.value}, {"n", r.n}};
}
agent::Ratio ratio_from(const json& j) {
  agent::Ratio r;
  r.value = j.value("value", 1.0);
  r.n = j.value("n", uint64_t{0});
  return r;
}
core::Amount amount_from(const json& j, const char* key) {
  auto a = core::Amount::from_decimal_wei(j.value(key, std::string("0")));
  return a ? *a : core::Amount{};
}

json profile_json(const agent::NeighbourProfile& p) {
  json j = {{"rtt_ms", ewma_json(p.rtt_ms)},
            {"rate_kbps", ewma_json(p.rate_kbps)},
            {"on_time", ratio_json(p.on_time)},
            {"on_time_recent", ratio_json(p.on_time_recent)},
            {"claims_confirmed", ratio_json(p.claims_confirmed)},
            {"parts_from", p.parts_from},
            {"parts_late", p.parts_late},
            {"parts_missing", p.parts_missing},
            {"parts_invalid", p.parts_invalid},
            {"states_received", p.states_received},
            {"states_forged", p.states_forged},
            {"subscriptions_refused", p.subscriptions_refused},
            {"score", p.coherence.score},
            {"status", agent::status_name(p.status)},
            {"probation_until_ms", p.probation_until_ms},
            {"shunned_until_ms", p.shunned_until_ms},
            {"episodes", p.episodes},
            {"reason", p.reason},
            {"bytes_served", p.bytes_served},
            {"bytes_received", p.bytes_received},
            {"credit_wei", p.credit_wei.to_wei_string()},
            {"owed_wei", p.owed_wei.to_wei_string()},
            {"last_seen_ms", p.last_seen_ms}};
  if (p.claims) {
    j["claims"] = {{"capacity_kbps", p.claims->capacity_kbps},
                   {"load_pct", p.claims->load_pct},
                   {"quote_wei_per_mb", p.claims->has_quote ? p.claims->quote_wei_per_mb.to_wei_string() : ""},
                   {"unix_ms", p.claims->unix_ms}};
  }
  return j;
}

agent::NeighbourProfile profile_from(const core::Address& a, const json& j) {
  agent::NeighbourProfile p;
  p.address = a;
  p.rtt_ms = ewma_from(j.value("rtt_ms", json::object()));
  p.rate_kbps = ewma_from(j.value("rate_kbps", json::object()));
  p.on_time = ratio_from(j.value("on_time", json::object()));
  p.on_time_recent = ratio_from(j.value("on_time_recent", json::object()));
  p.claims_confirmed = ratio_from(j.value("claims_confirmed", json::object()));
  p.parts_from = j.value("parts_from", uint64_t{0});
  p.parts_late = j.value("parts_late", uint64_t{0});
  p.parts_missing = j.value("parts_missing", uint64_t{0});
  p.parts_invalid = j.value("parts_invalid", uint64_t{0});
  p.states_received = j.value("states_received", uint64_t{0});
  p.states_forged = j.value("states_forged", uint64_t{0});
  p.subscriptions_refused = j.value("subscriptions_refused", uint64_t{0});
  p.coherence.score = j.value("score", 1.0);
  std::string status = j.value("status", std::string("trusted"));
  p.status = status == "shunned"      ? agent::NeighbourStatus::shunned
             : status == "incoherent" ? agent::NeighbourStatus::incoherent
                                      : agent::NeighbourStatus::trusted;
  p.probation_until_ms = j.value("probation_until_ms", int64_t{0});
  p.shunned_until_ms = j.value("shunned_until_ms", int64_t{0});
  p.episodes = j.value("episodes", uint32_t{0});
  p.reason = j.value("reason", std::string());
  p.bytes_served = j.value("bytes_served", uint64_t{0});
  p.bytes_received = j.value("bytes_received", uint64_t{0});
  p.credit_wei = amount_from(j, "credit_wei");
  p.owed_wei = amount_from(j, "owed_wei");
  p.last_seen_ms = j.value("last_seen_ms", int64_t{0});
  if (j.contains("claims") && j["claims"].is_object()) {
    const json& c = j["claims"];
    agent::NeighbourClaims claims;
    claims.capacity_kbps = c.value("capacity_kbps", uint64_t{0});
    claims.load_pct = c.value("load_pct", uint32_t{0});
    claims.unix_ms = c.value("unix_ms", int64_t{0});
    std::string q = c.value("quote_wei_per_mb", std::string());
    if (auto amount = core::Amount::from_decimal_wei(q); !q.empty() && amount) {
      claims.quote_wei_per_mb = *amount;
      claims.has_quote = true;
    }
    p.claims = claims;
  }
  return p;
}

json bins_json(const std::array<agent::PredictorStats::Bin, agent::PredictorStats::kBins>& bins) {
  json a = json::array();
  for (const auto& b : bins) a.push_back(json::array({b.n, b.predicted, b.actual}));
  return a;
}

json calibration_json(const agent::PredictorStats& st) {
  return {{"bias", st.bias}, {"ratio", st.ratio}, {"bins", bins_json(st.bins)}, {"raw_bins", bins_json(st.raw_bins)}};
}

// The file is input like any other: a bin list of the wrong shape, a negative or
// non-finite figure, or a mean outside [0, 1] leaves the bins empty.
bool bins_from(const json& j, std::array<agent::PredictorStats::Bin, agent::PredictorStats::kBins>& out) {
  if (!j.is_array() || j.size() != out.size()) return false;
  std::array<agent::PredictorStats::Bin, agent::PredictorStats::kBins> bins{};
  for (std::size_t i = 0; i < bins.size(); ++i) {
    const json& b = j[i];
    if (!b.is_array() || b.size() != 3 || !b[0].is_number_unsigned() || !b[1].is_number() || !b[2].is_number())
      return false;
    bins[i].n = b[0].get<uint64_t>();
    bins[i].predicted = b[1].get<double>();
    bins[i].actual = b[2].get<double>();
    auto n = static_cast<double>(bins[i].n);
    if (!std::isfinite(bins[i].predicted) || !std::isfinite(bins[i].actual) || bins[i].predicted < 0 ||
        bins[i].actual < 0 || bins[i].predicted > n || bins[i].actual > n)
      return false;
  }
  out = bins;
  return true;
}

void calibration_from(const json& j, agent::PredictorStats& st) {
  if (j.contains("bias") && j["bias"].is_number() && std::isfinite(j["bias"].get<double>()))
    st.bias = j["bias"].get<double>();
  if (j.contains("ratio") && j["ratio"].is_boolean()) st.ratio = j["ratio"].get<bool>();
  if (!j.contains("bins") || !j.contains("raw_bins") || !bins_from(j["bins"], st.bins) ||
      !bins_from(j["raw_bins"], st.raw_bins)) {
    st.bins = {};
    st.raw_bins = {};
  }
}

bool exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) == SQLITE_OK) return true;
  spdlog::error("memory store: {}", err ? err : "unknown error");
  sqlite3_free(err);
  return false;
}

struct Stmt {
  sqlite3_stmt* s = nullptr;
  Stmt(sqlite3* db, const char* sql) { sqlite3_prepare_v2(db, sql, -1, &s, nullptr); }
  ~Stmt() { sqlite3_finalize(s); }
  explicit operator bool() const { return s != nullptr; }
};

std::string text_of(sqlite3_stmt* s, int col) {
  const unsigned char* t = sqlite3_column_text(s, col);
  return t ? reinterpret_cast<const char*>(t) : "";
}

} // namespace

Result<std::unique_ptr<SqliteMemoryStore>> SqliteMemoryStore::open(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr) !=
      SQLITE_OK) {
    std::string why = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return make_error(Errc::io, "memory store " + path + ": " + why);
  }
  std::unique_ptr<SqliteMemoryStore> store(new SqliteMemoryStore(db, path));
  sqlite3_busy_timeout(db, 2000);
  if (!exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                "CREATE TABLE IF NOT EXISTS neighbours (address TEXT PRIMARY KEY, profile TEXT NOT NULL);"
                "CREATE TABLE IF NOT EXISTS predictors (name TEXT PRIMARY KEY, n INTEGER NOT NULL, mae REAL NOT NULL);"
                "CREATE TABLE IF NOT EXISTS predictions (id INTEGER PRIMARY KEY, record TEXT NOT NULL);"
                // A table of its own (not a column of predictors) so a store written before it opens unchanged.
                "CREATE TABLE IF NOT EXISTS predictor_calibration (name TEXT PRIMARY KEY, record TEXT NOT NULL);")) {
    return make_error(Errc::io, "memory store " + path + ": " + sqlite3_errmsg(db) + " (not a SQLite database?)");
  }
  return store;
}

SqliteMemoryStore::~SqliteMemoryStore() {
  sqlite3_close(m_db);
}

std::optional<agent::MemorySnapshot> SqliteMemoryStore::load() {
  agent::MemorySnapshot snap;
  {
    Stmt q(m_db, "SELECT address, profile FROM neighbours");
    while (q && sqlite3_step(q.s) == SQLITE_ROW) {
      auto addr = core::Address::parse(text_of(q.s, 0));
      auto j = json::parse(text_of(q.s, 1), nullptr, false);
      if (!addr || !j.is_object()) continue; // a damaged row: forget that neighbour, keep the rest
      snap.neighbours.push_back(profile_from(*addr, j));
      m_saved[addr->to_checksum_hex()] = text_of(q.s, 1);
    }
  }
  {
    Stmt q(m_db, "SELECT name, n, mae FROM predictors");
    while (q && sqlite3_step(q.s) == SQLITE_ROW) {
      agent::PredictorStats st;
      st.n = static_cast<uint64_t>(std::max<sqlite3_int64>(0, sqlite3_column_int64(q.s, 1)));
      st.mae = sqlite3_column_double(q.s, 2);
      snap.predictors[text_of(q.s, 0)] = st;
    }
  }
  {
    Stmt q(m_db, "SELECT name, record FROM predictor_calibration");
    while (q && sqlite3_step(q.s) == SQLITE_ROW) {
      auto it = snap.predictors.find(text_of(q.s, 0));
      auto j = json::parse(text_of(q.s, 1), nullptr, false);
      if (it == snap.predictors.end() || !j.is_object()) continue;
      calibration_from(j, it->second); // a damaged record leaves the predictor uncalibrated
    }
  }
  {
    Stmt q(m_db, "SELECT record FROM predictions ORDER BY id");
    while (q && sqlite3_step(q.s) == SQLITE_ROW) {
      auto j = json::parse(text_of(q.s, 0), nullptr, false);
      if (!j.is_object()) continue;
      agent::Prediction p;
      p.id = j.value("id", uint64_t{0});
      p.predictor = j.value("predictor", std::string());
      p.subject = j.value("subject", std::string());
      p.action = j.value("action", std::string());
      p.predicted = j.value("predicted", 0.0);
      p.raw = j.contains("raw") && j["raw"].is_number() ? j["raw"].get<double>() : p.predicted;
      p.made_ms = j.value("made_ms", int64_t{0});
      p.due_ms = j.value("due_ms", int64_t{0});
      if (j.contains("actual") && j["actual"].is_number()) p.actual = j["actual"].get<double>();
      p.error = j.value("error", 0.0);
      snap.predictions.push_back(p);
    }
  }
  if (snap.neighbours.empty() && snap.predictors.empty() && snap.predictions.empty()) return std::nullopt;
  return snap;
}

void SqliteMemoryStore::save(const agent::MemorySnapshot& snap) {
  // Only profiles that changed since the last save (or load) are written, and
  // only those that left memory are deleted: a node with thousands of
  // neighbours does not rewrite them all every snapshot.
  std::map<std::string, std::string> now;
  for (const auto& p : snap.neighbours) now.emplace(p.address.to_checksum_hex(), profile_json(p).dump());
  if (!exec(m_db, "BEGIN")) return;
  bool ok = exec(m_db, "DELETE FROM predictors; DELETE FROM predictions; DELETE FROM predictor_calibration;");
  uint64_t written = 0;
  {
    Stmt del(m_db, "DELETE FROM neighbours WHERE address = ?");
    for (const auto& [a, text] : m_saved) {
      if (!ok || !del) break;
      if (now.count(a)) continue;
      sqlite3_bind_text(del.s, 1, a.c_str(), -1, SQLITE_TRANSIENT);
      ok = sqlite3_step(del.s) == SQLITE_DONE;
      sqlite3_reset(del.s);
    }
  }
  {
    Stmt ins(m_db, "INSERT OR REPLACE INTO neighbours (address, profile) VALUES (?, ?)");
    for (const auto& [a, text] : now) {
      if (!ok || !ins) break;
      if (auto it = m_saved.find(a); it != m_saved.end() && it->second == text) continue;
      sqlite3_bind_text(ins.s, 1, a.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(ins.s, 2, text.c_str(), -1, SQLITE_TRANSIENT);
      ok = sqlite3_step(ins.s) == SQLITE_DONE;
      sqlite3_reset(ins.s);
      ++written;
    }
  }
  {
    Stmt ins(m_db, "INSERT INTO predictors (name, n, mae) VALUES (?, ?, ?)");
    for (const auto& [name, st] : snap.predictors) {
      if (!ok || !ins) break;
      sqlite3_bind_text(ins.s, 1, name.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_int64(ins.s, 2, static_cast<sqlite3_int64>(st.n));
      sqlite3_bind_double(ins.s, 3, st.mae);
      ok = sqlite3_step(ins.s) == SQLITE_DONE;
      sqlite3_reset(ins.s);
    }
  }
  {
    Stmt ins(m_db, "INSERT INTO predictor_calibration (name, record) VALUES (?, ?)");
    for (const auto& [name, st] : snap.predictors) {
      if (!ok || !ins) break;
      std::string text = calibration_json(st).dump();
      sqlite3_bind_text(ins.s, 1, name.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(ins.s, 2, text.c_str(), -1, SQLITE_TRANSIENT);
      ok = sqlite3_step(ins.s) == SQLITE_DONE;
      sqlite3_reset(ins.s);
    }
  }
  {
    Stmt ins(m_db, "INSERT INTO predictions (id, record) VALUES (?, ?)");
    for (const auto& p : snap.predictions) {
      if (!ok || !ins) break;
      json j = {{"id", p.id},           {"predictor", p.predictor}, {"subject", p.subject},
                {"action", p.action},   {"predicted", p.predicted}, {"raw", p.raw},
                {"made_ms", p.made_ms}, {"due_ms", p.due_ms},       {"error", p.error}};
      if (p.actual) j["actual"] = *p.actual;
      std::string text = j.dump();
      sqlite3_bind_int64(ins.s, 1, static_cast<sqlite3_int64>(p.id));
      sqlite3_bind_text(ins.s, 2, text.c_str(), -1, SQLITE_TRANSIENT);
      ok = sqlite3_step(ins.s) == SQLITE_DONE;
      sqlite3_reset(ins.s);
    }
  }
  if (ok && exec(m_db, "COMMIT")) {
    m_saved = std::move(now);
    m_profiles_written += written;
  } else {
    spdlog::error("memory store {}: save failed ({}); the previous snapshot stays", m_path, sqlite3_errmsg(m_db));
    exec(m_db, "ROLLBACK");
  }
}

} // namespace openstreaming::platform
