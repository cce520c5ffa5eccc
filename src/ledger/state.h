// The embedded ledger's state machine (docs/ledger.md). No I/O.
//
// Deterministic: the same genesis and the same transactions in the same blocks
// give the same state and the same block hashes, so persistence is the
// transaction log (src/ledger/store.h) and a restart replays it.
//
// Accounts hold balance, deposit, reserve and stake. Transactions are signed by
// the account key over keccak256("openstreaming/tx/v1" ‖ canonical JSON), the
// JSON being {"args", "chain_id", "from" (EIP-55, re-written from the parsed
// address), "kind", "nonce"} with keys sorted, and carry the account's next
// nonce. Value is conserved: the sum of all
// balances, deposits, reserves, stakes and open channel funds (deposit − paid)
// is the genesis supply, always.
//
// Tickets (pay/ticket.h) are redeemed in batches; each ticket is paid in full —
// from the sender's deposit, then its reserve — or not at all, in which case it
// is not marked used and stays redeemable while it is valid. The reserve is
// shared: in each round a recipient may take at most its share of it, the
// reserve as it stood at the round's first draw on it divided by the number of
// recipients that sender paid in the previous round (at least 1); both figures
// are fixed for the round (a snapshot, not the live pool), so which recipient
// redeems first does not change anyone's share. A used ticket is
// never paid again. Unlock → wait `unlock_rounds` → withdraw; funding cancels
// an unlock.
//
// Channels, stake and the service registry follow the contracts an EVM
// deployment runs (contracts/contracts: StreamChannels, Staking,
// ServiceRegistry) rule for rule, so one conformance suite holds for both:
//  - a channel has a deposit and an expiry block fixed at open; its id is
//    keccak256(abi.encode(chain id, the domain's verifying contract, payer,
//    payee, salt)), known to the payer before it opens; the payee claims
//    cumulative − paid against an EIP-712 Voucher(bytes32 channelId,uint256
//    cumulative) signed by the payer, until the expiry and, once the payer has
//    closed, until the challenge period's last block; settle (anyone) returns
//    the rest after the challenge period or the expiry; top-up only while open;
//  - bond moves balance to bonded stake; unbond opens a lock that may be
//    withdrawn `unbonding_blocks` later (or rebonded before);
//  - an operator registers one service record (endpoint, region, roles,
//    offers), bounded as the contract bounds it, and only it changes it.
#pragma once

#include "core/amount.h"
#include "core/secp256k1.h"
#include "pay/ticket.h"

#include <nlohmann/json.hpp>

#include <map>
#include <set>
#include <string>
#include <vector>

namespace openstreaming::ledger {

using core::Address;
using core::Amount;
using core::U256;
using nlohmann::json;

// The rule parameters; an EVM deployment sets the same ones (`contracts deploy`).
struct Params {
  uint64_t unlock_rounds = 2; // unlock -> withdraw
  uint64_t ticket_valid_rounds =
      4; // a ticket is redeemable this many rounds after its creation round (docs/payments.md: why 4)
  uint64_t challenge_blocks = 40; // payer close -> settle
  uint64_t unbonding_blocks = 40; // unbond -> withdraw_stake
  bool operator==(const Params&) const = default;
};

struct Genesis {
  uint64_t chain_id = 1337;
  uint64_t block_ms = 500;
  uint64_t round_blocks = 20;
  Params params;
  std::map<Address, Amount> accounts;
  // {"chain_id": 1337, "block_ms": 500, "round_blocks": 20, "accounts": {"0xADDRESS": "100ether", ...},
  //  "params": {"unlock_rounds", "ticket_valid_rounds", "challenge_blocks", "unbonding_blocks"}}
  // ("params" optional, each key too; to_json writes it only when it is not the default).
  static Result<Genesis> from_json(const json& j);
  json to_json() const;
  U256 supply() const;
};

// An unbonding lock: withdrawable from `withdraw_block` on; amount 0 once
// withdrawn or rebonded (ids stay stable).
struct StakeLock {
  Amount amount;
  uint64_t withdraw_block = 0;
};

struct Account {
  Amount balance, deposit, reserve;
  Amount bonded, unbonding; // unbonding: Σ of the open locks
  std::vector<StakeLock> locks;
  uint64_t withdraw_round = 0; // 0: no unlock pending; else the round from which withdraw works
  uint64_t nonce = 0;          // transactions applied
  Amount stake() const;        // bonded + unbonding (what a slasher could reach)
  // {balance, deposit, reserve, stake, withdraw_round, nonce}: amounts as decimal wei strings
  json to_json() const;
  // {bonded, unbonding, stake, locks: [{id, amount, withdraw_block}]} (open locks only)
  json stake_json() const;
};

struct Channel {
  Hash256 id{};
  Address payer, payee;
  Amount deposit, paid;
  uint64_t closes_at_block = 0; // 0: open; else the last block of the challenge period
  uint64_t expiry = 0;          // the last block in which the payee may claim at all
  bool settled = false;
  // {id, payer, payee, deposit, paid, state "open"|"closing"|"settled", closes_at_block, expiry}
  json to_json() const;
};

// ServiceRegistry's bounds.
inline constexpr uint32_t kAllRoles = 31; // relay 1, transcoder 2, orchestrator 4, broadcaster 8, validator 16
inline constexpr std::size_t kMaxEndpointBytes = 256, kMaxRegionBytes = 32, kMaxNameBytes = 64, kMaxOffers = 32;

struct Offer {
  std::string capability; // e.g. "h264/720p30", "relay"
  Amount price;           // wei per unit of the capability
};

struct Service {
  std::string endpoint, region;
  uint32_t roles = 0;
  uint64_t updated_block = 0;
  std::vector<Offer> offers;
  // {endpoint, region, roles, updated_block, offers: [{capability, price}]}
  json to_json() const;
};

// A signed transaction. `kind` and `args`:
//   transfer {to, amount} · fund {deposit, reserve} · unlock {} · withdraw {}
//   redeem {tickets: [{ticket, signature, recipient_rand}]}
//   open_channel {payee, amount, expiry, salt} · top_up {channel, amount}
//   claim {channel, cumulative, signature} · close_channel {channel} · settle_channel {channel}
//   bond {amount} · unbond {amount} · rebond {lock} · withdraw_stake {lock}
//   register {endpoint, region, roles, offers: [{capability, price}]} · update {same} · deregister {}
struct Tx {
  Address from;
  uint64_t nonce = 0;
  std::string kind;
  json args = json::object();
  core::RecoverableSignature signature;
  Hash256 digest(uint64_t chain_id) const;
  json to_json() const;
  static Result<Tx> from_json(const json& j);
};
Tx sign_tx(const core::PrivateKey& key, uint64_t nonce, std::string kind, json args, uint64_t chain_id);

inline constexpr std::string_view kVoucherType = "Voucher(bytes32 channelId,uint256 cumulative)";
Hash256 voucher_hash(const pay::TicketDomain& domain, const Hash256& channel_id, const U256& cumulative);

class State {
public:
  explicit State(Genesis genesis);

  // Applies a transaction in the current block. Errors leave the state untouched
  // (and do not consume the nonce). The receipt says what happened.
  Result<json> apply(const Tx& tx);
  // Closes the current block at `time_ms`; returns its hash.
  Hash256 seal_block(int64_t time_ms);

  uint64_t height() const { return m_height; }
  uint64_t round() const { return m_height / m_genesis.round_blocks; }
  std::optional<Hash256> round_block_hash(uint64_t round) const;
  const Hash256& last_hash() const { return m_last_hash; }
  const Genesis& genesis() const { return m_genesis; }
  const Params& params() const { return m_genesis.params; }
  const pay::TicketDomain& ticket_domain() const { return m_domain; }
  const std::map<Address, Account>& accounts() const { return m_accounts; }
  Account account(const Address& a) const;
  const std::map<Hash256, Channel>& channels() const { return m_channels; }
  // The id open_channel gives a channel from `payer` to `payee` with `salt`.
  Hash256 channel_id(const Address& payer, const Address& payee, const Hash256& salt) const;
  const std::map<Address, Service>& services() const { return m_services; }
  bool ticket_used(const Hash256& ticket_hash) const { return m_used_tickets.count(ticket_hash) > 0; }
  // Sum of every balance, deposit, reserve, stake and open channel fund.
  U256 total_value() const;
  // Every ticket submitted for redemption to `recipient`, with its outcome.
  const std::vector<json>& redemptions() const { return m_redemptions; }
  // How many recipients share `sender`'s reserve in the current round, and one
  // recipient's share: what a payee counts on (docs/payments.md).
  uint64_t reserve_recipients(const Address& sender) const;
  Amount reserve_share(const Address& sender) const;
  // What `recipient` has taken from `sender`'s reserve in the current round.
  Amount reserve_taken(const Address& sender, const Address& recipient) const;

  // For a store that logs empty blocks sparsely (LedgerStore):
  // the hash seal_block(time_ms) would return now, without sealing;
  Hash256 next_block_hash(int64_t time_ms) const;
  // and resuming the chain at block `height`, whose parent's hash is `parent`,
  // when the blocks before it were empty and not logged (forward only; the
  // rounds they opened have no hash here).
  void skip_empty_blocks(uint64_t height, const Hash256& parent);

private:
  Result<json> transfer(Account& from, const Tx& tx);
  Result<json> redeem(const Tx& tx);
  Result<json> channel_tx(Account& from, const Tx& tx);
  Result<json> stake_tx(Account& from, const Tx& tx);
  Result<json> registry_tx(const Tx& tx);

  Genesis m_genesis;
  pay::TicketDomain m_domain;
  std::map<Address, Account> m_accounts;
  std::map<Hash256, Channel> m_channels;
  std::map<Address, Service> m_services;
  std::set<Hash256> m_used_tickets;
  std::vector<json> m_redemptions;
  uint64_t m_height = 0; // the block being built
  Hash256 m_last_hash{};
  std::map<uint64_t, Hash256> m_round_hashes; // round -> hash of the block that opened it
  // The reserve's split, per sender, for the current round.
  struct ReserveRound {
    uint64_t round = 0;
    Amount snapshot;         // the reserve at the round's first draw on it
    uint64_t recipients = 1; // recipients the sender paid in the previous round (>= 1)
    std::map<Address, Amount> taken;
  };
  std::map<Address, ReserveRound> m_reserve_rounds;
  ReserveRound& reserve_round(const Address& sender);
  std::map<Address, std::set<Address>> m_paid_this_round, m_paid_last_round; // sender -> recipients paid
  Hash256 m_block_txs{}; // running hash of this block's transactions
};

} // namespace openstreaming::ledger
