// `openstreaming ledger` as a child process for functional tests: started on
// 127.0.0.1 with an OS-chosen port, its data in the test's temp dir, killed by
// PID when its Process goes. Header-only (needs OPENSTREAMING_BIN, as every
// functional test has).
#pragma once

#include "core/address.h"
#include "core/result.h"
#include "support/process.h"
#include "support/temp_dir.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace openstreaming::test {

// A genesis file `genesis.json` in `dir`: chain 1337, `block_ms`, `round_blocks`,
// each of `funded` holding `amount`, plus whatever `extra` adds (e.g. "params").
inline std::string write_genesis(const TempDir& dir, const std::vector<core::Address>& funded, uint64_t block_ms,
                                 uint64_t round_blocks, const std::string& amount = "100ether",
                                 const nlohmann::json& extra = nlohmann::json::object()) {
  nlohmann::json accounts = nlohmann::json::object();
  for (const auto& a : funded) accounts[a.to_checksum_hex()] = amount;
  nlohmann::json g = {
      {"chain_id", 1337}, {"block_ms", block_ms}, {"round_blocks", round_blocks}, {"accounts", accounts}};
  g.update(extra);
  return dir.write("genesis.json", g.dump());
}

// Starts the ledger with the genesis file `genesis` and its data in dir/`data`:
// the process goes to `proc`; returns its JSON-RPC URL (http://127.0.0.1:PORT),
// or what it printed when it did not start.
inline Result<std::string> start_embedded_ledger(std::unique_ptr<Process>& proc, const TempDir& dir,
                                                 const std::string& genesis, const std::string& data = "ledger") {
  proc = std::make_unique<Process>(std::vector<std::string>{OPENSTREAMING_BIN, "ledger", "--data-dir", dir.file(data),
                                                            "--listen", "127.0.0.1:0", "--genesis", genesis});
  const std::string prefix = "listening rpc ";
  auto line = proc->wait_for_line(prefix, std::chrono::seconds(20));
  if (!line) return make_error(Errc::io, "the ledger did not start: " + proc->err());
  return "http://" + line->substr(line->find(prefix) + prefix.size());
}

} // namespace openstreaming::test
