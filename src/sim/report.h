// The simulator's outputs (docs/simulation.md): DIR/summary.json,
// DIR/timeseries.csv and DIR/report.html — one self-contained page (inline
// SVG charts, no script, nothing fetched). `openstreaming sim compare DIR…`
// writes a comparison page from several runs' outputs.
#pragma once

#include "core/result.h"
#include "sim/simulator.h"

#include <filesystem>
#include <string>
#include <vector>

namespace openstreaming::sim {

Result<void> write_outputs(const std::string& dir, const Simulator& sim);
// Reads each DIR/summary.json and DIR/timeseries.csv; writes OUT/report.html and OUT/compare.json.
Result<void> write_comparison(const std::vector<std::string>& dirs, const std::string& out_dir);

// Helpers the sweep's report shares: writes (replacing) a text file; escapes <, > and & for HTML.
Result<void> write_file(const std::filesystem::path& p, const std::string& text);
std::string html_escape(const std::string& s);

} // namespace openstreaming::sim
