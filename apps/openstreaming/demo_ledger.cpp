#include "apps/openstreaming/demo_ledger.h"

#include "api/evm_calls.h"
#include "api/evm_client.h"
#include "api/evm_deploy.h"
#include "api/evm_wallet.h"
#include "api/ledger_link.h"
#include "core/hex.h"
#include "ledger/evm/abi.h"

#include <fstream>
#include <set>

namespace openstreaming::cli::demo {

namespace {

namespace fs = std::filesystem;
namespace abi = ledger::evm::abi;

const core::U256 kDeposit = core::Amount::parse("10ether")->wei();
const core::U256 kReserve = core::Amount::parse("1ether")->wei();

class Embedded final : public DemoLedger {
public:
  Embedded(platform::ChildProcess proc, std::string url) : m_proc(std::move(proc)), m_url(std::move(url)) {}
  std::vector<std::string> node_args() const override { return {"--ledger", m_url}; }
  std::string backend() const override { return "embedded"; }
  std::string url() const override { return m_url; }

  Result<void> fund_payers(const std::vector<Member>& members) override {
    auto u = api::HttpUrl::parse(m_url);
    if (!u) return u.error();
    for (const auto& m : members) {
      if (m.role == "broadcaster") continue;
      auto r = api::ledger_submit(*u, m.key, "fund",
                                  {{"deposit", kDeposit.str() + "wei"}, {"reserve", kReserve.str() + "wei"}});
      if (!r) return r.error();
    }
    return {};
  }
  Result<View> accounts(const std::vector<Member>& members) override {
    std::set<std::string> ours;
    for (const auto& m : members) ours.insert(m.key.address().to_checksum_hex());
    auto u = api::HttpUrl::parse(m_url);
    if (!u) return u.error();
    // ledger_accounts: every account in one answer, so the figures are of one state.
    auto acc = api::ledger_rpc(*u, "ledger_accounts", json::object(), std::chrono::seconds(2));
    if (!acc) return acc.error();
    if (!acc->is_array()) return make_error(Errc::invalid_input, "ledger_accounts: not a list");
    View v;
    for (const auto& a : *acc) {
      std::string addr = a.value("address", "");
      if (ours.count(addr)) v.accounts[addr] = a;
    }
    return v;
  }
  Result<json> status() override {
    auto u = api::HttpUrl::parse(m_url);
    if (!u) return u.error();
    auto st = api::ledger_rpc(*u, "ledger_status", json::object(), std::chrono::seconds(2));
    if (!st) return st.error();
    json s = *st;
    s["backend"] = "embedded";
    return s;
  }
  void stop() override { m_proc.stop(std::chrono::seconds(10)); }

private:
  platform::ChildProcess m_proc;
  std::string m_url;
};

class Chain final : public DemoLedger {
public:
  Chain(platform::ChildProcess proc, api::HttpUrl rpc, std::string contracts, api::Deployment d)
      : m_proc(std::move(proc)), m_rpc(rpc), m_contracts(std::move(contracts)), m_client(rpc), m_wallet(rpc, d),
        m_deployment(std::move(d)) {}
  std::vector<std::string> node_args() const override { return {"--ledger", url(), "--contracts", m_contracts}; }
  std::string backend() const override { return "evm"; }
  std::string url() const override { return "evm+http://" + m_rpc.host + ":" + std::to_string(m_rpc.port); }

  // Every payer's fundDepositAndReserve in flight at once (each from its own
  // key), then each receipt waited for.
  Result<void> fund_payers(const std::vector<Member>& members) override {
    const auto* broker = m_deployment.find("TicketBroker");
    if (!broker) return make_error(Errc::invalid_input, "the deployment has no TicketBroker");
    auto fn = abi::Function::parse("fundDepositAndReserve(uint256,uint256)");
    Bytes data = *fn->encode_call(std::vector{abi::Value::uint(kDeposit), abi::Value::uint(kReserve)});
    std::vector<std::pair<std::string, Hash256>> sent;
    for (const auto& m : members) {
      if (m.role == "broadcaster") continue;
      auto tx = m_client.transact(m.key, broker->address, kDeposit + kReserve, data);
      if (!tx) return make_error(tx.error().code, m.name + "'s deposit: " + tx.error().message);
      sent.emplace_back(m.name, *tx);
    }
    return wait_all(sent, "deposit");
  }
  // Every account and the fees at one block: the head when the call starts.
  Result<View> accounts(const std::vector<Member>& members) override {
    auto head = m_client.block_number();
    if (!head) return head.error();
    View v;
    for (const auto& m : members) {
      auto a = m_wallet.account(m.key.address(), *head);
      if (!a) return a.error();
      v.accounts[m.key.address().to_checksum_hex()] = *a;
    }
    auto fees = fees_to(members, *head);
    if (!fees) return fees.error();
    v.fees = *fees;
    return v;
  }
  Result<json> status() override { return m_wallet.status(); }
  void stop() override { m_proc.stop(std::chrono::seconds(10)); }

  Result<void> wait_all(const std::vector<std::pair<std::string, Hash256>>& sent, const std::string& what) {
    for (const auto& [name, tx] : sent) {
      auto receipt = m_client.wait(tx, 1, std::chrono::seconds(60));
      if (!receipt) return make_error(receipt.error().code, name + "'s " + what + ": " + receipt.error().message);
      if (!receipt->success) return make_error(Errc::io, name + "'s " + what + " reverted");
    }
    return {};
  }
  api::EvmClient& client() { return m_client; }

private:
  // What the members paid for gas in blocks 0..`to`: blocks below the head do
  // not change, so each is read once and a running sum kept.
  Result<core::U256> fees_to(const std::vector<Member>& members, uint64_t to) {
    if (m_fees_next > to) return m_fees;
    std::set<core::Address> ours;
    for (const auto& m : members) ours.insert(m.key.address());
    auto more = api::evm_calls::fees_paid(m_client, ours, m_fees_next, to);
    if (!more) return more.error();
    m_fees += *more;
    m_fees_next = to + 1;
    return m_fees;
  }

  platform::ChildProcess m_proc;
  api::HttpUrl m_rpc;
  std::string m_contracts;
  api::EvmClient m_client;
  api::EvmWallet m_wallet;
  api::Deployment m_deployment;
  uint64_t m_fees_next = 0;
  core::U256 m_fees{0};
};

} // namespace

Result<std::unique_ptr<DemoLedger>> start_embedded_ledger(const fs::path& exe, const fs::path& dir,
                                                          const std::vector<Member>& members) {
  json accounts = json::object();
  for (const auto& m : members) accounts[m.key.address().to_checksum_hex()] = kStartFunds;
  std::ofstream(dir / "genesis.json")
      << json{{"chain_id", 1337}, {"block_ms", 500}, {"round_blocks", 10}, {"accounts", accounts}}.dump(1);
  auto proc = platform::ChildProcess::spawn({exe.string(), "ledger", "--data-dir", (dir / "ledger").string(),
                                             "--listen", "127.0.0.1:0", "--genesis", (dir / "genesis.json").string()},
                                            {}, (dir / "ledger.out").string(), (dir / "ledger.log").string());
  if (!proc) return proc.error();
  auto line = proc->wait_for_line("listening rpc ", std::chrono::seconds(20));
  if (!line) return make_error(Errc::io, "the ledger did not start (see " + (dir / "ledger.log").string() + ")");
  std::string url = "http://" + line->substr(std::string("listening rpc ").size());
  return std::unique_ptr<DemoLedger>(std::make_unique<Embedded>(std::move(*proc), std::move(url)));
}

Result<std::unique_ptr<DemoLedger>> start_anvil_chain(const ChainOptions& o, const fs::path& dir,
                                                      const std::vector<Member>& members) {
  if (!fs::exists(o.anvil))
    return make_error(Errc::invalid_input,
                      "--anvil: no Anvil binary at " + o.anvil + " (run scripts/setup: npm ci in contracts/)");
  auto proc = platform::ChildProcess::spawn(
      {o.anvil, "--host", "127.0.0.1", "--port", "0", "--chain-id", "31337", "--block-time", "1"}, {},
      (dir / "anvil.out").string(), (dir / "anvil.log").string());
  if (!proc) return proc.error();
  auto line = proc->wait_for_line("Listening on ", std::chrono::seconds(30));
  if (!line) return make_error(Errc::io, "anvil did not start (see " + (dir / "anvil.out").string() + ")");
  auto rpc = api::HttpUrl::parse("http://" + line->substr(std::string("Listening on ").size()) + "/");
  if (!rpc) return make_error(Errc::io, "anvil printed an address we cannot read: " + *line);

  // The contracts, as `openstreaming contracts deploy` deploys them: 5-block
  // rounds (5 s), tickets honoured 4 rounds, the rest the embedded defaults.
  api::EvmClient client(*rpc);
  api::DeployParams params;
  params.round_blocks = 5;
  auto d = api::deploy_contracts(client, api::anvil_dev_key(), o.artifacts, params);
  if (!d) return make_error(d.error().code, "contracts deploy: " + d.error().message);
  const std::string contracts = (dir / "deployments.json").string();
  std::error_code ec;
  fs::remove(contracts, ec); // a --data-dir kept from an earlier run holds another chain's
  if (auto w = platform::write_new_file(contracts, d->to_json().dump(2) + "\n", 0644); !w) return w.error();

  auto chain = std::make_unique<Chain>(std::move(*proc), *rpc, contracts, *d);
  // 100 ether to every member, all transfers in flight at once (the nonces
  // follow from the pending count), then each receipt.
  const core::U256 start = core::Amount::parse(kStartFunds)->wei();
  std::vector<std::pair<std::string, Hash256>> sent;
  for (const auto& m : members) {
    auto tx = chain->client().transact(api::anvil_dev_key(), m.key.address(), start, {});
    if (!tx) return make_error(tx.error().code, "funding " + m.name + ": " + tx.error().message);
    sent.emplace_back(m.name, *tx);
  }
  if (auto w = chain->wait_all(sent, "funding"); !w) return w.error();
  return std::unique_ptr<DemoLedger>(std::move(chain));
}

} // namespace openstreaming::cli::demo
