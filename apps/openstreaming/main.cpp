// openstreaming: the one command. Each subcommand lives in its own *_command.cpp.
#include "apps/openstreaming/cli.h"
#include "platform/logging.h"

#include <CLI/CLI.hpp>

#include <iostream>

int main(int argc, char** argv) {
  using namespace openstreaming;
  CLI::App app{"OpenStreaming: paid, decentralized live video over a mesh of autonomous nodes.", "openstreaming"};
  app.set_version_flag("--version", std::string("openstreaming ") + OPENSTREAMING_VERSION);
  app.set_help_all_flag("--help-all", "Show help for every subcommand");
  std::string log_level = "info";
  std::string log_format = "text";
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error or off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
      ->capture_default_str();
  app.add_option("--log-format", log_format, "text or json (one object per line)")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  app.require_subcommand(1);
  app.fallthrough();

  cli::Runner runner;
  cli::add_keys_command(app, runner);
  cli::add_node_command(app, runner);
  cli::add_ledger_command(app, runner);
  cli::add_wallet_command(app, runner);
  cli::add_demo_command(app, runner);
  cli::add_sim_command(app, runner);
  cli::add_contracts_command(app, runner);
  cli::add_streams_command(app, runner);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e); // --help, --version
    std::cerr << "error: " << e.what() << " (see --help)\n";
    return cli::kBadInput;
  }
  if (auto r = platform::setup_logging(log_level, log_format); !r) return cli::fail(r.error());
  if (!runner.run) {
    std::cerr << "error: no command given (see --help)\n";
    return cli::kBadInput;
  }
  return runner.run();
}
