// openstreaming wallet: accounts on a ledger (docs/cli.md, docs/ledger.md).
// Every subcommand talks JSON-RPC to --ledger: the embedded ledger, or an EVM
// chain (evm+http://… with --contracts); the ones that sign load --key.
#include "api/evm_ledger.h"
#include "api/http_client.h"
#include "api/ledger_link.h"
#include "apps/openstreaming/cli.h"
#include "core/amount.h"
#include "platform/key_files.h"

#include <nlohmann/json.hpp>

#include <memory>

namespace openstreaming::cli {

namespace {

using nlohmann::json;

struct WalletFlags {
  std::string ledger = "http://127.0.0.1:8545";
  std::string key, password_file;
  std::string address;
  bool json_out = false;
  std::string deposit = "0wei", reserve = "0wei";
  std::string to, amount;
  std::string contracts; // deployments.json, for an evm+ ledger
};

bool is_evm(const WalletFlags& f) {
  return f.ledger.rfind("evm+", 0) == 0;
}

// The EVM wallet for an evm+ ledger (checked flags).
Result<std::unique_ptr<api::EvmWallet>> evm_wallet(const WalletFlags& f) {
  if (f.contracts.empty())
    return make_error(Errc::invalid_input, "--ledger " + f.ledger + " needs --contracts deployments.json");
  auto url = api::HttpUrl::parse(f.ledger.substr(4));
  if (!url) return url.error();
  auto d = api::load_deployment(f.contracts);
  if (!d) return make_error(d.error().code, "--contracts " + d.error().message);
  return std::make_unique<api::EvmWallet>(*url, std::move(*d));
}

Result<void> check_flags(const WalletFlags& f) {
  if (!is_evm(f) && !f.contracts.empty())
    return make_error(Errc::invalid_input, "--contracts is for an EVM ledger (--ledger evm+http://HOST:PORT)");
  return {};
}

Result<json> rpc(const std::string& url, const std::string& method, json params) {
  auto u = api::HttpUrl::parse(url);
  if (!u) return u.error();
  return api::ledger_rpc(*u, method, std::move(params));
}

Result<core::PrivateKey> key_of(const WalletFlags& f) {
  if (f.key.empty()) return make_error(Errc::invalid_input, "--key FILE is required to sign");
  platform::PasswordRequest pw;
  if (!f.password_file.empty()) pw.file = f.password_file;
  return platform::load_key_file(f.key, pw);
}

// Signs and submits one transaction with the account's next nonce.
int submit(const WalletFlags& f, const std::string& kind, json args) {
  if (auto c = check_flags(f); !c) return fail(c.error());
  auto key = key_of(f);
  if (!key) return fail(key.error());
  if (is_evm(f)) {
    auto w = evm_wallet(f);
    if (!w) return fail(w.error());
    auto r = (*w)->send(*key, kind, args);
    if (!r) return fail(r.error());
    std::cout << r->dump() << "\n";
    return kOk;
  }
  auto url = api::HttpUrl::parse(f.ledger);
  if (!url) return fail(url.error());
  auto r = api::ledger_submit(*url, *key, kind, std::move(args));
  if (!r) return fail(r.error());
  std::cout << r->dump() << "\n";
  return kOk;
}

Result<std::string> amount_text(const std::string& flag, const std::string& text) {
  auto a = core::Amount::parse(text);
  if (!a) return make_error(Errc::invalid_input, flag + ": " + a.error().message + " (e.g. 1ether, 20gwei, 5000wei)");
  return a->to_wei_string() + "wei";
}

void print_account(const json& a, bool as_json) {
  json out = {{"balance", a["balance"]},
              {"deposit", a["deposit"]},
              {"reserve", a["reserve"]},
              {"stake", a["stake"]},
              {"withdraw_round", a["withdraw_round"]}};
  if (as_json) {
    std::cout << out.dump() << "\n";
    return;
  }
  auto show = [](const json& wei) { return core::Amount::from_decimal_wei(wei.get<std::string>())->to_display(); };
  std::cout << "balance  " << show(a["balance"]) << "\ndeposit  " << show(a["deposit"]) << "\nreserve  "
            << show(a["reserve"]) << "\nstake    " << show(a["stake"]) << "\n";
  if (a["withdraw_round"].get<uint64_t>() != 0) std::cout << "withdrawable from round " << a["withdraw_round"] << "\n";
}

} // namespace

void add_wallet_command(CLI::App& app, Runner& runner) {
  auto f = std::make_shared<WalletFlags>();
  CLI::App* cmd = app.add_subcommand("wallet", "Accounts on a ledger: balances, deposits, transfers, tickets");
  cmd->require_subcommand(1);
  auto common = [&](CLI::App* sub, bool signs) {
    sub->add_option("--ledger", f->ledger, "Ledger: http://HOST:PORT (embedded) or evm+http://HOST:PORT")
        ->capture_default_str();
    sub->add_option("--contracts", f->contracts, "deployments.json of `contracts deploy` (EVM ledger only)");
    if (signs) {
      sub->add_option("--key", f->key, "Keystore file of the account")->required();
      sub->add_option("--password-file", f->password_file,
                      "Keystore password file (else OPENSTREAMING_PASSWORD, else a prompt)");
    }
  };
  CLI::App* balance = cmd->add_subcommand("balance", "Show an account");
  balance->add_option("ADDRESS", f->address, "The account")->required();
  balance->add_flag("--json", f->json_out, "JSON with decimal wei strings");
  common(balance, false);
  balance->callback([f, &runner] {
    runner.run = [f]() -> int {
      if (auto c = check_flags(*f); !c) return fail(c.error());
      auto a = core::Address::parse(f->address);
      if (!a) return fail(a.error());
      Result<json> r = json();
      if (is_evm(*f)) {
        auto w = evm_wallet(*f);
        if (!w) return fail(w.error());
        r = (*w)->account(*a);
      } else {
        r = rpc(f->ledger, "ledger_getAccount", {{"address", a->to_checksum_hex()}});
      }
      if (!r) return fail(r.error());
      print_account(*r, f->json_out);
      return kOk;
    };
  });
  CLI::App* deposit = cmd->add_subcommand("deposit", "Move balance into the ticket deposit and reserve");
  deposit->add_option("--deposit", f->deposit, "Amount for the deposit (e.g. 1ether)");
  deposit->add_option("--reserve", f->reserve, "Amount for the reserve");
  common(deposit, true);
  deposit->callback([f, &runner] {
    runner.run = [f]() -> int {
      auto d = amount_text("--deposit", f->deposit);
      auto r = amount_text("--reserve", f->reserve);
      if (!d) return fail(d.error());
      if (!r) return fail(r.error());
      return submit(*f, "fund", {{"deposit", *d}, {"reserve", *r}});
    };
  });
  CLI::App* unlock = cmd->add_subcommand("unlock", "Start unlocking deposit and reserve");
  common(unlock, true);
  unlock->callback([f, &runner] { runner.run = [f] { return submit(*f, "unlock", json::object()); }; });
  CLI::App* withdraw = cmd->add_subcommand("withdraw", "Withdraw an unlocked deposit and reserve to the balance");
  common(withdraw, true);
  withdraw->callback([f, &runner] { runner.run = [f] { return submit(*f, "withdraw", json::object()); }; });
  CLI::App* transfer = cmd->add_subcommand("transfer", "Send balance to another account");
  transfer->add_option("--to", f->to, "Recipient address")->required();
  transfer->add_option("--amount", f->amount, "Amount (e.g. 1ether)")->required();
  common(transfer, true);
  transfer->callback([f, &runner] {
    runner.run = [f]() -> int {
      auto to = core::Address::parse(f->to);
      if (!to) return fail(make_error(Errc::invalid_input, "--to: " + to.error().message));
      auto a = amount_text("--amount", f->amount);
      if (!a) return fail(a.error());
      return submit(*f, "transfer", {{"to", to->to_checksum_hex()}, {"amount", *a}});
    };
  });
  CLI::App* accounts = cmd->add_subcommand("accounts", "Every account (JSON)");
  common(accounts, false);
  accounts->callback([f, &runner] {
    runner.run = [f]() -> int {
      if (auto c = check_flags(*f); !c) return fail(c.error());
      if (is_evm(*f))
        return fail(
            make_error(Errc::unsupported, "an EVM chain keeps no list of accounts: use `wallet balance ADDRESS`"));
      auto r = rpc(f->ledger, "ledger_accounts", json::object());
      if (!r) return fail(r.error());
      json out = json::array();
      for (const auto& a : *r) {
        out.push_back({{"address", a["address"]},
                       {"balance", a["balance"]},
                       {"deposit", a["deposit"]},
                       {"reserve", a["reserve"]},
                       {"stake", a["stake"]},
                       {"withdraw_round", a["withdraw_round"]}});
      }
      std::cout << out.dump() << "\n";
      return kOk;
    };
  });
  CLI::App* tickets = cmd->add_subcommand("tickets", "Tickets the key's owner redeemed on this ledger (JSON)");
  common(tickets, true);
  tickets->callback([f, &runner] {
    runner.run = [f]() -> int {
      if (auto c = check_flags(*f); !c) return fail(c.error());
      auto key = key_of(*f);
      if (!key) return fail(key.error());
      Result<json> r = json();
      if (is_evm(*f)) {
        auto w = evm_wallet(*f);
        if (!w) return fail(w.error());
        r = (*w)->tickets(key->address());
      } else {
        r = rpc(f->ledger, "ledger_tickets", {{"address", key->address().to_checksum_hex()}});
        // One shape for both backends: the embedded ledger's entries are whole
        // tickets (camelCase, as signed); they gain the EVM wallet's field names.
        if (r && r->contains("tickets") && (*r)["tickets"].is_array()) {
          for (auto& t : (*r)["tickets"]) {
            if (t.is_object() && t.contains("faceValue")) t["face_value"] = t["faceValue"];
          }
        }
      }
      if (!r) return fail(r.error());
      std::cout << r->dump() << "\n";
      return kOk;
    };
  });
}

} // namespace openstreaming::cli
