// The simulator's outputs (docs/simulation.md): DIR/summary.json,
// DIR/timeseries.csv and DIR/report.html — one self-contained page (inline
// SVG charts, no script, nothing fetched). `openstreaming sim compare DIR…`
// writes a comparison page from several runs' outputs.
#pragma once

#include "core/result.h"
#include "sim/simulator.h"

#include <string>
#include <vector>

namespace openstreaming::sim {

Result<void> write_outputs(const std::string& dir, const Simulator& sim);
// Reads each DIR/summary.json and DIR/timeseries.csv; writes OUT/report.html and OUT/compare.json.
Result<void> write_comparison(const std::vector<std::string>& dirs, const std::string& out_dir);

} // namespace openstreaming::sim
