#include "api/evm_deploy.h"

#include "core/hex.h"
#include "platform/files.h"

#include <filesystem>

namespace openstreaming::api {

using nlohmann::json;
namespace abi = ledger::evm::abi;

json Deployment::to_json() const {
  json out = {{"chain_id", chain_id.str()},
              {"deployer", deployer.to_checksum_hex()},
              {"params",
               {{"round_blocks", params.round_blocks},
                {"unlock_rounds", params.unlock_rounds},
                {"ticket_valid_rounds", params.ticket_valid_rounds},
                {"challenge_blocks", params.challenge_blocks},
                {"unbonding_blocks", params.unbonding_blocks}}},
              {"contracts", json::object()}};
  for (const auto& c : contracts) {
    out["contracts"][c.name] = {{"address", c.address.to_checksum_hex()},
                                {"transaction", core::to_hex(c.transaction)},
                                {"block", c.block},
                                {"gas_used", c.gas_used}};
  }
  return out;
}

Result<Bytes> creation_bytecode(const std::string& artifacts_dir, const std::string& name) {
  const auto path = std::filesystem::path(artifacts_dir) / "contracts" / (name + ".sol") / (name + ".json");
  auto text = platform::read_file(path.string(), 16 << 20);
  if (!text)
    return make_error(Errc::not_found,
                      path.string() + ": " + text.error().message +
                          " (compile the contracts: scripts/setup, or `npx hardhat compile` in contracts/)");
  json j = json::parse(*text, nullptr, false);
  if (!j.is_object() || !j.contains("bytecode") || !j["bytecode"].is_string())
    return make_error(Errc::invalid_input, path.string() + ": no bytecode");
  const std::string& hex = j["bytecode"].get_ref<const std::string&>();
  if (hex.find("__$") != std::string::npos)
    return make_error(Errc::unsupported, path.string() + ": the bytecode needs linked libraries");
  auto code = core::from_hex(hex);
  if (!code || code->empty()) return make_error(Errc::invalid_input, path.string() + ": bytecode is not hex");
  return *code;
}

namespace {

Result<Bytes> constructor_args(const std::vector<uint64_t>& args) {
  std::vector<abi::Type> types(args.size(), abi::Type::uint());
  std::vector<abi::Value> values;
  for (uint64_t a : args) values.push_back(abi::Value::uint(U256(a)));
  return abi::encode(types, values);
}

} // namespace

Result<Deployment> deploy_contracts(EvmClient& client, const core::PrivateKey& key, const std::string& artifacts_dir,
                                    const DeployParams& p, std::chrono::milliseconds per_contract) {
  Deployment d;
  d.params = p;
  d.deployer = key.address();
  auto id = client.chain_id();
  if (!id) return id.error();
  d.chain_id = *id;
  const std::vector<std::pair<std::string, std::vector<uint64_t>>> plan = {
      {"TicketBroker", {p.round_blocks, p.unlock_rounds, p.ticket_valid_rounds}},
      {"StreamChannels", {p.challenge_blocks}},
      {"ServiceRegistry", {}},
      {"Staking", {p.unbonding_blocks}},
  };
  for (const auto& [name, args] : plan) {
    auto code = creation_bytecode(artifacts_dir, name);
    if (!code) return code.error();
    auto encoded = constructor_args(args);
    if (!encoded) return encoded.error();
    code->insert(code->end(), encoded->begin(), encoded->end());
    auto tx = client.transact(key, std::nullopt, 0, *code);
    if (!tx) return make_error(tx.error().code, name + ": " + tx.error().message);
    auto receipt = client.wait(*tx, 1, per_contract);
    if (!receipt) return make_error(receipt.error().code, name + ": " + receipt.error().message);
    if (!receipt->success || !receipt->contract)
      return make_error(Errc::io, name + ": the creation transaction " + core::to_hex(*tx) + " failed");
    auto deployed = client.rpc("eth_getCode", {receipt->contract->to_checksum_hex(), "latest"});
    if (!deployed) return deployed.error();
    auto runtime = parse_data(*deployed);
    if (!runtime || runtime->empty())
      return make_error(Errc::io, name + ": no code at " + receipt->contract->to_checksum_hex());
    d.contracts.push_back({name, *receipt->contract, *tx, receipt->block, receipt->gas_used});
  }
  return d;
}

} // namespace openstreaming::api
