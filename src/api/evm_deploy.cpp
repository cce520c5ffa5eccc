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

Result<Deployment> Deployment::from_json(const json& j) {
  auto bad = [](const std::string& why) { return make_error(Errc::invalid_input, "deployments.json: " + why); };
  if (!j.is_object()) return bad("not an object");
  Deployment d;
  if (!j.contains("chain_id") || !j["chain_id"].is_string()) return bad("no chain_id");
  auto id = core::Amount::from_decimal_wei(j["chain_id"].get<std::string>());
  if (!id || id->wei() == 0) return bad("chain_id is not a positive decimal number");
  d.chain_id = id->wei();
  if (j.contains("deployer") && j["deployer"].is_string()) {
    if (auto a = core::Address::parse(j["deployer"].get<std::string>())) d.deployer = *a;
  }
  if (j.contains("params") && j["params"].is_object()) {
    const json& p = j["params"];
    auto number = [&](const char* key, uint64_t& out) {
      if (p.contains(key) && p[key].is_number_unsigned()) out = p[key].get<uint64_t>();
    };
    number("round_blocks", d.params.round_blocks);
    number("unlock_rounds", d.params.unlock_rounds);
    number("ticket_valid_rounds", d.params.ticket_valid_rounds);
    number("challenge_blocks", d.params.challenge_blocks);
    number("unbonding_blocks", d.params.unbonding_blocks);
  }
  if (!j.contains("contracts") || !j["contracts"].is_object()) return bad("no contracts");
  for (const auto& [name, c] : j["contracts"].items()) {
    if (name.empty() || name.size() > 64) return bad("a contract name is empty or too long");
    if (!c.is_object() || !c.contains("address") || !c["address"].is_string()) return bad(name + ": no address");
    auto a = core::Address::parse(c["address"].get<std::string>());
    if (!a) return bad(name + ": " + a.error().message);
    DeployedContract dc;
    dc.name = name;
    dc.address = *a;
    if (c.contains("block") && c["block"].is_number_unsigned()) dc.block = c["block"].get<uint64_t>();
    if (c.contains("gas_used") && c["gas_used"].is_number_unsigned()) dc.gas_used = c["gas_used"].get<uint64_t>();
    if (c.contains("transaction") && c["transaction"].is_string()) {
      if (auto h = core::from_hex_fixed<32>(c["transaction"].get<std::string>()))
        std::copy(h->begin(), h->end(), dc.transaction.begin());
    }
    d.contracts.push_back(std::move(dc));
  }
  return d;
}

const DeployedContract* Deployment::find(std::string_view name) const {
  for (const auto& c : contracts) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

Result<Deployment> load_deployment(const std::string& path) {
  auto text = platform::read_file(path, 1 << 20);
  if (!text) return make_error(text.error().code, path + ": " + text.error().message);
  json j = json::parse(*text, nullptr, false);
  if (j.is_discarded()) return make_error(Errc::invalid_input, path + ": not JSON");
  auto d = Deployment::from_json(j);
  if (!d) return make_error(d.error().code, path + ": " + d.error().message);
  return d;
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

core::PrivateKey anvil_dev_key() {
  return *core::PrivateKey::from_bytes(
      *core::from_hex("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"));
}

} // namespace openstreaming::api
