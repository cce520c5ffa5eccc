// Memory: the node's model of itself and its neighbours (docs/architecture.md).
//
// Everything the other three modules know lives here: self metrics, a profile
// per neighbour address (its claims and our observations over time),
// propagation outcomes per (stream, upstream), economic history, and the
// predictions the reflect loop makes with their outcomes and errors.
//
// Evidence decays with *evidence*, not with silence: an EWMA moves when a new
// sample arrives and stays put otherwise. So a neighbour we stopped using is
// neither condemned nor absolved by the time that passes; what it did last is
// what we remember (and a restarted node remembers it too: profiles and
// predictor errors are persisted through MemoryStore).
//
// No I/O: the daemon persists snapshots through a SQLite MemoryStore
// (src/platform/sqlite_memory_store.h), tests and the simulator keep them in memory.
#pragma once

#include "core/address.h"
#include "core/amount.h"
#include "core/time.h"

#include <array>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace openstreaming::agent {

// Exponentially weighted mean and variance of a signal, per sample.
struct Ewma {
  double mean = 0;
  double var = 0;
  uint64_t n = 0;
  void add(double x, double alpha);
  double stddev() const;
};

// A success ratio as an EWMA of outcomes in [0, 1] (1.0 until the first sample).
struct Ratio {
  double value = 1.0;
  uint64_t n = 0;
  void add(double outcome, double alpha);
  void add(bool ok, double alpha) { add(ok ? 1.0 : 0.0, alpha); }
};

// What a neighbour says about itself (its latest signed NeighbourState).
struct NeighbourClaims {
  uint64_t seq = 0;
  int64_t unix_ms = 0;
  uint64_t capacity_kbps = 0; // 0: not stated
  uint32_t load_pct = 0;
  core::Amount quote_wei_per_mb;
  bool has_quote = false;
  uint32_t buffer_health_ms = 0;
  std::vector<std::string> needs;              // hex stream ids it is short of
  std::map<Hash256, double> stream_latency_ms; // stream id -> its own glass-to-glass latency
};

enum class NeighbourStatus { trusted, incoherent, shunned };
const char* status_name(NeighbourStatus s);

struct CoherenceComponents {
  bool capacity = true;    // observed rate >= 0.8 x claimed capacity (or not yet checkable)
  bool price = true;       // quote within 20 % of what we expect
  bool reliability = true; // on-time ratio >= 0.95
  bool cooperation = true; // min(on-time, claims confirmed) >= 0.8
  double score = 1.0;
};

struct NeighbourProfile {
  core::Address address;
  std::optional<NeighbourClaims> claims;
  // Observations.
  Ewma rtt_ms;
  Ewma rate_kbps;         // burst rate of large frames it sent us (its real upload capacity)
  Ratio on_time;          // parts we expected from it (as our upstream) that came in time
  Ratio on_time_recent;   // the same over fewer parts (cooperation reacts faster than reliability)
  Ratio claims_confirmed; // its checkable claims that observation confirmed
  uint64_t parts_from = 0, parts_late = 0, parts_missing = 0, parts_invalid = 0;
  uint64_t parts_excused = 0; // missing parts it showed were missing upstream of it
  uint64_t states_received = 0, states_forged = 0, subscriptions_refused = 0;
  uint64_t frames_unsolicited = 0; // replies, parts and ticket parameters we never asked it for
  // Judgement.
  CoherenceComponents coherence;
  NeighbourStatus status = NeighbourStatus::trusted;
  std::optional<Timestamp> incoherent_since;
  int64_t probation_until_ms = 0; // unix ms: rated incoherent until then
  int64_t shunned_until_ms = 0;   // unix ms: not spoken to until then
  uint32_t episodes = 0;          // sustained incoherence episodes (probation doubles each)
  std::string reason;             // why the current status
  // Economics with this neighbour (bytes of media, and value at the agreed quotes).
  uint64_t bytes_served = 0, bytes_received = 0;
  core::Amount credit_wei; // what it owes us for what we served
  core::Amount owed_wei;   // what we owe it for what it served us
  int64_t last_seen_ms = 0;
};

struct Prediction {
  uint64_t id = 0;
  std::string predictor; // e.g. route_latency_ms
  std::string subject;   // e.g. "STREAM via 0xADDR"
  std::string action;    // the decision it informed
  double predicted = 0;
  double raw = 0; // the model's value before calibration (= predicted when not calibrated)
  int64_t made_ms = 0, due_ms = 0;
  std::optional<double> actual;
  double error = 0; // |actual - predicted| once known
};

// How well a predictor does. `mae` is its running mean absolute error; for a
// predictor of a ratio (every prediction in [0, 1]) the outcomes are also
// binned by the predicted value (ten bins), which gives its calibration error
// (expected calibration error: the outcome-weighted gap between the mean
// prediction and the mean outcome of each bin) and a calibrated prediction
// (histogram binning: the mean outcome of the bin, once it has enough samples).
struct PredictorStats {
  static constexpr std::size_t kBins = 10;
  static constexpr uint64_t kMinBinSamples = 5;
  struct Bin {
    uint64_t n = 0;
    double predicted = 0, actual = 0; // sums
  };
  uint64_t n = 0;
  double mae = 0;                    // running mean absolute error
  double bias = 0;                   // running mean of (actual - predicted)
  std::array<Bin, kBins> bins{};     // by the prediction made: its calibration error
  std::array<Bin, kBins> raw_bins{}; // by the model's raw value: the calibration map
  bool ratio = true;                 // every prediction so far was in [0, 1]
  void add(double predicted, double actual, double raw);
  // Expected calibration error over the bins; nullopt for a predictor that is not a ratio or has no outcome yet.
  std::optional<double> calibration_error() const;
  // `raw` mapped through raw_bins (unchanged while its bin has too few samples).
  double calibrated(double raw) const;
};

struct SelfMetrics {
  double load_pct = 0;
  double upload_used_kbps = 0;
  double upload_capacity_kbps = 0; // 0: unlimited / not configured
  uint64_t queue_bytes = 0;
  std::size_t subscribers = 0;
  core::Amount earnings_wei; // credit accrued for media served
  core::Amount spent_wei;    // owed for media received
};

// What persists across restarts.
struct MemorySnapshot {
  std::vector<NeighbourProfile> neighbours;
  std::map<std::string, PredictorStats> predictors;
  std::vector<Prediction> predictions; // the most recent
};

class MemoryStore {
public:
  virtual ~MemoryStore() = default;
  virtual std::optional<MemorySnapshot> load() = 0;
  virtual void save(const MemorySnapshot& snapshot) = 0;
};

class InMemoryStore final : public MemoryStore {
public:
  std::optional<MemorySnapshot> load() override { return m_snapshot; }
  void save(const MemorySnapshot& snapshot) override { m_snapshot = snapshot; }

private:
  std::optional<MemorySnapshot> m_snapshot;
};

class Memory {
public:
  static constexpr std::size_t kRecentPredictions = 200;

  NeighbourProfile& neighbour(const core::Address& address);
  const NeighbourProfile* find(const core::Address& address) const;
  const std::map<core::Address, NeighbourProfile>& neighbours() const { return m_neighbours; }

  SelfMetrics& self() { return m_self; }
  const SelfMetrics& self() const { return m_self; }

  // Records a prediction; returns its id.
  uint64_t predict(std::string predictor, std::string subject, std::string action, double predicted, int64_t now_ms,
                   int64_t due_ms);
  // The same for a ratio predictor whose model gave `raw`: the prediction made
  // is `raw` calibrated by the predictor's outcomes so far, and the outcome
  // teaches the calibration map at `raw`.
  uint64_t predict_calibrated(std::string predictor, std::string subject, std::string action, double raw,
                              int64_t now_ms, int64_t due_ms);
  // The outcome of prediction `id` (ignored if it is no longer kept).
  void outcome(uint64_t id, double actual);
  const std::deque<Prediction>& predictions() const { return m_predictions; }
  const std::map<std::string, PredictorStats>& predictors() const { return m_predictors; }
  // `raw` calibrated by what `predictor`'s outcomes so far showed (unchanged if none).
  double calibrated(const std::string& predictor, double raw) const;

  MemorySnapshot snapshot() const;
  void restore(const MemorySnapshot& s);
  // Keeps at most `max` profiles: those in `keep` (connected now) stay; then
  // the least recently seen go, profiles that are not shunned before shunned
  // ones (forgetting whom we distrust is what a flooder would want). Never call
  // it while holding a NeighbourProfile reference.
  void prune(std::size_t max, const std::set<core::Address>& keep);

private:
  std::map<core::Address, NeighbourProfile> m_neighbours;
  SelfMetrics m_self;
  std::deque<Prediction> m_predictions;
  std::map<std::string, PredictorStats> m_predictors;
  uint64_t m_next_prediction = 1;
};

} // namespace openstreaming::agent
