// openstreaming sim: the simulator (docs/simulation.md).
//   openstreaming sim SCENARIO.toml [--seed N] [--out DIR] [--strategy NAME] [--nodes N]
//   openstreaming sim compare DIR... [--out DIR]
#include "apps/openstreaming/cli.h"
#include "platform/files.h"
#include "sim/report.h"
#include "sim/simulator.h"

#include <cstdio>
#include <filesystem>
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
};

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
  cmd->callback([f, cmd, cmp, &runner] {
    if (cmp->parsed()) return;
    (void)cmd;
    runner.run = [f] { return run_sim(*f); };
  });
}

} // namespace openstreaming::cli
