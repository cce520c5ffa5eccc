// openstreaming wallet: accounts on a ledger (docs/cli.md, docs/ledger.md).
// Every subcommand talks JSON-RPC to --ledger: the embedded ledger, or an EVM
// chain (evm+http://… with --contracts); the ones that sign load --key.
#include "api/evm_wallet.h"
#include "api/http_client.h"
#include "api/ledger_link.h"
#include "apps/openstreaming/cli.h"
#include "core/amount.h"
#include "core/hex.h"
#include "ledger/state.h"
#include "platform/key_files.h"
#include "platform/system_random.h"

#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <memory>
#include <tuple>

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
  uint64_t lock = 0;
  std::string payee, channel, cumulative, signature, salt;
  uint64_t expiry_blocks = 10'000;
  std::string endpoint, region, roles;
  std::vector<std::string> offers;
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

// A read that both backends answer with the same shape: the embedded ledger's
// JSON-RPC method, or the EVM wallet's reader.
int read(const WalletFlags& f, const std::string& method, json params,
         const std::function<Result<json>(api::EvmWallet&)>& on_chain) {
  if (auto c = check_flags(f); !c) return fail(c.error());
  Result<json> r = json();
  if (is_evm(f)) {
    auto w = evm_wallet(f);
    if (!w) return fail(w.error());
    r = on_chain(**w);
  } else {
    r = rpc(f.ledger, method, std::move(params));
  }
  if (!r) return fail(r.error());
  std::cout << r->dump() << "\n";
  return kOk;
}

// The ledger's head: the block the next transaction can be in is after it.
Result<uint64_t> head(const WalletFlags& f) {
  Result<json> st = json();
  if (is_evm(f)) {
    auto w = evm_wallet(f);
    if (!w) return w.error();
    st = (*w)->status();
  } else {
    st = rpc(f.ledger, "ledger_status", json::object());
  }
  if (!st) return st.error();
  if (!st->contains("height") || !(*st)["height"].is_number_unsigned())
    return make_error(Errc::invalid_input, "the ledger's status has no height");
  return (*st)["height"].get<uint64_t>();
}

// The EIP-712 domain a channel's vouchers are signed under: the embedded
// ledger's, or the StreamChannels contract's.
Result<pay::TicketDomain> voucher_domain(const WalletFlags& f) {
  if (is_evm(f)) {
    auto w = evm_wallet(f);
    if (!w) return w.error();
    return (*w)->voucher_domain();
  }
  auto st = rpc(f.ledger, "ledger_status", json::object());
  if (!st) return st.error();
  const json& d = st->value("domain", json::object());
  auto contract = core::Address::parse(d.value("verifyingContract", ""));
  if (!contract || !d.contains("chainId") || !d["chainId"].is_string())
    return make_error(Errc::invalid_input, "the ledger's status has no domain");
  pay::TicketDomain domain;
  try {
    domain.chain_id = core::U256(d["chainId"].get<std::string>());
  } catch (const std::exception&) {
    return make_error(Errc::invalid_input, "the ledger's domain has a malformed chainId");
  }
  domain.verifying_contract = *contract;
  return domain;
}

Result<Hash256> channel_arg(const std::string& text) {
  auto h = core::from_hex_fixed<32>(text);
  if (!h) return make_error(Errc::invalid_input, "--channel: not a channel id (32 bytes of hex)");
  return *h;
}

// "relay,orchestrator" -> the registry's role bits.
Result<uint64_t> roles_arg(const std::string& text) {
  static const std::map<std::string, uint64_t> kBits = {
      {"relay", 1}, {"transcoder", 2}, {"orchestrator", 4}, {"broadcaster", 8}, {"validator", 16}};
  uint64_t bits = 0;
  std::size_t at = 0;
  while (at <= text.size()) {
    std::size_t comma = text.find(',', at);
    std::string name = text.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
    auto it = kBits.find(name);
    if (it == kBits.end())
      return make_error(Errc::invalid_input,
                        "--roles: '" + name +
                            "' is not a role (relay, transcoder, orchestrator, broadcaster, validator)");
    bits |= it->second;
    if (comma == std::string::npos) break;
    at = comma + 1;
  }
  return bits;
}

// --endpoint/--region/--roles/--offer CAP=PRICE as a register/update's arguments.
Result<json> service_args(const WalletFlags& f) {
  auto roles = roles_arg(f.roles);
  if (!roles) return roles.error();
  json offers = json::array();
  for (const auto& o : f.offers) {
    auto eq = o.rfind('=');
    if (eq == std::string::npos || eq == 0)
      return make_error(Errc::invalid_input, "--offer: '" + o + "' is not CAPABILITY=PRICE (e.g. h264/480p30=2wei)");
    auto price = amount_text("--offer " + o.substr(0, eq), o.substr(eq + 1));
    if (!price) return price.error();
    offers.push_back({{"capability", o.substr(0, eq)}, {"price", *price}});
  }
  return json{{"endpoint", f.endpoint}, {"region", f.region}, {"roles", *roles}, {"offers", offers}};
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
  // ---- Stake (Staking on a chain) ----
  CLI::App* stake = cmd->add_subcommand("stake", "Show an account's stake and unbonding locks (JSON)");
  stake->add_option("ADDRESS", f->address, "The account")->required();
  common(stake, false);
  stake->callback([f, &runner] {
    runner.run = [f]() -> int {
      auto a = core::Address::parse(f->address);
      if (!a) return fail(a.error());
      return read(*f, "ledger_getStake", {{"address", a->to_checksum_hex()}},
                  [&](api::EvmWallet& w) { return w.stake(*a); });
    };
  });
  for (const char* op : {"bond", "unbond"}) {
    CLI::App* sub = cmd->add_subcommand(
        op, std::string(op) == "bond" ? "Bond balance as stake"
                                      : "Start unbonding stake (a lock, withdrawable after the unbonding period)");
    sub->add_option("--amount", f->amount, "Amount (e.g. 1ether)")->required();
    common(sub, true);
    sub->callback([f, &runner, op] {
      runner.run = [f, op]() -> int {
        auto a = amount_text("--amount", f->amount);
        if (!a) return fail(a.error());
        return submit(*f, op, {{"amount", *a}});
      };
    });
  }
  for (auto [op, kind, what] : {std::tuple{"rebond", "rebond", "Return an unbonding lock to the bonded stake"},
                                std::tuple{"withdraw-stake", "withdraw_stake", "Withdraw a matured unbonding lock"}}) {
    CLI::App* sub = cmd->add_subcommand(op, what);
    sub->add_option("--lock", f->lock, "The lock's id (wallet stake lists them)")->required();
    common(sub, true);
    sub->callback([f, &runner, kind = std::string(kind)] {
      runner.run = [f, kind] { return submit(*f, kind, {{"lock", f->lock}}); };
    });
  }

  // ---- Payment channels (StreamChannels on a chain) ----
  CLI::App* channel = cmd->add_subcommand("channel", "One-way payment channels paid by cumulative vouchers");
  channel->require_subcommand(1);
  CLI::App* open = channel->add_subcommand("open", "Open a channel to a payee (prints its id)");
  open->add_option("--payee", f->payee, "The payee's address")->required();
  open->add_option("--amount", f->amount, "The deposit (e.g. 1ether)")->required();
  open->add_option("--expiry-blocks", f->expiry_blocks,
                   "Blocks from now until the channel expires (the payee may claim until then; at least the "
                   "challenge period)")
      ->capture_default_str();
  open->add_option("--salt", f->salt, "32 bytes of hex that make the id new (default: random)");
  common(open, true);
  open->callback([f, &runner] {
    runner.run = [f]() -> int {
      if (auto c = check_flags(*f); !c) return fail(c.error());
      auto payee = core::Address::parse(f->payee);
      if (!payee) return fail(make_error(Errc::invalid_input, "--payee: " + payee.error().message));
      auto a = amount_text("--amount", f->amount);
      if (!a) return fail(a.error());
      Hash256 salt{};
      if (f->salt.empty()) {
        platform::SystemRandom().fill(salt);
      } else if (auto h = core::from_hex_fixed<32>(f->salt)) {
        salt = *h;
      } else {
        return fail(make_error(Errc::invalid_input, "--salt: not 32 bytes of hex"));
      }
      auto h = head(*f);
      if (!h) return fail(h.error());
      return submit(*f, "open_channel",
                    {{"payee", payee->to_checksum_hex()},
                     {"amount", *a},
                     {"expiry", *h + f->expiry_blocks},
                     {"salt", core::to_hex(salt)}});
    };
  });
  CLI::App* top_up = channel->add_subcommand("top-up", "Add to an open channel's deposit (payer)");
  top_up->add_option("--channel", f->channel, "The channel's id")->required();
  top_up->add_option("--amount", f->amount, "Amount (e.g. 1ether)")->required();
  common(top_up, true);
  top_up->callback([f, &runner] {
    runner.run = [f]() -> int {
      auto id = channel_arg(f->channel);
      if (!id) return fail(id.error());
      auto a = amount_text("--amount", f->amount);
      if (!a) return fail(a.error());
      return submit(*f, "top_up", {{"channel", core::to_hex(*id)}, {"amount", *a}});
    };
  });
  CLI::App* voucher =
      channel->add_subcommand("voucher", "Sign a voucher for a cumulative amount (payer; no transaction)");
  voucher->add_option("--channel", f->channel, "The channel's id")->required();
  voucher->add_option("--cumulative", f->cumulative, "Everything paid through the channel so far (e.g. 0.5ether)")
      ->required();
  common(voucher, true);
  voucher->callback([f, &runner] {
    runner.run = [f]() -> int {
      if (auto c = check_flags(*f); !c) return fail(c.error());
      auto id = channel_arg(f->channel);
      if (!id) return fail(id.error());
      auto cum = core::Amount::parse(f->cumulative);
      if (!cum) return fail(make_error(Errc::invalid_input, "--cumulative: " + cum.error().message));
      auto key = key_of(*f);
      if (!key) return fail(key.error());
      auto domain = voucher_domain(*f);
      if (!domain) return fail(domain.error());
      auto sig = core::sign_hash(*key, ledger::voucher_hash(*domain, *id, cum->wei()));
      std::cout << json{{"channel", core::to_hex(*id)},
                        {"cumulative", cum->to_wei_string()},
                        {"signature", sig.to_hex()}}
                       .dump()
                << "\n";
      return kOk;
    };
  });
  CLI::App* claim = channel->add_subcommand("claim", "Claim cumulative − paid with the payer's voucher (payee)");
  claim->add_option("--channel", f->channel, "The channel's id")->required();
  claim->add_option("--cumulative", f->cumulative, "The voucher's cumulative amount")->required();
  claim->add_option("--signature", f->signature, "The voucher's signature (hex)")->required();
  common(claim, true);
  claim->callback([f, &runner] {
    runner.run = [f]() -> int {
      auto id = channel_arg(f->channel);
      if (!id) return fail(id.error());
      auto cum = amount_text("--cumulative", f->cumulative);
      if (!cum) return fail(cum.error());
      return submit(*f, "claim", {{"channel", core::to_hex(*id)}, {"cumulative", *cum}, {"signature", f->signature}});
    };
  });
  for (auto [op, kind, what] : {std::tuple{"close", "close_channel", "Start the challenge period (payer)"},
                                std::tuple{"settle", "settle_channel",
                                           "Return the rest to the payer after the challenge period or the expiry"}}) {
    CLI::App* sub = channel->add_subcommand(op, what);
    sub->add_option("--channel", f->channel, "The channel's id")->required();
    common(sub, true);
    sub->callback([f, &runner, kind = std::string(kind)] {
      runner.run = [f, kind]() -> int {
        auto id = channel_arg(f->channel);
        if (!id) return fail(id.error());
        return submit(*f, kind, {{"channel", core::to_hex(*id)}});
      };
    });
  }
  CLI::App* show = channel->add_subcommand("show", "Show a channel (JSON)");
  show->add_option("ID", f->channel, "The channel's id")->required();
  common(show, false);
  show->callback([f, &runner] {
    runner.run = [f]() -> int {
      auto id = channel_arg(f->channel);
      if (!id) return fail(id.error());
      return read(*f, "ledger_getChannel", {{"channel", core::to_hex(*id)}},
                  [&](api::EvmWallet& w) { return w.channel(*id); });
    };
  });
  CLI::App* list = channel->add_subcommand("list", "The channels an account pays or is paid by (JSON)");
  list->add_option("ADDRESS", f->address, "The account")->required();
  common(list, false);
  list->callback([f, &runner] {
    runner.run = [f]() -> int {
      auto a = core::Address::parse(f->address);
      if (!a) return fail(a.error());
      return read(*f, "ledger_channels", {{"address", a->to_checksum_hex()}},
                  [&](api::EvmWallet& w) { return w.channels(*a); });
    };
  });

  // ---- The service registry (ServiceRegistry on a chain) ----
  for (auto [op, what] : {std::pair{"register", "Register the key's service: endpoint, roles, offers"},
                          std::pair{"update", "Replace the key's service record"}}) {
    CLI::App* sub = cmd->add_subcommand(op, what);
    sub->add_option("--endpoint", f->endpoint, "Where the service is reached (e.g. node.example:7000)")->required();
    sub->add_option("--roles", f->roles, "Comma-separated: relay, transcoder, orchestrator, broadcaster, validator")
        ->required();
    sub->add_option("--region", f->region, "Free-form region (e.g. eu-west)");
    sub->add_option("--offer", f->offers, "CAPABILITY=PRICE, repeatable (e.g. h264/480p30=2wei: wei per unit)");
    common(sub, true);
    sub->callback([f, &runner, kind = std::string(op)] {
      runner.run = [f, kind]() -> int {
        auto args = service_args(*f);
        if (!args) return fail(args.error());
        return submit(*f, kind, *args);
      };
    });
  }
  CLI::App* deregister = cmd->add_subcommand("deregister", "Remove the key's service record");
  common(deregister, true);
  deregister->callback([f, &runner] { runner.run = [f] { return submit(*f, "deregister", json::object()); }; });
  CLI::App* services = cmd->add_subcommand("services", "Registered services (JSON)");
  common(services, false);
  services->callback([f, &runner] {
    runner.run = [f]() -> int {
      return read(*f, "ledger_services", json::object(), [](api::EvmWallet& w) { return w.services(); });
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
