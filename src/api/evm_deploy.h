// `openstreaming contracts deploy` (docs/cli.md, docs/ledger.md): the four
// contracts deployed to an EVM chain with their parameters, and the record of
// where they are (deployments.json) that the EVM ledger backend will read.
#pragma once

#include "api/evm_client.h"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace openstreaming::api {

// The embedded ledger's defaults (ledger::Genesis / ledger::Params).
struct DeployParams {
  uint64_t round_blocks = 20;       // TicketBroker: blocks per round
  uint64_t unlock_rounds = 2;       // TicketBroker: unlock -> withdraw
  uint64_t ticket_valid_rounds = 4; // TicketBroker: a ticket is honoured this many rounds after its creation round
  uint64_t challenge_blocks = 40;   // StreamChannels: payer close -> settle
  uint64_t unbonding_blocks = 40;   // Staking: unbond -> withdraw
};

struct DeployedContract {
  std::string name;
  core::Address address;
  Hash256 transaction{};
  uint64_t block = 0;
  uint64_t gas_used = 0;
};

struct Deployment {
  U256 chain_id{0};
  core::Address deployer;
  DeployParams params;
  std::vector<DeployedContract> contracts; // TicketBroker, StreamChannels, ServiceRegistry, Staking
  nlohmann::json to_json() const;
  // The inverse of to_json(), checked (a file is untrusted input).
  static Result<Deployment> from_json(const nlohmann::json& j);
  const DeployedContract* find(std::string_view name) const;
};

// Reads and checks a deployments.json (at most 1 MiB).
Result<Deployment> load_deployment(const std::string& path);

// The creation bytecode of `name` from Hardhat's artifacts under `artifacts_dir`
// (artifacts_dir/contracts/NAME.sol/NAME.json). An error when missing, not hex,
// or with unlinked library placeholders.
Result<Bytes> creation_bytecode(const std::string& artifacts_dir, const std::string& name);

// Anvil's (and Hardhat's) first development account: a well-known, public test
// key those nodes fund at genesis. For throwaway local chains only (the demo's
// and the tests'); anything it holds on a real chain is anyone's.
core::PrivateKey anvil_dev_key();

// Deploys the four contracts from `key` in order, each confirmed (mined, one
// block deep) within `per_contract` and checked to have code, before the next.
Result<Deployment> deploy_contracts(EvmClient& client, const core::PrivateKey& key, const std::string& artifacts_dir,
                                    const DeployParams& params,
                                    std::chrono::milliseconds per_contract = std::chrono::seconds(120));

} // namespace openstreaming::api
