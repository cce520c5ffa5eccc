// openstreaming sim: the simulator (docs/simulation.md).
//   openstreaming sim SCENARIO.toml [--seed N] [--out DIR] [--strategy NAME] [--nodes N]
//   openstreaming sim compare DIR... [--out DIR]
//   openstreaming sim sweep SPACE.toml [--strategies LIST] [--count N] [--seed S] [--out DIR]
//                                      [--max-nodes N] [--jobs J]
#include "apps/openstreaming/cli.h"
#include "platform/child_process.h"
#include "platform/files.h"
#include "sim/report.h"
#include "sim/simulator.h"
#include "sim/sweep.h"

#include <cstdio>
#include <filesystem>
#include <list>
#include <thread>
#include <unistd.h>

namespace openstreaming::cli {

namespace {

struct SimFlags {
  std::string scenario;
  std::optional<uint64_t> seed;
  std::string out;
  std::string strategy;
  std::optional<uint64_t> nodes;
  std::vector<std::string> compare_dirs;
  std::string compare_out = "sim-compare";
  // sweep
  std::string space;
  std::string strategies = "agent,random,latency,gossip";
  uint64_t count = 40;
  uint64_t sweep_seed = 1;
  std::string sweep_out = "sim-sweep";
  uint64_t max_nodes = 0;
  unsigned jobs = std::max(1u, std::thread::hardware_concurrency());
};

// The sweep: each drawn scenario is written to OUT/scenarios/NAME.toml and run
// once per strategy by a child `openstreaming sim` process (up to --jobs at a
// time; each run is single-threaded), its outputs in OUT/runs/NAME-STRATEGY/.
// A run whose scenario file is unchanged and whose summary.json is there is
// not run again, so an interrupted sweep continues where it stopped. The
// table and report are rewritten after every run.
int run_sweep(const SimFlags& f) {
  namespace fs = std::filesystem;
  if (f.space.empty()) return fail(make_error(Errc::invalid_input, "a space file is required: sim sweep SPACE.toml"));
  auto strategies = sim::parse_strategies(f.strategies);
  if (!strategies) return fail(strategies.error());
  if (f.jobs < 1 || f.jobs > 64) return fail(make_error(Errc::invalid_input, "--jobs must be 1..64"));
  auto text = platform::read_file(f.space, 1 << 20);
  if (!text) return fail(text.error());
  auto samples = sim::sample_space(*text, f.space, f.count, f.sweep_seed, f.max_nodes);
  if (!samples) return fail(samples.error());
  std::error_code ec;
  fs::create_directories(fs::path(f.sweep_out) / "scenarios", ec);
  if (!ec) fs::create_directories(fs::path(f.sweep_out) / "runs", ec);
  if (ec) return fail(make_error(Errc::io, "--out " + f.sweep_out + ": " + ec.message()));
  std::vector<sim::SweepRow> rows;
  struct Job {
    std::size_t row, strategy;
    std::string dir;
  };
  std::vector<Job> todo;
  for (const auto& s : *samples) {
    const fs::path file = fs::path(f.sweep_out) / "scenarios" / (s.name + ".toml");
    auto old = platform::read_file(file, 1 << 20);
    const bool same = old && *old == s.toml;
    if (!same) {
      if (auto w = sim::write_file(file, s.toml); !w) return fail(w.error());
    }
    rows.push_back({s, std::vector<nlohmann::json>(strategies->size())});
    for (std::size_t k = 0; k < strategies->size(); ++k) {
      std::string dir = (fs::path(f.sweep_out) / "runs" / (s.name + "-" + (*strategies)[k])).string();
      if (same) {
        if (auto j = platform::read_file(dir + "/summary.json")) {
          auto parsed = nlohmann::json::parse(*j, nullptr, false);
          if (parsed.is_object() && parsed.contains("continuity_index")) {
            rows.back().summaries[k] = std::move(parsed);
            continue;
          }
        }
      }
      todo.push_back({rows.size() - 1, k, dir});
    }
  }
  std::fprintf(stderr, "sweep %s: %zu scenarios x %zu strategies, %zu runs to do, %u at a time\n", f.space.c_str(),
               samples->size(), strategies->size(), todo.size(), f.jobs);
  auto report = [&] {
    std::vector<sim::SweepRow> done;
    for (const auto& r : rows) {
      if (std::all_of(r.summaries.begin(), r.summaries.end(), [](const auto& j) { return j.is_object(); }))
        done.push_back(r);
    }
    return sim::write_sweep_report(f.sweep_out, sim::sweep_table(done, *strategies));
  };
  const std::string self = fs::read_symlink("/proc/self/exe", ec).string();
  if (ec) return fail(make_error(Errc::io, "cannot find this executable: " + ec.message()));
  struct Running {
    Job job;
    platform::ChildProcess child;
  };
  std::list<Running> running;
  std::size_t next = 0, finished = 0;
  int failures = 0;
  while (next < todo.size() || !running.empty()) {
    while (next < todo.size() && running.size() < f.jobs) {
      const Job& j = todo[next++];
      const sim::SweepSample& s = rows[j.row].sample;
      fs::create_directories(j.dir, ec);
      std::vector<std::string> argv = {self,
                                       "sim",
                                       (fs::path(f.sweep_out) / "scenarios" / (s.name + ".toml")).string(),
                                       "--strategy",
                                       (*strategies)[j.strategy],
                                       "--out",
                                       j.dir};
      auto c = platform::ChildProcess::spawn(argv, {}, j.dir + "/stdout.log", j.dir + "/stderr.log");
      if (!c) return fail(c.error());
      running.push_back({j, std::move(*c)});
    }
    for (auto it = running.begin(); it != running.end();) {
      auto code = it->child.wait(std::chrono::milliseconds(50));
      if (!code) {
        ++it;
        continue;
      }
      const Job& j = it->job;
      ++finished;
      auto summary = platform::read_file(j.dir + "/summary.json");
      auto parsed = summary ? nlohmann::json::parse(*summary, nullptr, false) : nlohmann::json();
      if (*code != 0 || !parsed.is_object()) {
        ++failures;
        std::fprintf(stderr, "run %s failed (exit %d): see %s/stderr.log\n", j.dir.c_str(), *code, j.dir.c_str());
      } else {
        rows[j.row].summaries[j.strategy] = std::move(parsed);
        std::fprintf(stderr, "[%zu/%zu] %s %s: continuity %.4f\n", finished, todo.size(),
                     rows[j.row].sample.name.c_str(), (*strategies)[j.strategy].c_str(),
                     rows[j.row].summaries[j.strategy]["continuity_index"].get<double>());
      }
      if (auto r = report(); !r) return fail(r.error());
      it = running.erase(it);
    }
  }
  if (auto r = report(); !r) return fail(r.error());
  auto table = platform::read_file(fs::path(f.sweep_out) / "table.md");
  if (table) std::printf("%s", table->c_str());
  std::printf("wrote %s/sweep.json, %s/table.md, %s/report.html\n", f.sweep_out.c_str(), f.sweep_out.c_str(),
              f.sweep_out.c_str());
  if (failures) return fail(make_error(Errc::io, std::to_string(failures) + " runs failed"));
  return kOk;
}

int run_sim(const SimFlags& f) {
  if (f.scenario.empty())
    return fail(make_error(Errc::invalid_input, "a scenario file is required: openstreaming sim SCENARIO.toml"));
  auto text = platform::read_file(f.scenario, 1 << 20);
  if (!text) return fail(text.error());
  auto sc = sim::Scenario::parse(*text, f.scenario);
  if (!sc) return fail(sc.error());
  sc->name = std::filesystem::path(f.scenario).stem().string();
  if (f.seed) sc->seed = *f.seed;
  if (!f.strategy.empty()) sc->strategy = f.strategy;
  if (f.nodes) sc->nodes = *f.nodes;
  if (auto v = sc->validate(); !v) return fail(make_error(Errc::invalid_input, f.scenario + ": " + v.error().message));
  std::string out = f.out.empty() ? "sim-out/" + sc->name + "-" + sc->strategy : f.out;

  sim::Simulator s(*sc);
  if (auto b = s.build(); !b) return fail(b.error());
  const bool tty = ::isatty(2);
  std::fprintf(stderr, "simulating %s: %llu nodes, %s, %.0f s, seed %llu\n", sc->name.c_str(),
               static_cast<unsigned long long>(sc->nodes), sc->strategy.c_str(), sc->duration_s,
               static_cast<unsigned long long>(sc->seed));
  s.run([&](double frac, uint64_t events) {
    if (!tty) return;
    int w = 40, done = static_cast<int>(frac * w);
    std::fprintf(stderr, "\r[%.*s%*s] %3.0f%%  %llu events", done, "########################################", w - done,
                 "", frac * 100, static_cast<unsigned long long>(events));
    std::fflush(stderr);
  });
  if (tty) std::fprintf(stderr, "\n");
  if (auto w = sim::write_outputs(out, s); !w) return fail(w.error());
  auto j = s.summary();
  std::printf("%s\nwrote %s/summary.json, %s/timeseries.csv, %s/report.html\n", j.dump(2).c_str(), out.c_str(),
              out.c_str(), out.c_str());
  return kOk;
}

} // namespace

void add_sim_command(CLI::App& app, Runner& runner) {
  auto f = std::make_shared<SimFlags>();
  CLI::App* cmd =
      app.add_subcommand("sim", "Simulate a network of 10k-100k agent nodes from a scenario file (docs/simulation.md)");
  cmd->add_option("scenario", f->scenario, "Scenario TOML file (scenarios/ has examples)");
  cmd->add_option("--seed", f->seed, "Override the scenario's seed");
  cmd->add_option("--out", f->out, "Output directory (default sim-out/NAME-STRATEGY)");
  cmd->add_option("--strategy", f->strategy, "Override the strategy: agent, random, latency, gossip, stake-weighted");
  cmd->add_option("--nodes", f->nodes, "Override network.nodes");
  CLI::App* cmp = cmd->add_subcommand("compare", "Compare runs: a report with every strategy side by side");
  cmp->add_option("dirs", f->compare_dirs, "Output directories of earlier runs")->required();
  cmp->add_option("--out", f->compare_out, "Where to write report.html and compare.json")->capture_default_str();
  cmp->callback([f, &runner] {
    runner.run = [f] {
      if (auto r = sim::write_comparison(f->compare_dirs, f->compare_out); !r) return fail(r.error());
      std::printf("wrote %s/report.html, %s/compare.json\n", f->compare_out.c_str(), f->compare_out.c_str());
      return static_cast<int>(kOk);
    };
  });
  CLI::App* sw = cmd->add_subcommand(
      "sweep", "Draw scenarios from a parameter space, run every strategy on each, report winners and win rates");
  sw->add_option("space", f->space, "Space TOML file (scenarios/spaces/default.toml is the default space)")->required();
  sw->add_option("--strategies", f->strategies, "Comma-separated strategies to run")->capture_default_str();
  sw->add_option("--count", f->count, "Scenarios to draw")->capture_default_str();
  sw->add_option("--seed", f->sweep_seed, "Seed of the draw (each scenario's own seed is drawn from it)")
      ->capture_default_str();
  sw->add_option("--out", f->sweep_out, "Output directory")->capture_default_str();
  sw->add_option("--max-nodes", f->max_nodes, "Cap network.nodes of every drawn scenario (0: no cap)")
      ->capture_default_str();
  sw->add_option("--jobs", f->jobs, "Runs at a time (each is one process)")->capture_default_str();
  sw->callback([f, &runner] { runner.run = [f] { return run_sweep(*f); }; });
  cmd->callback([f, cmd, cmp, sw, &runner] {
    if (cmp->parsed() || sw->parsed()) return;
    (void)cmd;
    runner.run = [f] { return run_sim(*f); };
  });
}

} // namespace openstreaming::cli
