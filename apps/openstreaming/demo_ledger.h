// The ledger `openstreaming demo` settles on (docs/demo.md): the embedded one
// (the default: an `openstreaming ledger` child) or, with `--chain anvil`, an
// Anvil EVM node the demo starts and supervises, with the contracts deployed by
// `contracts deploy`'s own code at start. Either way every member starts with
// 100 ether and every payer gets a 10 ether deposit and a 1 ether reserve; the
// dashboard's ledger panel and the summary read the accounts from it.
#pragma once

#include "apps/openstreaming/demo.h"
#include "core/address.h"
#include "core/amount.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace openstreaming::cli::demo {

using nlohmann::json;

inline constexpr const char* kStartFunds = "100ether";

class DemoLedger {
public:
  virtual ~DemoLedger() = default;
  // What a node is given to settle on it: --ledger URL [--contracts FILE].
  virtual std::vector<std::string> node_args() const = 0;
  // "embedded" or "evm".
  virtual std::string backend() const = 0;
  virtual std::string url() const = 0;
  // Gives every member but the broadcaster (it only earns) its deposit and reserve.
  virtual Result<void> fund_payers(const std::vector<Member>& members) = 0;
  // The members' accounts and the fees they paid, all of one ledger state:
  // accounts maps a checksum address to {balance, deposit, reserve, stake}
  // (decimal wei); fees is the wei the members paid in transaction fees up to
  // that state (the embedded ledger charges none).
  struct View {
    std::map<std::string, json> accounts;
    core::U256 fees{0};
  };
  virtual Result<View> accounts(const std::vector<Member>& members) = 0;
  // {backend, height, round[, chain_id]}.
  virtual Result<json> status() = 0;
  // Stops the ledger's process.
  virtual void stop() = 0;
};

// `openstreaming ledger` from `exe`, its state in dir/ledger.
Result<std::unique_ptr<DemoLedger>> start_embedded_ledger(const std::filesystem::path& exe,
                                                          const std::filesystem::path& dir,
                                                          const std::vector<Member>& members);

struct ChainOptions {
  std::string anvil;     // the Anvil binary
  std::string artifacts; // Hardhat's artifacts (contracts/artifacts)
};

// Anvil on 127.0.0.1 (a port the OS picks, chain id 31337, a block a second),
// the four contracts deployed from its first development account (5-block
// rounds), and 100 ether sent from it to every member.
Result<std::unique_ptr<DemoLedger>> start_anvil_chain(const ChainOptions& options, const std::filesystem::path& dir,
                                                      const std::vector<Member>& members);

} // namespace openstreaming::cli::demo
