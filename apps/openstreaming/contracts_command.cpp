// openstreaming contracts deploy: the Solidity contracts on an EVM chain
// (docs/cli.md, docs/ledger.md "EVM contracts").
#include "api/evm_deploy.h"
#include "apps/openstreaming/cli.h"
#include "platform/files.h"
#include "platform/key_files.h"

#include <filesystem>
#include <iostream>
#include <memory>

namespace openstreaming::cli {

namespace {

struct DeployFlags {
  std::string rpc = "http://127.0.0.1:8545";
  std::string key, password_file, out = "deployments.json";
  std::string artifacts = OPENSTREAMING_CONTRACTS_ARTIFACTS;
  api::DeployParams params;
};

int run_deploy(const DeployFlags& f) {
  std::string rpc = f.rpc;
  if (rpc.rfind("evm+", 0) == 0) rpc = rpc.substr(4); // the form --ledger takes for an EVM chain
  auto url = api::HttpUrl::parse(rpc);
  if (!url) return fail(make_error(Errc::invalid_input, "--rpc: " + url.error().message));
  if (f.params.round_blocks == 0 || f.params.challenge_blocks == 0 || f.params.unbonding_blocks == 0)
    return fail(
        make_error(Errc::invalid_input, "--round-blocks, --challenge-blocks and --unbonding-blocks must be > 0"));
  platform::PasswordRequest pw;
  if (!f.password_file.empty()) pw.file = f.password_file;
  auto key = platform::load_key_file(f.key, pw);
  if (!key) return fail(key.error());
  if (std::filesystem::exists(f.out))
    return fail(make_error(Errc::already_exists, "--out " + f.out + " exists (a deployment is not overwritten)"));
  api::EvmClient client(*url);
  auto d = api::deploy_contracts(client, *key, f.artifacts, f.params);
  if (!d) {
    std::cerr << "error: " << d.error().message << "\n";
    return kCheckFailed;
  }
  if (auto w = platform::write_new_file(f.out, d->to_json().dump(2) + "\n", 0644); !w) return fail(w.error());
  for (const auto& c : d->contracts)
    std::cout << c.name << " " << c.address.to_checksum_hex() << " (block " << c.block << ", " << c.gas_used
              << " gas)\n";
  std::cout << "wrote " << f.out << "\n";
  return kOk;
}

} // namespace

void add_contracts_command(CLI::App& app, Runner& runner) {
  CLI::App* cmd = app.add_subcommand("contracts", "The Solidity contracts on an EVM chain (docs/ledger.md)");
  cmd->require_subcommand(1);
  auto f = std::make_shared<DeployFlags>();
  CLI::App* deploy = cmd->add_subcommand("deploy", "Deploy TicketBroker, StreamChannels, ServiceRegistry and Staking");
  deploy->add_option("--rpc", f->rpc, "The chain's JSON-RPC URL (http://HOST:PORT)")->capture_default_str();
  deploy->add_option("--key", f->key, "Keystore file of the deploying account")->required();
  deploy->add_option("--password-file", f->password_file,
                     "Keystore password file (else OPENSTREAMING_PASSWORD, else a prompt)");
  deploy->add_option("--out", f->out, "Where to write the deployment (never overwritten)")->capture_default_str();
  deploy->add_option("--artifacts", f->artifacts, "Hardhat's artifacts directory (contracts/artifacts)")
      ->capture_default_str();
  deploy->add_option("--round-blocks", f->params.round_blocks, "TicketBroker: blocks per round")->capture_default_str();
  deploy->add_option("--unlock-rounds", f->params.unlock_rounds, "TicketBroker: rounds from unlock to withdraw")
      ->capture_default_str();
  deploy
      ->add_option("--ticket-valid-rounds", f->params.ticket_valid_rounds,
                   "TicketBroker: rounds a ticket is honoured after its creation round")
      ->capture_default_str();
  deploy->add_option("--challenge-blocks", f->params.challenge_blocks, "StreamChannels: blocks from close to settle")
      ->capture_default_str();
  deploy->add_option("--unbonding-blocks", f->params.unbonding_blocks, "Staking: blocks from unbond to withdraw")
      ->capture_default_str();
  deploy->callback([f, &runner] { runner.run = [f] { return run_deploy(*f); }; });
}

} // namespace openstreaming::cli
