#include "agent/memory/memory.h"

#include <algorithm>
#include <cmath>
#include <tuple>

namespace openstreaming::agent {

void Ewma::add(double x, double alpha) {
  if (n++ == 0) {
    mean = x;
    var = 0;
    return;
  }
  double d = x - mean;
  mean += alpha * d;
  var = (1 - alpha) * (var + alpha * d * d);
}

double Ewma::stddev() const {
  return std::sqrt(std::max(0.0, var));
}

void Ratio::add(double outcome, double alpha) {
  value += alpha * (outcome - value);
  ++n;
}

const char* status_name(NeighbourStatus s) {
  switch (s) {
  case NeighbourStatus::trusted:
    return "trusted";
  case NeighbourStatus::incoherent:
    return "incoherent";
  case NeighbourStatus::shunned:
    return "shunned";
  }
  return "trusted";
}

NeighbourProfile& Memory::neighbour(const core::Address& address) {
  auto [it, fresh] = m_neighbours.try_emplace(address);
  if (fresh) it->second.address = address;
  return it->second;
}

void Memory::prune(std::size_t max, const std::set<core::Address>& keep) {
  if (m_neighbours.size() <= max) return;
  std::vector<std::tuple<bool, int64_t, core::Address>> order; // (shunned, last seen, address): erased first
  order.reserve(m_neighbours.size());
  for (const auto& [a, p] : m_neighbours) {
    if (!keep.count(a)) order.emplace_back(p.status == NeighbourStatus::shunned, p.last_seen_ms, a);
  }
  std::sort(order.begin(), order.end());
  for (const auto& [shunned, seen, a] : order) {
    if (m_neighbours.size() <= max) break;
    m_neighbours.erase(a);
  }
}

const NeighbourProfile* Memory::find(const core::Address& address) const {
  auto it = m_neighbours.find(address);
  return it == m_neighbours.end() ? nullptr : &it->second;
}

uint64_t Memory::predict(std::string predictor, std::string subject, std::string action, double predicted,
                         int64_t now_ms, int64_t due_ms) {
  Prediction p;
  p.id = m_next_prediction++;
  p.predictor = std::move(predictor);
  p.subject = std::move(subject);
  p.action = std::move(action);
  p.predicted = predicted;
  p.raw = predicted;
  p.made_ms = now_ms;
  p.due_ms = due_ms;
  m_predictions.push_back(std::move(p));
  while (m_predictions.size() > kRecentPredictions) m_predictions.pop_front();
  return m_predictions.back().id;
}

uint64_t Memory::predict_calibrated(std::string predictor, std::string subject, std::string action, double raw,
                                    int64_t now_ms, int64_t due_ms) {
  double made = calibrated(predictor, raw);
  uint64_t id = predict(std::move(predictor), std::move(subject), std::move(action), made, now_ms, due_ms);
  m_predictions.back().raw = raw;
  return id;
}

void Memory::outcome(uint64_t id, double actual) {
  for (auto& p : m_predictions) {
    if (p.id != id || p.actual) continue;
    p.actual = actual;
    p.error = std::abs(actual - p.predicted);
    m_predictors[p.predictor].add(p.predicted, actual, p.raw);
    return;
  }
}

namespace {
std::size_t bin_of(double x) {
  return std::min(PredictorStats::kBins - 1, static_cast<std::size_t>(x * static_cast<double>(PredictorStats::kBins)));
}
bool unit(double x) {
  return x >= 0 && x <= 1;
}
} // namespace

void PredictorStats::add(double predicted, double actual, double raw) {
  ++n;
  mae += (std::abs(actual - predicted) - mae) / static_cast<double>(n);
  bias += ((actual - predicted) - bias) / static_cast<double>(n);
  if (!unit(predicted) || !unit(actual) || !unit(raw)) {
    ratio = false;
    return;
  }
  Bin& b = bins[bin_of(predicted)];
  ++b.n;
  b.predicted += predicted;
  b.actual += actual;
  Bin& r = raw_bins[bin_of(raw)];
  ++r.n;
  r.predicted += raw;
  r.actual += actual;
}

std::optional<double> PredictorStats::calibration_error() const {
  if (!ratio) return std::nullopt;
  uint64_t total = 0;
  double gap = 0;
  for (const Bin& b : bins) {
    if (b.n == 0) continue;
    total += b.n;
    gap += std::abs(b.actual - b.predicted); // n x |mean actual - mean predicted|
  }
  if (total == 0) return std::nullopt;
  return gap / static_cast<double>(total);
}

double PredictorStats::calibrated(double raw) const {
  if (!ratio || !unit(raw)) return raw;
  const Bin& b = raw_bins[bin_of(raw)];
  if (b.n < kMinBinSamples) return raw;
  return b.actual / static_cast<double>(b.n);
}

double Memory::calibrated(const std::string& predictor, double raw) const {
  auto it = m_predictors.find(predictor);
  return it == m_predictors.end() ? raw : it->second.calibrated(raw);
}

MemorySnapshot Memory::snapshot() const {
  MemorySnapshot s;
  for (const auto& [a, p] : m_neighbours) s.neighbours.push_back(p);
  s.predictors = m_predictors;
  s.predictions.assign(m_predictions.begin(), m_predictions.end());
  return s;
}

void Memory::restore(const MemorySnapshot& s) {
  for (const auto& p : s.neighbours) {
    NeighbourProfile& mine = neighbour(p.address);
    mine = p;
    mine.incoherent_since.reset(); // monotonic time does not survive a restart
  }
  m_predictors = s.predictors;
  m_predictions.assign(s.predictions.begin(), s.predictions.end());
  for (const auto& p : m_predictions) m_next_prediction = std::max(m_next_prediction, p.id + 1);
}

} // namespace openstreaming::agent
