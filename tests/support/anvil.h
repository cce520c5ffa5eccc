// Anvil, a real and independent EVM node (from the @foundry-rs/anvil npm
// package, installed in contracts/ by scripts/setup), for the functional tests:
// started on 127.0.0.1 with an OS-chosen port, killed by PID when the Anvil
// object goes. Header-only: the file that includes it is compiled with
// OPENSTREAMING_ANVIL, the binary's path (tests/CMakeLists.txt).
#pragma once

#include "api/evm_calls.h"
#include "api/evm_client.h"
#include "api/evm_deploy.h"
#include "api/http_client.h"
#include "core/hex.h"
#include "core/keystore.h"
#include "core/random.h"
#include "support/process.h"
#include "support/temp_dir.h"

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace openstreaming::test {

using api::anvil_dev_key;

struct Anvil {
  std::unique_ptr<Process> proc;
  api::HttpUrl url; // http://127.0.0.1:PORT/
  // Chain id 31337; `extra`: e.g. {"--block-time", "1"} (blocks on a clock, not per transaction).
  explicit Anvil(std::vector<std::string> extra = {}) {
    std::vector<std::string> argv{OPENSTREAMING_ANVIL, "--host", "127.0.0.1", "--port", "0", "--chain-id", "31337"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    proc = std::make_unique<Process>(argv);
    auto line = proc->wait_for_line("Listening on ", std::chrono::seconds(30));
    if (!line) throw std::runtime_error("anvil did not start: " + proc->err());
    url = *api::HttpUrl::parse("http://" + line->substr(line->find("Listening on ") + 13) + "/");
  }
  // The JSON-RPC endpoint as the CLI takes it: http://127.0.0.1:PORT
  std::string rpc() const { return "http://" + url.host + ":" + std::to_string(url.port); }

  // `openstreaming contracts deploy` from the development key with `flags`:
  // the path of the deployments.json it wrote into `dir`, or what it printed.
  Result<std::string> deploy(const TempDir& dir, const std::vector<std::string>& flags = {}) const {
    core::DeterministicRandom rng(9);
    const std::string key_file =
        dir.write("dev.key.json", core::keystore::encrypt(anvil_dev_key(), "test", rng, {1024, 8, 1}));
    const std::string out = dir.file("deployments.json");
    std::vector<std::string> argv{OPENSTREAMING_BIN, "contracts", "deploy", "--rpc", rpc(),
                                  "--key",           key_file,    "--out",  out};
    argv.insert(argv.end(), flags.begin(), flags.end());
    SpawnOptions opts;
    opts.env["OPENSTREAMING_PASSWORD"] = "test";
    auto r = run(argv, opts, std::chrono::seconds(120));
    if (r.exit_code != 0) return make_error(Errc::io, "contracts deploy: " + r.out + r.err);
    return out;
  }
};

// Every wei `who` spent on gas: Σ gasUsed × effectiveGasPrice over the
// receipts of its transactions in blocks 0..head.
inline core::U256 gas_spent(api::EvmClient& client, const core::Address& who) {
  auto head = client.block_number();
  if (!head) throw std::runtime_error("gas_spent: " + head.error().message);
  auto fees = api::evm_calls::fees_paid(client, {who}, 0, *head);
  if (!fees) throw std::runtime_error("gas_spent: " + fees.error().message);
  return *fees;
}

} // namespace openstreaming::test
