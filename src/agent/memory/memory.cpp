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

double Ewma::stddev() const { return std::sqrt(std::max(0.0, var)); }

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
  p.made_ms = now_ms;
  p.due_ms = due_ms;
  m_predictions.push_back(std::move(p));
  while (m_predictions.size() > kRecentPredictions) m_predictions.pop_front();
  return m_predictions.back().id;
}

void Memory::outcome(uint64_t id, double actual) {
  for (auto& p : m_predictions) {
    if (p.id != id || p.actual) continue;
    p.actual = actual;
    p.error = std::abs(actual - p.predicted);
    PredictorStats& s = m_predictors[p.predictor];
    ++s.n;
    s.mae += (p.error - s.mae) / static_cast<double>(s.n);
    return;
  }
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
