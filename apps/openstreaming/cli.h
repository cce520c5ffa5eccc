// Conventions shared by every subcommand (documented in docs/cli.md):
//   exit 0  success
//   exit 1  a check failed (e.g. `keys verify` on a bad signature)
//   exit 2  bad usage or bad input (unknown flag, malformed hex, wrong password, ...)
// Errors are one line on stderr: "error: <what is wrong and what to do>".
#pragma once

#include "core/result.h"

#include <CLI/CLI.hpp>

#include <functional>
#include <iostream>

namespace openstreaming::cli {

enum ExitCode : int { kOk = 0, kCheckFailed = 1, kBadInput = 2 };

// Subcommands register a callback here while options are declared; main runs
// it after a successful parse and after logging is set up.
struct Runner {
  std::function<int()> run;
};

inline int fail(const Error& e) {
  std::cerr << "error: " << e.message << "\n";
  return kBadInput;
}

void add_keys_command(CLI::App& app, Runner& runner);
void add_node_command(CLI::App& app, Runner& runner);
void add_ledger_command(CLI::App& app, Runner& runner);
void add_wallet_command(CLI::App& app, Runner& runner);
void add_demo_command(CLI::App& app, Runner& runner);
void add_sim_command(CLI::App& app, Runner& runner);
void add_contracts_command(CLI::App& app, Runner& runner);
void add_streams_command(CLI::App& app, Runner& runner);

} // namespace openstreaming::cli
