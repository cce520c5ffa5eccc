// openstreaming keys new|show|sign|verify (docs/cli.md).
#include "apps/openstreaming/cli.h"
#include "core/eip191.h"
#include "core/hex.h"
#include "core/keystore.h"
#include "platform/files.h"
#include "platform/key_files.h"
#include "platform/system_random.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <memory>

namespace openstreaming::cli {

namespace {

struct KeysOptions {
  std::string out;
  std::string file;
  std::string password_file;
  std::string message;
  std::string address;
  std::string signature;
  bool json = false;
  bool light_kdf = false;
};

platform::PasswordRequest password_request(const KeysOptions& o, bool confirm) {
  platform::PasswordRequest r;
  if (!o.password_file.empty()) r.file = o.password_file;
  r.confirm = confirm;
  return r;
}

int run_new(const KeysOptions& o) {
  if (std::filesystem::exists(o.out)) {
    return fail(make_error(Errc::already_exists, o.out + " already exists; refusing to overwrite it"));
  }
  auto password = platform::obtain_password(password_request(o, /*confirm=*/true));
  if (!password) return fail(password.error());
  if (password->empty()) return fail(make_error(Errc::invalid_input, "empty password; refusing to write an unprotected key"));
  platform::SystemRandom random;
  auto key = core::PrivateKey::generate(random);
  auto params = o.light_kdf ? core::keystore::ScryptParams::light() : core::keystore::ScryptParams::standard();
  std::string json = core::keystore::encrypt(key, *password, random, params);
  if (auto w = platform::write_new_file(o.out, json, 0600); !w) return fail(w.error());
  std::cout << key.address().to_checksum_hex() << "\n";
  return kOk;
}

int run_show(const KeysOptions& o) {
  auto key = platform::load_key_file(o.file, password_request(o, false));
  if (!key) return fail(key.error());
  std::string address = key->address().to_checksum_hex();
  std::string public_key = core::to_hex(key->public_key().uncompressed());
  if (o.json) {
    std::cout << nlohmann::json{{"address", address}, {"public_key", public_key}}.dump() << "\n";
  } else {
    std::cout << "address     " << address << "\npublic_key  " << public_key << "\n";
  }
  return kOk;
}

int run_sign(const KeysOptions& o) {
  auto key = platform::load_key_file(o.file, password_request(o, false));
  if (!key) return fail(key.error());
  std::cout << core::sign_personal_message(*key, as_bytes(o.message)).to_hex() << "\n";
  return kOk;
}

int run_verify(const KeysOptions& o) {
  auto address = core::Address::parse(o.address);
  if (!address) return fail(make_error(address.error().code, "--address: " + address.error().message));
  auto raw = core::from_hex(o.signature);
  if (!raw) return fail(make_error(raw.error().code, "--signature: " + raw.error().message));
  if (raw->size() != 65) {
    return fail(make_error(Errc::bad_length, "--signature must be 65 bytes (130 hex digits), got " +
                                                 std::to_string(raw->size()) + " bytes"));
  }
  auto sig = core::RecoverableSignature::parse(*raw);
  if (!sig) {
    std::cout << "invalid\n";
    std::cerr << "reason: " << sig.error().message << "\n";
    return kCheckFailed;
  }
  auto signer = core::recover_personal_signer(as_bytes(o.message), *sig);
  if (!signer || *signer != *address) {
    std::cout << "invalid\n";
    std::cerr << "reason: "
              << (signer ? "signed by " + signer->to_checksum_hex() + ", not " + address->to_checksum_hex()
                         : signer.error().message)
              << "\n";
    return kCheckFailed;
  }
  std::cout << "valid\n";
  return kOk;
}

} // namespace

void add_keys_command(CLI::App& app, Runner& runner) {
  auto opts = std::make_shared<KeysOptions>();
  CLI::App* keys = app.add_subcommand("keys", "Create and use node keys (Web3 Secret Storage v3 keystores)");
  keys->require_subcommand(1);
  const char* pw_help = "Read the password from this file (else OPENSTREAMING_PASSWORD, else a prompt)";

  CLI::App* create = keys->add_subcommand("new", "Create a new key; prints its EIP-55 address");
  create->add_option("--out", opts->out, "Keystore file to create (never overwritten)")->required();
  create->add_option("--password-file", opts->password_file, pw_help);
  create->add_flag("--light-kdf", opts->light_kdf, "Cheaper scrypt (n=4096, p=6) for tests and throwaway keys");
  create->callback([opts, &runner] { runner.run = [opts] { return run_new(*opts); }; });

  CLI::App* show = keys->add_subcommand("show", "Print a key's address and uncompressed public key");
  show->add_option("FILE", opts->file, "Keystore file")->required();
  show->add_flag("--json", opts->json, R"(Print {"address": ..., "public_key": ...})");
  show->add_option("--password-file", opts->password_file, pw_help);
  show->callback([opts, &runner] { runner.run = [opts] { return run_show(*opts); }; });

  CLI::App* sign = keys->add_subcommand("sign", "Sign a message (EIP-191 personal_sign); prints 0x + 65 bytes");
  sign->add_option("FILE", opts->file, "Keystore file")->required();
  sign->add_option("--message", opts->message, "The message text")->required();
  sign->add_option("--password-file", opts->password_file, pw_help);
  sign->callback([opts, &runner] { runner.run = [opts] { return run_sign(*opts); }; });

  CLI::App* verify = keys->add_subcommand("verify", "Check an EIP-191 signature: exit 0 'valid', exit 1 'invalid'");
  verify->add_option("--address", opts->address, "Expected signer (0x…, EIP-55 checked when mixed case)")->required();
  verify->add_option("--message", opts->message, "The message text")->required();
  verify->add_option("--signature", opts->signature, "0x + 130 hex digits")->required();
  verify->callback([opts, &runner] { runner.run = [opts] { return run_verify(*opts); }; });
}

} // namespace openstreaming::cli
