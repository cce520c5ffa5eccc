#include "ledger/state.h"

#include "core/eip712.h"
#include "core/hex.h"
#include "core/keccak.h"

namespace openstreaming::ledger {

namespace {

Error bad(const std::string& why) {
  return make_error(Errc::invalid_input, why);
}

Result<Amount> amount_arg(const json& args, const char* key) {
  if (!args.contains(key) || !args[key].is_string()) return bad(std::string("'") + key + "' must be an amount string");
  auto a = Amount::parse(args[key].get<std::string>());
  if (!a) return bad(std::string("'") + key + "': " + a.error().message);
  return *a;
}

Result<Address> address_arg(const json& args, const char* key) {
  if (!args.contains(key) || !args[key].is_string()) return bad(std::string("'") + key + "' must be an address");
  auto a = Address::parse(args[key].get<std::string>());
  if (!a) return bad(std::string("'") + key + "': " + a.error().message);
  return *a;
}

Result<Hash256> hash_arg(const json& args, const char* key) {
  if (!args.contains(key) || !args[key].is_string()) return bad(std::string("'") + key + "' must be 32 bytes of hex");
  auto h = core::from_hex_fixed<32>(args[key].get<std::string>());
  if (!h) return bad(std::string("'") + key + "' must be 32 bytes of hex");
  return *h;
}

// A non-negative integer (a JSON number parsed from text is unsigned; one built
// in C++ from a literal is signed).
std::optional<uint64_t> count_of(const json& v) {
  if (!v.is_number_integer()) return std::nullopt;
  if (!v.is_number_unsigned() && v.get<int64_t>() < 0) return std::nullopt;
  return v.get<uint64_t>();
}

Result<uint64_t> count_arg(const json& args, const char* key, const char* what) {
  auto n = args.contains(key) ? count_of(args[key]) : std::nullopt;
  if (!n) return bad(std::string("'") + key + "' must be " + what);
  return *n;
}

// a + b, a - b with the error naming what ran out.
Result<Amount> add(const Amount& a, const Amount& b) {
  return core::checked_add(a, b);
}
Result<Amount> sub(const Amount& a, const Amount& b, const std::string& what) {
  if (a < b)
    return make_error(Errc::invalid_input,
                      "insufficient " + what + ": have " + a.to_wei_string() + " wei, need " + b.to_wei_string());
  return core::checked_sub(a, b);
}

} // namespace

// ---- Genesis ---------------------------------------------------------------------

Result<Genesis> Genesis::from_json(const json& j) {
  if (!j.is_object()) return bad("genesis: not a JSON object");
  for (const auto& [k, v] : j.items()) {
    if (k != "chain_id" && k != "block_ms" && k != "round_blocks" && k != "accounts" && k != "params")
      return bad("genesis: unknown key '" + k + "'");
  }
  Genesis g;
  auto u64 = [](const json& o, const char* k, uint64_t& out, uint64_t min, uint64_t max) -> Result<void> {
    if (!o.contains(k)) return {};
    if (!o[k].is_number_unsigned()) return bad(std::string("genesis: '") + k + "' must be a positive integer");
    out = o[k].get<uint64_t>();
    if (out < min || out > max) return bad(std::string("genesis: '") + k + "' out of range");
    return {};
  };
  if (auto r = u64(j, "chain_id", g.chain_id, 1, UINT32_MAX); !r) return r.error();
  if (auto r = u64(j, "block_ms", g.block_ms, 10, 3'600'000); !r) return r.error();
  if (auto r = u64(j, "round_blocks", g.round_blocks, 1, 1'000'000); !r) return r.error();
  if (j.contains("params")) {
    const json& p = j["params"];
    if (!p.is_object()) return bad("genesis: 'params' must be an object");
    for (const auto& [k, v] : p.items()) {
      if (k != "unlock_rounds" && k != "ticket_valid_rounds" && k != "challenge_blocks" && k != "unbonding_blocks")
        return bad("genesis: unknown params key '" + k + "'");
    }
    // The contracts' bounds (TicketBroker, StreamChannels, Staking).
    if (auto r = u64(p, "unlock_rounds", g.params.unlock_rounds, 1, 1'000'000); !r) return r.error();
    if (auto r = u64(p, "ticket_valid_rounds", g.params.ticket_valid_rounds, 1, 255); !r) return r.error();
    if (auto r = u64(p, "challenge_blocks", g.params.challenge_blocks, 1, UINT32_MAX); !r) return r.error();
    if (auto r = u64(p, "unbonding_blocks", g.params.unbonding_blocks, 1, UINT32_MAX); !r) return r.error();
  }
  if (!j.contains("accounts") || !j["accounts"].is_object())
    return bad("genesis: 'accounts' must be an object of address -> amount");
  for (const auto& [k, v] : j["accounts"].items()) {
    auto a = Address::parse(k);
    if (!a) return bad("genesis: account '" + k + "': " + a.error().message);
    if (!v.is_string()) return bad("genesis: amount of " + k + " must be a string like \"100ether\"");
    auto amount = Amount::parse(v.get<std::string>());
    if (!amount) return bad("genesis: amount of " + k + ": " + amount.error().message);
    g.accounts[*a] = *amount;
  }
  return g;
}

json Genesis::to_json() const {
  json accts = json::object();
  for (const auto& [a, v] : accounts) accts[a.to_checksum_hex()] = v.to_wei_string() + "wei";
  json j = {{"chain_id", chain_id}, {"block_ms", block_ms}, {"round_blocks", round_blocks}, {"accounts", accts}};
  // Only when not the default: a ledger created before params existed keeps
  // the genesis text it was created with (LedgerStore compares it).
  if (!(params == Params{})) {
    j["params"] = {{"unlock_rounds", params.unlock_rounds},
                   {"ticket_valid_rounds", params.ticket_valid_rounds},
                   {"challenge_blocks", params.challenge_blocks},
                   {"unbonding_blocks", params.unbonding_blocks}};
  }
  return j;
}

U256 Genesis::supply() const {
  U256 s = 0;
  for (const auto& [a, v] : accounts) s += v.wei();
  return s;
}

Amount Account::stake() const {
  return *add(bonded, unbonding);
}

json Account::to_json() const {
  return {{"balance", balance.to_wei_string()}, {"deposit", deposit.to_wei_string()},
          {"reserve", reserve.to_wei_string()}, {"stake", stake().to_wei_string()},
          {"withdraw_round", withdraw_round},   {"nonce", nonce}};
}

json Account::stake_json() const {
  json l = json::array();
  for (std::size_t i = 0; i < locks.size(); ++i) {
    if (locks[i].amount.wei() == 0) continue;
    l.push_back({{"id", i}, {"amount", locks[i].amount.to_wei_string()}, {"withdraw_block", locks[i].withdraw_block}});
  }
  return {{"bonded", bonded.to_wei_string()},
          {"unbonding", unbonding.to_wei_string()},
          {"stake", stake().to_wei_string()},
          {"locks", l}};
}

json Service::to_json() const {
  json o = json::array();
  for (const auto& x : offers) o.push_back({{"capability", x.capability}, {"price", x.price.to_wei_string()}});
  return {
      {"endpoint", endpoint}, {"region", region}, {"roles", roles}, {"updated_block", updated_block}, {"offers", o}};
}

json Channel::to_json() const {
  return {{"id", core::to_hex(id)},
          {"payer", payer.to_checksum_hex()},
          {"payee", payee.to_checksum_hex()},
          {"deposit", deposit.to_wei_string()},
          {"paid", paid.to_wei_string()},
          {"state", settled           ? "settled"
                    : closes_at_block ? "closing"
                                      : "open"},
          {"closes_at_block", closes_at_block},
          {"expiry", expiry}};
}

// ---- Transactions ----------------------------------------------------------------

Hash256 Tx::digest(uint64_t chain_id) const {
  json body = {
      {"from", from.to_checksum_hex()}, {"nonce", nonce}, {"kind", kind}, {"args", args}, {"chain_id", chain_id}};
  core::Keccak256 h;
  h.update(as_bytes(std::string_view("openstreaming/tx/v1"))).update(as_bytes(body.dump())); // keys sorted: canonical
  return h.finalize();
}

json Tx::to_json() const {
  return {{"from", from.to_checksum_hex()},
          {"nonce", nonce},
          {"kind", kind},
          {"args", args},
          {"signature", signature.to_hex()}};
}

Result<Tx> Tx::from_json(const json& j) {
  if (!j.is_object()) return bad("tx: not an object");
  Tx t;
  auto from = address_arg(j, "from");
  if (!from) return from.error();
  t.from = *from;
  if (!j.contains("nonce") || !j["nonce"].is_number_unsigned())
    return bad("tx: 'nonce' must be a non-negative integer");
  t.nonce = j["nonce"].get<uint64_t>();
  if (!j.contains("kind") || !j["kind"].is_string()) return bad("tx: 'kind' must be a string");
  t.kind = j["kind"].get<std::string>();
  if (j.contains("args")) {
    if (!j["args"].is_object()) return bad("tx: 'args' must be an object");
    t.args = j["args"];
  }
  if (!j.contains("signature") || !j["signature"].is_string()) return bad("tx: 'signature' must be hex");
  auto sig = core::RecoverableSignature::from_hex(j["signature"].get<std::string>());
  if (!sig) return bad("tx: signature: " + sig.error().message);
  t.signature = *sig;
  return t;
}

Tx sign_tx(const core::PrivateKey& key, uint64_t nonce, std::string kind, json args, uint64_t chain_id) {
  Tx t;
  t.from = key.address();
  t.nonce = nonce;
  t.kind = std::move(kind);
  t.args = std::move(args);
  t.signature = core::sign_hash(key, t.digest(chain_id));
  return t;
}

Hash256 voucher_hash(const pay::TicketDomain& domain, const Hash256& channel_id, const U256& cumulative) {
  static const Hash256 type_hash = core::keccak256(as_bytes(kVoucherType));
  core::Keccak256 h;
  h.update(type_hash).update(channel_id).update(core::eip712::word(cumulative));
  return core::eip712::digest(domain.separator(), h.finalize());
}

// ---- State -----------------------------------------------------------------------

State::State(Genesis genesis) : m_genesis(std::move(genesis)) {
  m_domain.chain_id = m_genesis.chain_id;
  // The embedded ledger has no contract: its "verifying contract" is a fixed,
  // recognisable address derived from the chain id, so signatures cannot be
  // replayed on an EVM deployment (whose contract address differs).
  core::Keccak256 h;
  h.update(as_bytes(std::string_view("openstreaming/embedded-ledger"))).update(core::to_word(U256(m_genesis.chain_id)));
  auto d = h.finalize();
  FixedBytes<20> a{};
  std::copy(d.begin() + 12, d.end(), a.begin());
  m_domain.verifying_contract = Address(a);
  for (const auto& [addr, amount] : m_genesis.accounts) m_accounts[addr].balance = amount;
  // Block 0's parent hash commits to the genesis.
  m_last_hash = core::keccak256(as_bytes(m_genesis.to_json().dump()));
  m_round_hashes[0] = m_last_hash;
}

Account State::account(const Address& a) const {
  auto it = m_accounts.find(a);
  return it == m_accounts.end() ? Account{} : it->second;
}

std::optional<Hash256> State::round_block_hash(uint64_t r) const {
  auto it = m_round_hashes.find(r);
  if (it == m_round_hashes.end()) return std::nullopt;
  return it->second;
}

U256 State::total_value() const {
  U256 s = 0;
  for (const auto& [a, acc] : m_accounts)
    s += acc.balance.wei() + acc.deposit.wei() + acc.reserve.wei() + acc.bonded.wei() + acc.unbonding.wei();
  for (const auto& [id, c] : m_channels) {
    if (!c.settled) s += c.deposit.wei() - c.paid.wei();
  }
  return s;
}

Hash256 State::next_block_hash(int64_t time_ms) const {
  core::Keccak256 h;
  h.update(m_last_hash)
      .update(core::to_word(U256(m_height)))
      .update(m_block_txs)
      .update(core::to_word(U256(static_cast<uint64_t>(time_ms))));
  return h.finalize();
}

void State::skip_empty_blocks(uint64_t height, const Hash256& parent) {
  if (height <= m_height) return;
  const uint64_t before = round();
  m_height = height;
  m_last_hash = parent;
  m_block_txs = {};
  if (round() != before) { // as seal_block would have rotated, round by round (skipped blocks paid no one)
    m_paid_last_round = round() == before + 1 ? std::exchange(m_paid_this_round, {}) : decltype(m_paid_last_round){};
    m_paid_this_round.clear();
    m_reserve_rounds.clear();
  }
}

Hash256 State::seal_block(int64_t time_ms) {
  m_last_hash = next_block_hash(time_ms);
  ++m_height;
  m_block_txs = {};
  if (m_height % m_genesis.round_blocks == 0) {
    m_round_hashes[round()] = m_last_hash;
    m_paid_last_round = std::exchange(m_paid_this_round, {});
    m_reserve_rounds.clear(); // snapshots are per round
  }
  return m_last_hash;
}

uint64_t State::reserve_recipients(const Address& sender) const {
  if (auto it = m_reserve_rounds.find(sender); it != m_reserve_rounds.end() && it->second.round == round())
    return it->second.recipients;
  auto last = m_paid_last_round.find(sender);
  return last == m_paid_last_round.end() ? 1 : std::max<uint64_t>(1, last->second.size());
}

Amount State::reserve_share(const Address& sender) const {
  Amount snapshot = account(sender).reserve;
  if (auto it = m_reserve_rounds.find(sender); it != m_reserve_rounds.end() && it->second.round == round())
    snapshot = it->second.snapshot;
  return Amount(snapshot.wei() / reserve_recipients(sender));
}

Amount State::reserve_taken(const Address& sender, const Address& recipient) const {
  auto it = m_reserve_rounds.find(sender);
  if (it == m_reserve_rounds.end() || it->second.round != round()) return {};
  auto t = it->second.taken.find(recipient);
  return t == it->second.taken.end() ? Amount{} : t->second;
}

State::ReserveRound& State::reserve_round(const Address& sender) {
  auto it = m_reserve_rounds.find(sender);
  if (it != m_reserve_rounds.end() && it->second.round == round()) return it->second;
  ReserveRound fresh; // the first draw this round: fix the snapshot and the split
  fresh.round = round();
  fresh.recipients = reserve_recipients(sender);
  fresh.snapshot = account(sender).reserve;
  return m_reserve_rounds[sender] = std::move(fresh);
}

Result<json> State::apply(const Tx& tx) {
  auto signer = core::recover_public_key(tx.digest(m_genesis.chain_id), tx.signature);
  if (!signer || signer->address() != tx.from) return bad("signature does not match 'from'");
  Account before = account(tx.from);
  if (tx.nonce != before.nonce) {
    return bad("nonce " + std::to_string(tx.nonce) + " is not the account's next (" + std::to_string(before.nonce) +
               ")");
  }
  // Every handler validates before it mutates, so an error leaves the state as it was.
  State& trial = *this;
  Account& from = trial.m_accounts[tx.from];
  Result<json> r = json::object();
  const json& args = tx.args;
  if (tx.kind == "transfer") {
    r = trial.transfer(from, tx);
  } else if (tx.kind == "fund") {
    auto d = args.contains("deposit") ? amount_arg(args, "deposit") : Result<Amount>(Amount{});
    auto rv = args.contains("reserve") ? amount_arg(args, "reserve") : Result<Amount>(Amount{});
    if (!d) return d.error();
    if (!rv) return rv.error();
    auto total = add(*d, *rv);
    if (!total) return total.error();
    auto bal = sub(from.balance, *total, "balance");
    if (!bal) return bal.error();
    from.balance = *bal;
    from.deposit = *add(from.deposit, *d);
    from.reserve = *add(from.reserve, *rv);
    from.withdraw_round = 0; // funding cancels an unlock
    r = json{{"deposit", from.deposit.to_wei_string()}, {"reserve", from.reserve.to_wei_string()}};
  } else if (tx.kind == "unlock") {
    if (from.deposit.wei() == 0 && from.reserve.wei() == 0) return bad("nothing to unlock");
    from.withdraw_round = round() + m_genesis.params.unlock_rounds;
    r = json{{"withdraw_round", from.withdraw_round}};
  } else if (tx.kind == "withdraw") {
    if (from.withdraw_round == 0) return bad("unlock first");
    if (round() < from.withdraw_round)
      return bad("locked until round " + std::to_string(from.withdraw_round) + " (now " + std::to_string(round()) +
                 ")");
    auto total = add(from.deposit, from.reserve);
    from.balance = *add(from.balance, *total);
    from.deposit = from.reserve = Amount{};
    from.withdraw_round = 0;
    r = json{{"withdrawn", total->to_wei_string()}};
  } else if (tx.kind == "bond" || tx.kind == "unbond" || tx.kind == "rebond" || tx.kind == "withdraw_stake") {
    r = trial.stake_tx(from, tx);
  } else if (tx.kind == "register" || tx.kind == "update" || tx.kind == "deregister") {
    r = trial.registry_tx(tx);
  } else if (tx.kind == "redeem") {
    r = trial.redeem(tx);
  } else if (tx.kind == "open_channel" || tx.kind == "top_up" || tx.kind == "claim" || tx.kind == "close_channel" ||
             tx.kind == "settle_channel") {
    r = trial.channel_tx(from, tx);
  } else {
    return bad("unknown transaction kind '" + tx.kind + "'");
  }
  if (!r) return r.error();
  trial.m_accounts[tx.from].nonce = before.nonce + 1;
  core::Keccak256 h;
  h.update(trial.m_block_txs).update(tx.digest(m_genesis.chain_id));
  trial.m_block_txs = h.finalize();
  return r;
}

Result<json> State::transfer(Account& from, const Tx& tx) {
  auto to = address_arg(tx.args, "to");
  if (!to) return to.error();
  auto amt = amount_arg(tx.args, "amount");
  if (!amt) return amt.error();
  auto left = sub(from.balance, *amt, "balance");
  if (!left) return left.error();
  from.balance = *left;
  Account& dst = m_accounts[*to]; // may invalidate nothing: std::map references are stable
  dst.balance = *add(dst.balance, *amt);
  return json{{"to", to->to_checksum_hex()}, {"amount", amt->to_wei_string()}};
}

Result<json> State::redeem(const Tx& tx) {
  if (!tx.args.contains("tickets") || !tx.args["tickets"].is_array()) return bad("'tickets' must be an array");
  if (tx.args["tickets"].size() > 256) return bad("at most 256 tickets per batch");
  json results = json::array();
  for (const auto& item : tx.args["tickets"]) {
    json out = {{"paid", false}};
    auto fail = [&](const std::string& why) {
      out["reason"] = why;
      results.push_back(out);
    };
    if (!item.is_object() || !item.contains("ticket")) {
      fail("malformed");
      continue;
    }
    auto t = pay::Ticket::from_json(item["ticket"]);
    auto sig = item.contains("signature") && item["signature"].is_string()
                   ? core::RecoverableSignature::from_hex(item["signature"].get<std::string>())
                   : Result<core::RecoverableSignature>(make_error(Errc::invalid_input, "missing"));
    auto rand = hash_arg(item, "recipient_rand");
    if (!t || !sig || !rand) {
      fail(!t ? t.error().message : !sig ? "bad signature encoding" : rand.error().message);
      continue;
    }
    Hash256 th = t->signing_hash(m_domain);
    out["ticket_hash"] = core::to_hex(th);
    if (t->recipient != tx.from) {
      fail("not the recipient");
      continue;
    }
    auto signer = pay::ticket_signer({*t, *sig}, m_domain);
    if (!signer || *signer != t->sender) {
      fail("signature is not the sender's");
      continue;
    }
    if (core::keccak256(*rand) != t->recipient_rand_hash) {
      fail("recipient_rand does not match");
      continue;
    }
    if (!pay::is_winner(*sig, *rand, t->win_prob)) {
      fail("not a winning ticket");
      continue;
    }
    if (m_used_tickets.count(th)) {
      fail("already redeemed");
      continue;
    }
    if (t->creation_round > U256(round())) {
      fail("created in a future round");
      continue;
    }
    auto created = static_cast<uint64_t>(t->creation_round);
    if (created + m_genesis.params.ticket_valid_rounds < round()) {
      fail("expired");
      continue;
    }
    auto rh = round_block_hash(created);
    if (!rh || *rh != t->creation_round_block_hash) {
      fail("creationRoundBlockHash does not match");
      continue;
    }
    Account& s = m_accounts[t->sender];
    Amount face(t->face_value);
    // All or nothing: deposit first, then this recipient's share of the
    // reserve; if together they fall short, pay nothing (the ticket stays redeemable).
    if (s.deposit.wei() + s.reserve.wei() < face.wei()) {
      fail("sender cannot cover it now (stays redeemable)");
      continue;
    }
    Amount from_deposit = std::min(s.deposit, face);
    Amount from_reserve = *core::checked_sub(face, from_deposit);
    if (from_reserve.wei() > 0) {
      ReserveRound& rr = reserve_round(t->sender);
      U256 share = rr.snapshot.wei() / rr.recipients;
      U256 taken = rr.taken[tx.from].wei();
      if (taken + from_reserve.wei() > share) {
        fail("sender cannot cover it now: this recipient's share of the reserve this round is used up (stays "
             "redeemable)");
        continue;
      }
      rr.taken[tx.from] = Amount(taken + from_reserve.wei());
    }
    s.deposit = *core::checked_sub(s.deposit, from_deposit);
    s.reserve = *core::checked_sub(s.reserve, from_reserve);
    m_paid_this_round[t->sender].insert(tx.from);
    Account& r = m_accounts[tx.from];
    r.balance = *add(r.balance, face);
    m_used_tickets.insert(th);
    out["paid"] = true;
    out["amount"] = face.to_wei_string();
    out["from_reserve"] = from_reserve.to_wei_string();
    results.push_back(out);
    m_redemptions.push_back({{"recipient", tx.from.to_checksum_hex()},
                             {"ticket", item["ticket"]},
                             {"signature", sig->to_hex()},
                             {"ticket_hash", core::to_hex(th)},
                             {"round", round()}});
  }
  return json{{"results", results}};
}

Hash256 State::channel_id(const Address& payer, const Address& payee, const Hash256& salt) const {
  // abi.encode(chainid, this, payer, payee, salt), as StreamChannels.channelId.
  core::Keccak256 h;
  h.update(core::to_word(U256(m_genesis.chain_id)))
      .update(core::eip712::word(m_domain.verifying_contract))
      .update(core::eip712::word(payer))
      .update(core::eip712::word(payee))
      .update(salt);
  return h.finalize();
}

Result<json> State::channel_tx(Account& from, const Tx& tx) {
  const json& args = tx.args;
  if (tx.kind == "open_channel") {
    auto payee = address_arg(args, "payee");
    if (!payee) return payee.error();
    auto amt = amount_arg(args, "amount");
    if (!amt) return amt.error();
    auto salt = hash_arg(args, "salt");
    if (!salt) return salt.error();
    auto expiry_arg = count_arg(args, "expiry", "a block number");
    if (!expiry_arg) return expiry_arg.error();
    const uint64_t expiry = *expiry_arg;
    if (*payee == tx.from) return bad("a channel to oneself");
    if (payee->is_zero()) return bad("a channel to the zero address");
    if (amt->wei() == 0) return bad("a channel needs a deposit");
    if (expiry < m_height + m_genesis.params.challenge_blocks || expiry > (uint64_t{1} << 40) - 1)
      return bad("expiry " + std::to_string(expiry) + " must be at least the challenge period (" +
                 std::to_string(m_genesis.params.challenge_blocks) + " blocks) from now (block " +
                 std::to_string(m_height) + ")");
    const Hash256 id = channel_id(tx.from, *payee, *salt);
    if (m_channels.count(id)) return bad("a channel with this id exists");
    auto left = sub(from.balance, *amt, "balance");
    if (!left) return left.error();
    Channel c;
    c.id = id;
    c.payer = tx.from;
    c.payee = *payee;
    c.deposit = *amt;
    c.expiry = expiry;
    from.balance = *left;
    m_channels[c.id] = c;
    return c.to_json();
  }
  auto id = hash_arg(args, "channel");
  if (!id) return id.error();
  auto it = m_channels.find(*id);
  if (it == m_channels.end()) return bad("no such channel");
  Channel& c = it->second;
  const bool closing = c.closes_at_block != 0;
  if (tx.kind == "top_up") {
    if (tx.from != c.payer) return bad("only the payer tops up");
    if (c.settled || closing) return bad("channel is not open: top-up only while open");
    if (m_height > c.expiry) return bad("channel expired at block " + std::to_string(c.expiry));
    auto amt = amount_arg(args, "amount");
    if (!amt) return amt.error();
    if (amt->wei() == 0) return bad("a top-up of nothing");
    auto left = sub(from.balance, *amt, "balance");
    if (!left) return left.error();
    from.balance = *left;
    c.deposit = *add(c.deposit, *amt);
    return c.to_json();
  }
  if (tx.kind == "claim") {
    if (c.settled) return bad("channel is settled");
    if (tx.from != c.payee) return bad("only the payee claims");
    if (closing && m_height > c.closes_at_block) return bad("challenge period over");
    if (m_height > c.expiry) return bad("channel expired at block " + std::to_string(c.expiry));
    auto cum = amount_arg(args, "cumulative");
    if (!cum) return cum.error();
    if (!args.contains("signature") || !args["signature"].is_string()) return bad("'signature' must be hex");
    auto sig = core::RecoverableSignature::from_hex(args["signature"].get<std::string>());
    if (!sig) return bad("voucher signature: " + sig.error().message);
    auto signer = core::recover_public_key(voucher_hash(m_domain, c.id, cum->wei()), *sig);
    if (!signer || signer->address() != c.payer) return bad("voucher is not signed by the payer for this channel");
    if (*cum <= c.paid)
      return bad("stale voucher: cumulative " + cum->to_wei_string() + " <= paid " + c.paid.to_wei_string());
    if (*cum > c.deposit) return bad("voucher exceeds the channel deposit");
    Amount due = *core::checked_sub(*cum, c.paid);
    c.paid = *cum;
    Account& payee = m_accounts[c.payee];
    payee.balance = *add(payee.balance, due);
    json out = c.to_json();
    out["claimed"] = due.to_wei_string();
    return out;
  }
  if (tx.kind == "close_channel") {
    if (tx.from != c.payer) return bad("only the payer closes (the payee just stops claiming)");
    if (c.settled || closing) return bad("channel is not open");
    c.closes_at_block = m_height + m_genesis.params.challenge_blocks;
    return c.to_json();
  }
  // settle_channel: anyone, after the challenge period or the expiry.
  if (c.settled) return bad("channel is settled");
  const bool challenge_over = closing && m_height > c.closes_at_block;
  if (!challenge_over && m_height <= c.expiry) return bad("challenge period not over");
  Amount rest = *core::checked_sub(c.deposit, c.paid);
  Account& payer = m_accounts[c.payer];
  payer.balance = *add(payer.balance, rest);
  c.settled = true;
  json out = c.to_json();
  out["returned"] = rest.to_wei_string();
  return out;
}

Result<json> State::stake_tx(Account& from, const Tx& tx) {
  const json& args = tx.args;
  if (tx.kind == "bond" || tx.kind == "unbond") {
    auto amt = amount_arg(args, "amount");
    if (!amt) return amt.error();
    if (amt->wei() == 0) return bad("a zero amount");
    if (tx.kind == "bond") {
      auto left = sub(from.balance, *amt, "balance");
      if (!left) return left.error();
      from.balance = *left;
      from.bonded = *add(from.bonded, *amt);
      return from.stake_json();
    }
    if (from.bonded < *amt)
      return bad("insufficient bond: bonded " + from.bonded.to_wei_string() + " wei, unbonding " +
                 amt->to_wei_string());
    from.bonded = *core::checked_sub(from.bonded, *amt);
    from.unbonding = *add(from.unbonding, *amt);
    from.locks.push_back({*amt, m_height + m_genesis.params.unbonding_blocks});
    json out = from.stake_json();
    out["lock"] = from.locks.size() - 1;
    return out;
  }
  auto lock = count_arg(args, "lock", "a lock id");
  if (!lock) return lock.error();
  const uint64_t id = *lock;
  if (id >= from.locks.size() || from.locks[id].amount.wei() == 0) return bad("no such lock");
  StakeLock& l = from.locks[id];
  if (tx.kind == "withdraw_stake" && m_height < l.withdraw_block)
    return bad("not yet withdrawable: from block " + std::to_string(l.withdraw_block) + " (now " +
               std::to_string(m_height) + ")");
  from.unbonding = *core::checked_sub(from.unbonding, l.amount);
  Amount& dst = tx.kind == "rebond" ? from.bonded : from.balance;
  dst = *add(dst, l.amount);
  json out = {{"lock", id}, {tx.kind == "rebond" ? "rebonded" : "withdrawn", l.amount.to_wei_string()}};
  l.amount = Amount{};
  return out;
}

Result<json> State::registry_tx(const Tx& tx) {
  const json& args = tx.args;
  const bool registered = m_services.count(tx.from) > 0;
  if (tx.kind == "deregister") {
    if (!registered) return bad("not registered");
    m_services.erase(tx.from);
    return json{{"deregistered", tx.from.to_checksum_hex()}};
  }
  if (tx.kind == "register" && registered) return bad("already registered");
  if (tx.kind == "update" && !registered) return bad("not registered");
  auto text = [&](const char* k, std::string& out) -> Result<void> {
    if (!args.contains(k)) return {};
    if (!args[k].is_string()) return bad(std::string("'") + k + "' must be a string");
    out = args[k].get<std::string>();
    return {};
  };
  Service s;
  if (auto r = text("endpoint", s.endpoint); !r) return r.error();
  if (auto r = text("region", s.region); !r) return r.error();
  auto roles = count_arg(args, "roles", "a non-empty set of known roles (bits 1..16)");
  if (!roles) return roles.error();
  if (*roles == 0 || (*roles & ~uint64_t{kAllRoles}) != 0)
    return bad("'roles' must be a non-empty set of known roles (bits 1..16)");
  s.roles = static_cast<uint32_t>(*roles);
  if (s.endpoint.empty()) return bad("an empty endpoint");
  if (s.endpoint.size() > kMaxEndpointBytes || s.region.size() > kMaxRegionBytes)
    return bad("endpoint or region too long (at most " + std::to_string(kMaxEndpointBytes) + " and " +
               std::to_string(kMaxRegionBytes) + " bytes)");
  if (args.contains("offers")) {
    if (!args["offers"].is_array()) return bad("'offers' must be an array");
    if (args["offers"].size() > kMaxOffers) return bad("at most " + std::to_string(kMaxOffers) + " offers");
    for (const auto& o : args["offers"]) {
      if (!o.is_object()) return bad("an offer must be {capability, price}");
      Offer x;
      if (!o.contains("capability") || !o["capability"].is_string())
        return bad("an offer's 'capability' must be a string");
      x.capability = o["capability"].get<std::string>();
      if (x.capability.empty() || x.capability.size() > kMaxNameBytes)
        return bad("a capability name must be 1.." + std::to_string(kMaxNameBytes) + " bytes");
      auto price = amount_arg(o, "price");
      if (!price) return price.error();
      x.price = *price;
      s.offers.push_back(std::move(x));
    }
  }
  s.updated_block = m_height;
  json out = s.to_json();
  out["operator"] = tx.from.to_checksum_hex();
  m_services[tx.from] = std::move(s);
  return out;
}

} // namespace openstreaming::ledger
