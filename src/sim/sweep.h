// Scenario sweeps (docs/simulation.md "Sweeps"): `openstreaming sim sweep
// SPACE.toml` draws N scenarios from a declared parameter space, runs every
// strategy on each, and reports per-scenario winners and win rates — so that
// no one tunes the agent to a handful of files.
//
// A space is a scenario file in which any value may be a sampler, an inline
// table with exactly one of these keys:
//   { uniform = [lo, hi] }   a real number, uniform in [lo, hi]
//   { int = [lo, hi] }       an integer, uniform in lo..hi
//   { log_int = [lo, hi] }   an integer, log-uniform in lo..hi (as many 500-1,000 as 2,500-5,000 node graphs)
//   { choice = [a, b, ...] } one of the values (any TOML value, samplers inside it resolved in turn)
// Samplers nest anywhere: in arrays (latency_ms = [{uniform = [2, 20]}, 80]),
// in the tables of an adversary list. Each drawn scenario is a plain scenario
// file (written to DIR/scenarios/) that `openstreaming sim` runs as it is.
// The space may not name a strategy or a seed: the sweep sets both.
#pragma once

#include "core/result.h"
#include "sim/scenario.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace openstreaming::sim {

struct SweepSample {
  std::size_t index = 0;
  std::string name; // "s00", "s01", ...
  std::string toml; // the concrete scenario file
  Scenario scenario;
};

// Draws `count` scenarios from the space, the same ones for the same seed on
// every machine. A drawn scenario that is not valid (an unknown key, a degree
// not below its node count) is an error naming the sample and the reason.
// `max_nodes` (0: none) caps network.nodes after drawing.
Result<std::vector<SweepSample>> sample_space(const std::string& space_text, const std::string& source,
                                              std::size_t count, uint64_t seed, uint64_t max_nodes = 0);

// The strategies a sweep may run, in the order reports list them.
Result<std::vector<std::string>> parse_strategies(const std::string& comma_list);

struct SweepRow {
  SweepSample sample;
  std::vector<nlohmann::json> summaries; // one Simulator::summary() per strategy, in the sweep's order
};

// The sweep's table (DIR/sweep.json): per scenario its parameters, each
// strategy's continuity and p95 latency and the winner (the highest
// continuity; within 0.001 of it, the lowest p95); per strategy its win
// rate; and the agent's standing against the best baseline in each scenario
// (continuity at least the best baseline's - 0.005; strictly best where there
// are adversaries; p95 within 10 % of the best baseline's where there are none).
nlohmann::json sweep_table(const std::vector<SweepRow>& rows, const std::vector<std::string>& strategies);

// Writes DIR/sweep.json, DIR/table.md and DIR/report.html (one self-contained page).
Result<void> write_sweep_report(const std::string& dir, const nlohmann::json& table);

} // namespace openstreaming::sim
