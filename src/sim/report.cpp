#include "sim/report.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace openstreaming::sim {

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

const char* kColours[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"};

struct Series {
  std::string name;
  std::vector<std::pair<double, double>> points;
};

} // namespace

std::string html_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '<')
      o += "&lt;";
    else if (c == '>')
      o += "&gt;";
    else if (c == '&')
      o += "&amp;";
    else
      o += c;
  }
  return o;
}

namespace {

std::string esc(const std::string& s) { return html_escape(s); }

std::string num(double v, int prec = 3) {
  std::ostringstream o;
  o.precision(prec);
  o << v;
  return o.str();
}

// A line chart in SVG: axes, ticks at the ends, a legend.
std::string line_chart(const std::string& title, const std::string& xlabel, const std::string& ylabel,
                       const std::vector<Series>& series,
                       std::optional<std::pair<double, double>> yrange = std::nullopt) {
  double x0 = 1e300, x1 = -1e300, y0 = 1e300, y1 = -1e300;
  for (const auto& s : series) {
    for (auto [x, y] : s.points) {
      x0 = std::min(x0, x), x1 = std::max(x1, x), y0 = std::min(y0, y), y1 = std::max(y1, y);
    }
  }
  if (yrange) y0 = yrange->first, y1 = yrange->second;
  if (x0 > x1) x0 = 0, x1 = 1;
  if (y0 >= y1) y1 = y0 + 1;
  if (x0 == x1) x1 = x0 + 1;
  const double W = 640, H = 260, L = 60, R = 20, T = 30, B = 40;
  auto px = [&](double x) { return L + (x - x0) / (x1 - x0) * (W - L - R); };
  auto py = [&](double y) { return H - B - (y - y0) / (y1 - y0) * (H - T - B); };
  std::ostringstream o;
  o << "<figure><svg viewBox='0 0 " << W << " " << H << "' width='" << W << "' height='" << H << "'>"
    << "<text x='" << L << "' y='18' font-weight='bold'>" << esc(title) << "</text>"
    << "<line x1='" << L << "' y1='" << H - B << "' x2='" << W - R << "' y2='" << H - B << "' stroke='#888'/>"
    << "<line x1='" << L << "' y1='" << T << "' x2='" << L << "' y2='" << H - B << "' stroke='#888'/>"
    << "<text x='" << L << "' y='" << H - B + 15 << "' font-size='11'>" << num(x0) << "</text>"
    << "<text x='" << W - R << "' y='" << H - B + 15 << "' font-size='11' text-anchor='end'>" << num(x1) << "</text>"
    << "<text x='" << (L + W - R) / 2 << "' y='" << H - 8 << "' font-size='11' text-anchor='middle'>" << esc(xlabel)
    << "</text>"
    << "<text x='" << L - 5 << "' y='" << H - B << "' font-size='11' text-anchor='end'>" << num(y0) << "</text>"
    << "<text x='" << L - 5 << "' y='" << T + 4 << "' font-size='11' text-anchor='end'>" << num(y1) << "</text>"
    << "<text x='12' y='" << (T + H - B) / 2 << "' font-size='11' transform='rotate(-90 12 " << (T + H - B) / 2
    << ")' text-anchor='middle'>" << esc(ylabel) << "</text>";
  for (std::size_t i = 0; i < series.size(); ++i) {
    const auto& s = series[i];
    std::string c = kColours[i % 6];
    o << "<polyline fill='none' stroke='" << c << "' stroke-width='1.5' points='";
    for (auto [x, y] : s.points) o << num(px(x), 6) << "," << num(py(std::clamp(y, y0, y1)), 6) << " ";
    o << "'/><text x='" << W - R - 150 << "' y='" << T + 14 * static_cast<double>(i + 1) << "' font-size='11' fill='"
      << c << "'>" << esc(s.name) << "</text>";
  }
  o << "</svg></figure>\n";
  return o.str();
}

std::string bar_chart(const std::string& title, const std::vector<std::pair<std::string, double>>& bars) {
  const double W = 640, H = 40 + 24 * static_cast<double>(bars.size()), L = 180;
  double mx = 0;
  for (const auto& b : bars) mx = std::max(mx, b.second);
  if (mx <= 0) mx = 1;
  std::ostringstream o;
  o << "<figure><svg viewBox='0 0 " << W << " " << H << "' width='" << W << "' height='" << H
    << "'><text x='0' y='18' font-weight='bold'>" << esc(title) << "</text>";
  for (std::size_t i = 0; i < bars.size(); ++i) {
    double y = 30 + 24 * static_cast<double>(i);
    double w = bars[i].second / mx * (W - L - 80);
    o << "<text x='" << L - 6 << "' y='" << y + 14 << "' font-size='12' text-anchor='end'>" << esc(bars[i].first)
      << "</text>"
      << "<rect x='" << L << "' y='" << y << "' width='" << std::max(1.0, w) << "' height='18' fill='"
      << kColours[i % 6] << "'/>"
      << "<text x='" << L + w + 6 << "' y='" << y + 14 << "' font-size='12'>" << num(bars[i].second, 4) << "</text>";
  }
  o << "</svg></figure>\n";
  return o.str();
}

std::string page(const std::string& title, const std::string& body) {
  return "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>" + esc(title) +
         "</title><style>body{font:14px/1.4 system-ui,sans-serif;max-width:1000px;margin:20px auto;color:#222}"
         "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
         "th:first-child,td:first-child{text-align:left}figure{margin:10px "
         "0}svg{background:#fafafa}</style></head><body>" +
         body + "</body></html>\n";
}

std::string summary_table(const json& s) {
  std::ostringstream o;
  o << "<table><tr><th>metric</th><th>value</th></tr>";
  for (const auto& [k, v] : s.items()) o << "<tr><td>" << esc(k) << "</td><td>" << esc(v.dump()) << "</td></tr>";
  o << "</table>\n";
  return o.str();
}

std::vector<std::vector<double>> read_csv(const fs::path& p) {
  std::ifstream f(p);
  std::string line;
  std::vector<std::vector<double>> rows;
  std::getline(f, line); // header
  while (std::getline(f, line)) {
    std::vector<double> r;
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, ',')) r.push_back(std::atof(cell.c_str()));
    rows.push_back(r);
  }
  return rows;
}

} // namespace

Result<void> write_file(const fs::path& p, const std::string& text) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f << text;
  if (!f) return make_error(Errc::io, "cannot write " + p.string());
  return {};
}

Result<void> write_outputs(const std::string& dir, const Simulator& sim) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return make_error(Errc::io, "--out " + dir + ": " + ec.message());
  json s = sim.summary();
  if (auto r = write_file(fs::path(dir) / "summary.json", s.dump(2) + "\n"); !r) return r;
  if (auto r = write_file(fs::path(dir) / "timeseries.csv", sim.timeseries_csv()); !r) return r;

  Series cont{"continuity", {}}, adv{"adversaries (as rated by honest neighbours)", {}}, hon{"honest nodes", {}};
  for (const auto& x : sim.samples()) {
    cont.points.emplace_back(x.t, x.continuity);
    adv.points.emplace_back(x.t, x.adversary_coherence);
    hon.points.emplace_back(x.t, x.honest_coherence);
  }
  Series cdf{"latency CDF", {}};
  auto lat = sim.latencies();
  for (std::size_t i = 0; i < lat.size(); i += std::max<std::size_t>(1, lat.size() / 400)) {
    cdf.points.emplace_back(lat[i], static_cast<double>(i + 1) / static_cast<double>(lat.size()));
  }
  auto earn = sim.honest_earnings_ether();
  std::sort(earn.begin(), earn.end());
  Series lorenz{"honest earnings, nodes sorted (Lorenz curve)", {}};
  double total = 0;
  for (double e : earn) total += e;
  double acc = 0;
  for (std::size_t i = 0; i < earn.size(); ++i) {
    acc += earn[i];
    lorenz.points.emplace_back(static_cast<double>(i + 1) / static_cast<double>(earn.size()),
                               total > 0 ? acc / total : 0);
  }
  std::string body =
      "<h1>OpenStreaming simulation: " + esc(sim.scenario().name) + "</h1><p>strategy <b>" +
      esc(sim.scenario().strategy) + "</b>, seed " + std::to_string(sim.scenario().seed) + ", " +
      std::to_string(sim.size()) + " nodes, " + num(sim.scenario().duration_s) + " s simulated, crypto: <b>" +
      esc(sim.scenario().crypto) + "</b></p>" + summary_table(s) +
      line_chart("Continuity over time", "simulated s", "parts on time / due", {cont}, std::make_pair(0.0, 1.0)) +
      line_chart("Latency CDF (ingest to viewer)", "ms", "fraction of parts", {cdf}, std::make_pair(0.0, 1.0)) +
      line_chart("Coherence over time", "simulated s", "mean score", {adv, hon}, std::make_pair(0.0, 1.0)) +
      line_chart("Earnings distribution (Gini " + num(s["honest_earnings_gini"].get<double>()) + ")",
                 "fraction of honest nodes", "fraction of earnings", {lorenz}, std::make_pair(0.0, 1.0));
  return write_file(fs::path(dir) / "report.html", page("OpenStreaming simulation", body));
}

Result<void> write_comparison(const std::vector<std::string>& dirs, const std::string& out_dir) {
  std::vector<json> sums;
  std::vector<Series> cont, adv;
  for (const auto& d : dirs) {
    std::ifstream f(fs::path(d) / "summary.json");
    if (!f) return make_error(Errc::io, d + ": no summary.json (run `openstreaming sim … --out " + d + "` first)");
    json s = json::parse(f, nullptr, false);
    if (s.is_discarded() || !s.is_object()) return make_error(Errc::invalid_input, d + "/summary.json: not a summary");
    std::string label = s.value("strategy", "?") + " (" + fs::path(d).filename().string() + ")";
    Series c{label, {}}, a{label, {}};
    for (const auto& r : read_csv(fs::path(d) / "timeseries.csv")) {
      if (r.size() < 4) continue;
      c.points.emplace_back(r[0], r[1]);
      a.points.emplace_back(r[0], r[3]);
    }
    cont.push_back(c);
    adv.push_back(a);
    s["_label"] = label;
    sums.push_back(s);
  }
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  std::ostringstream table;
  table << "<table><tr><th>run</th><th>continuity</th><th>latency p95 ms</th><th>join p50 "
           "s</th><th>duplicates</th><th>overhead</th>"
           "<th>isolation s</th><th>gini</th><th>wall s</th></tr>";
  std::vector<std::pair<std::string, double>> cbars, lbars;
  for (const auto& s : sums) {
    table << "<tr><td>" << esc(s["_label"].get<std::string>()) << "</td><td>"
          << num(s.value("continuity_index", 0.0), 4) << "</td><td>" << num(s["latency_ms"].value("p95", 0.0), 4)
          << "</td><td>" << num(s["join_s"].value("p50", 0.0)) << "</td><td>" << num(s.value("duplicate_ratio", 0.0))
          << "</td><td>" << num(s.value("control_overhead", 0.0)) << "</td><td>"
          << (s["adversary_isolation_s"].is_null() ? std::string("—") : num(s["adversary_isolation_s"].get<double>()))
          << "</td><td>" << num(s.value("honest_earnings_gini", 0.0)) << "</td><td>" << num(s.value("wall_s", 0.0))
          << "</td></tr>";
    cbars.emplace_back(s["_label"].get<std::string>(), s.value("continuity_index", 0.0));
    lbars.emplace_back(s["_label"].get<std::string>(), s["latency_ms"].value("p95", 0.0));
  }
  table << "</table>";
  std::string body =
      "<h1>OpenStreaming: strategy comparison</h1>" + table.str() + bar_chart("Continuity index", cbars) +
      bar_chart("Latency p95 (ms)", lbars) +
      line_chart("Continuity over time", "simulated s", "on time / due", cont, std::make_pair(0.0, 1.0)) +
      line_chart("Adversaries' coherence over time", "simulated s", "mean score", adv, std::make_pair(0.0, 1.0));
  json all = json::array();
  for (auto s : sums) {
    s.erase("_label");
    all.push_back(s);
  }
  if (auto r = write_file(fs::path(out_dir) / "compare.json", all.dump(2) + "\n"); !r) return r;
  return write_file(fs::path(out_dir) / "report.html", page("OpenStreaming: strategy comparison", body));
}

} // namespace openstreaming::sim
