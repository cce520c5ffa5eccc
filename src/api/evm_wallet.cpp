#include "api/evm_wallet.h"

#include "api/evm_calls.h"
#include "core/amount.h"
#include "core/hex.h"
#include "core/keccak.h"
#include "ledger/evm/abi.h"

#include <algorithm>
#include <array>
#include <set>

namespace openstreaming::api {

using core::U256;
using nlohmann::json;
using namespace evm_calls;
using abi::Type;
using abi::Value;

EvmWallet::EvmWallet(HttpUrl rpc, Deployment deployment)
    : m_client(std::move(rpc)), m_deployment(std::move(deployment)) {
  m_client.known_errors = contract_errors();
}

Result<core::Address> EvmWallet::contract(std::string_view name) const {
  const auto* c = m_deployment.find(name);
  if (!c) return make_error(Errc::invalid_input, "the deployment has no " + std::string(name));
  return c->address;
}

Result<json> EvmWallet::account(const core::Address& a, std::optional<uint64_t> block) {
  auto broker = contract("TicketBroker");
  if (!broker) return broker.error();
  auto staking = contract("Staking");
  if (!block) {
    auto height = m_client.block_number();
    if (!height) return height.error();
    block = *height;
  }
  const std::string at = to_quantity(U256(*block));
  std::vector<std::pair<std::string, json>> calls = {
      {"eth_getBalance", {a.to_checksum_hex(), at}},
      {"eth_call", call_at(*broker, call_data("getSender(address)", {Value::address(a)}), at)}};
  if (staking) calls.push_back({"eth_call", call_at(*staking, call_data("stakeOf(address)", {Value::address(a)}), at)});
  auto got = m_client.batch(calls);
  if (!got) return got.error();
  if (!(*got)[0]) return (*got)[0].error();
  auto balance = parse_quantity(*(*got)[0]);
  if (!balance) return balance.error();
  auto funds = uints((*got)[1], 3, "getSender");
  if (!funds) return funds.error();
  U256 stake = 0;
  if (staking) {
    auto st = uints((*got)[2], 1, "stakeOf");
    if (!st) return st.error();
    stake = st->at(0);
  }
  auto withdraw = small(funds->at(2), "withdrawRound");
  if (!withdraw) return withdraw.error();
  return json{{"balance", balance->str()},
              {"deposit", funds->at(0).str()},
              {"reserve", funds->at(1).str()},
              {"stake", stake.str()},
              {"withdraw_round", *withdraw}};
}

namespace {

// The arguments of a wallet operation, checked as the embedded ledger checks them.
struct Args {
  const json& j;
  Result<U256> wei(const char* field) const {
    if (!j.contains(field) || !j[field].is_string())
      return make_error(Errc::invalid_input, std::string(field) + ": missing");
    auto a = core::Amount::parse(j[field].get<std::string>());
    if (!a) return make_error(Errc::invalid_input, std::string(field) + ": " + a.error().message);
    return a->wei();
  }
  Result<core::Address> address(const char* field) const {
    if (!j.contains(field) || !j[field].is_string())
      return make_error(Errc::invalid_input, std::string(field) + ": missing");
    return core::Address::parse(j[field].get<std::string>());
  }
  Result<Hash256> hash(const char* field) const {
    if (!j.contains(field) || !j[field].is_string())
      return make_error(Errc::invalid_input, std::string(field) + ": missing");
    auto h = core::from_hex_fixed<32>(j[field].get<std::string>());
    if (!h) return make_error(Errc::invalid_input, std::string(field) + ": not 32 bytes of hex");
    return *h;
  }
  Result<uint64_t> number(const char* field) const {
    if (!j.contains(field) || !j[field].is_number_integer() ||
        (!j[field].is_number_unsigned() && j[field].get<int64_t>() < 0))
      return make_error(Errc::invalid_input, std::string(field) + ": must be a non-negative integer");
    return j[field].get<uint64_t>();
  }
  std::string text(const char* field) const {
    return j.contains(field) && j[field].is_string() ? j[field].get<std::string>() : "";
  }
};

// A call to make: where, how much, what.
struct Call {
  core::Address to;
  U256 value{0};
  Bytes data;
};

constexpr std::string_view kServiceTuple = "(string,string,uint32,uint64,(string,uint256)[])";

Result<Value> offers_value(const json& j) {
  std::vector<Value> offers;
  if (j.contains("offers")) {
    if (!j["offers"].is_array()) return make_error(Errc::invalid_input, "offers: must be a list");
    for (const auto& o : j["offers"]) {
      if (!o.is_object() || !o.contains("capability") || !o["capability"].is_string())
        return make_error(Errc::invalid_input, "offers: each needs a capability and a price");
      auto price = Args{o}.wei("price");
      if (!price) return price.error();
      offers.push_back(Value::list({Value::string(o["capability"].get<std::string>()), Value::uint(*price)}));
    }
  }
  return Value::list(std::move(offers));
}

} // namespace

Result<json> EvmWallet::send(const core::PrivateKey& key, const std::string& kind, const json& args) {
  const Args a{args};
  Call c;
  auto at = [&](std::string_view name) -> Result<void> {
    auto addr = contract(name);
    if (!addr) return addr.error();
    c.to = *addr;
    return {};
  };
  std::optional<Hash256> channel_id;
  if (kind == "fund" || kind == "unlock" || kind == "withdraw") {
    if (auto r = at("TicketBroker"); !r) return r.error();
    if (kind == "fund") {
      auto d = a.wei("deposit"), r = a.wei("reserve");
      if (!d) return d.error();
      if (!r) return r.error();
      c.value = *d + *r;
      c.data = call_data("fundDepositAndReserve(uint256,uint256)", {Value::uint(*d), Value::uint(*r)});
    } else {
      c.data = call_data(kind + "()");
    }
  } else if (kind == "transfer") {
    auto amount = a.wei("amount");
    if (!amount) return amount.error();
    auto t = a.address("to");
    if (!t) return t.error();
    c.to = *t;
    c.value = *amount;
  } else if (kind == "bond" || kind == "unbond") {
    if (auto r = at("Staking"); !r) return r.error();
    auto amount = a.wei("amount");
    if (!amount) return amount.error();
    if (kind == "bond") {
      c.value = *amount;
      c.data = call_data("bond()");
    } else {
      c.data = call_data("unbond(uint256)", {Value::uint(*amount)});
    }
  } else if (kind == "rebond" || kind == "withdraw_stake") {
    if (auto r = at("Staking"); !r) return r.error();
    auto lock = a.number("lock");
    if (!lock) return lock.error();
    c.data = call_data(kind == "rebond" ? "rebond(uint256)" : "withdraw(uint256)", {Value::uint(*lock)});
  } else if (kind == "open_channel") {
    if (auto r = at("StreamChannels"); !r) return r.error();
    auto payee = a.address("payee");
    auto amount = a.wei("amount");
    auto expiry = a.number("expiry");
    auto salt = a.hash("salt");
    if (!payee) return payee.error();
    if (!amount) return amount.error();
    if (!expiry) return expiry.error();
    if (!salt) return salt.error();
    c.value = *amount;
    c.data = call_data("open(address,uint256,bytes32)",
                       {Value::address(*payee), Value::uint(*expiry), Value::fixed_bytes(*salt)});
    auto chain = m_client.chain_id();
    if (!chain) return chain.error();
    // StreamChannels.channelId: keccak256(abi.encode(chainid, this, payer, payee, salt)).
    auto enc = abi::encode(
        std::vector<Type>{Type::uint(), Type::address(), Type::address(), Type::address(), Type::fixed_bytes(32)},
        std::vector<Value>{Value::uint(*chain), Value::address(c.to), Value::address(key.address()),
                           Value::address(*payee), Value::fixed_bytes(*salt)});
    if (!enc) return enc.error();
    channel_id = core::keccak256(*enc);
  } else if (kind == "top_up" || kind == "close_channel" || kind == "settle_channel" || kind == "claim") {
    if (auto r = at("StreamChannels"); !r) return r.error();
    auto id = a.hash("channel");
    if (!id) return id.error();
    if (kind == "top_up") {
      auto amount = a.wei("amount");
      if (!amount) return amount.error();
      c.value = *amount;
      c.data = call_data("topUp(bytes32)", {Value::fixed_bytes(*id)});
    } else if (kind == "claim") {
      auto cumulative = a.wei("cumulative");
      if (!cumulative) return cumulative.error();
      auto sig = core::RecoverableSignature::from_hex(a.text("signature"));
      if (!sig) return make_error(Errc::invalid_input, "signature: " + sig.error().message);
      const auto& b = sig->bytes();
      c.data = call_data("claim(bytes32,uint256,bytes)",
                         {Value::fixed_bytes(*id), Value::uint(*cumulative), Value::bytes(Bytes(b.begin(), b.end()))});
    } else {
      c.data = call_data(kind == "close_channel" ? "close(bytes32)" : "settle(bytes32)", {Value::fixed_bytes(*id)});
    }
  } else if (kind == "register" || kind == "update") {
    if (auto r = at("ServiceRegistry"); !r) return r.error();
    auto roles = a.number("roles");
    if (!roles) return roles.error();
    if (*roles > UINT32_MAX) return make_error(Errc::invalid_input, "roles: beyond 32 bits");
    auto offers = offers_value(args);
    if (!offers) return offers.error();
    c.data =
        call_data(kind == "register" ? "register(string,string,uint32,(string,uint256)[])"
                                     : "update(string,string,uint32,(string,uint256)[])",
                  {Value::string(a.text("endpoint")), Value::string(a.text("region")), Value::uint(*roles), *offers});
  } else if (kind == "deregister") {
    if (auto r = at("ServiceRegistry"); !r) return r.error();
    c.data = call_data("deregister()");
  } else {
    return make_error(Errc::unsupported, kind + ": not a wallet operation on an EVM chain");
  }
  auto tx = m_client.transact(key, c.to, c.value, c.data);
  if (!tx) return tx.error();
  auto receipt = m_client.wait(*tx, 1, std::chrono::seconds(120));
  if (!receipt) return make_error(receipt.error().code, core::to_hex(*tx) + ": " + receipt.error().message);
  if (!receipt->success) return make_error(Errc::io, kind + ": transaction " + core::to_hex(*tx) + " reverted");
  json out = {{"transaction", core::to_hex(*tx)}, {"block", receipt->block}, {"gas_used", receipt->gas_used}};
  if (channel_id) out["id"] = core::to_hex(*channel_id);
  if (kind == "unbond") { // the lock id, from Staking's Unbonded(staker, lockId, amount, withdrawBlock)
    static const Hash256 kUnbonded = *abi::event_topic("Unbonded(address,uint256,uint256,uint256)");
    for (const auto& l : receipt->logs) {
      if (l.address != c.to || l.topics.size() != 3 || l.topics[0] != kUnbonded) continue;
      auto id = small(core::from_word(l.topics[2]), "lockId");
      if (!id) return id.error();
      out["lock"] = *id;
    }
    if (!out.contains("lock")) return make_error(Errc::invalid_input, "unbond: no Unbonded event in the receipt");
  }
  return out;
}

Result<json> EvmWallet::status() {
  auto broker = contract("TicketBroker");
  if (!broker) return broker.error();
  auto height = m_client.block_number();
  if (!height) return height.error();
  const std::string at = to_quantity(U256(*height));
  auto got =
      m_client.batch({{"eth_chainId", json::array()}, {"eth_call", call_at(*broker, call_data("currentRound()"), at)}});
  if (!got) return got.error();
  if (!(*got)[0]) return (*got)[0].error();
  auto chain = parse_quantity(*(*got)[0]);
  if (!chain) return chain.error();
  auto round = uints((*got)[1], 1, "currentRound");
  if (!round) return round.error();
  auto r = small(round->at(0), "currentRound");
  if (!r) return r.error();
  return json{{"backend", "evm"}, {"chain_id", chain->str()}, {"height", *height}, {"round", *r}};
}

Result<json> EvmWallet::tickets(const core::Address& recipient) {
  auto broker = contract("TicketBroker");
  if (!broker) return broker.error();
  static const Hash256 kOutcome = *abi::event_topic("TicketOutcome(bytes32,address,address,uint8,uint256,uint256)");
  auto logs = m_client.rpc(
      "eth_getLogs",
      {json{{"fromBlock", "0x0"},
            {"toBlock", "latest"},
            {"address", broker->to_checksum_hex()},
            {"topics", {core::to_hex(kOutcome), nullptr, nullptr, core::to_hex(address_topic(recipient))}}}});
  if (!logs) return logs.error();
  if (!logs->is_array()) return make_error(Errc::invalid_input, "eth_getLogs: not a list");
  json list = json::array();
  for (const auto& l : *logs) {
    if (!l.is_object() || !l.contains("topics") || !l["topics"].is_array() || l["topics"].size() != 4)
      return make_error(Errc::invalid_input, "eth_getLogs: a malformed TicketOutcome");
    auto data = parse_data(l.value("data", json()));
    if (!data) return data.error();
    auto v = abi::decode(std::vector<Type>{Type::uint(8), Type::uint(), Type::uint()}, *data);
    if (!v) return make_error(Errc::invalid_input, "eth_getLogs: a malformed TicketOutcome");
    if ((*v)[0].as_uint() != 0) continue; // not paid
    auto hash = parse_data(l["topics"][1]);
    auto sender = parse_data(l["topics"][2]);
    if (!hash || hash->size() != 32 || !sender || sender->size() != 32)
      return make_error(Errc::invalid_input, "eth_getLogs: a malformed topic");
    FixedBytes<20> s20{};
    std::copy(sender->begin() + 12, sender->end(), s20.begin());
    auto block = parse_quantity(l.value("blockNumber", json()));
    auto transaction = parse_data(l.value("transactionHash", json()));
    list.push_back({{"ticket_hash", core::to_hex(*hash)},
                    {"sender", core::Address(s20).to_checksum_hex()},
                    {"face_value", (*v)[1].as_uint().str()},
                    {"from_reserve", (*v)[2].as_uint().str()},
                    {"block", block ? block->str() : "0"},
                    {"transaction", transaction ? core::to_hex(*transaction) : ""}});
  }
  pay::TicketDomain domain;
  auto id = m_client.chain_id();
  if (!id) return id.error();
  domain.chain_id = *id;
  domain.verifying_contract = *broker;
  return json{{"domain", domain.to_json()}, {"tickets", list}};
}

Result<json> EvmWallet::stake(const core::Address& staker) {
  auto staking = contract("Staking");
  if (!staking) return staking.error();
  auto height = m_client.block_number();
  if (!height) return height.error();
  const std::string at = to_quantity(U256(*height));
  auto got =
      m_client.batch({{"eth_call", call_at(*staking, call_data("bonded(address)", {Value::address(staker)}), at)},
                      {"eth_call", call_at(*staking, call_data("unbonding(address)", {Value::address(staker)}), at)},
                      {"eth_call", call_at(*staking, call_data("lockCount(address)", {Value::address(staker)}), at)}});
  if (!got) return got.error();
  auto bonded = uints((*got)[0], 1, "bonded");
  auto unbonding = uints((*got)[1], 1, "unbonding");
  auto count = uints((*got)[2], 1, "lockCount");
  for (const auto* r : {&bonded, &unbonding, &count}) {
    if (!*r) return r->error();
  }
  // Every lock ever made is read (withdrawn ones are zero and skipped); a
  // staker with more than this many is shown its first ones only.
  constexpr uint64_t kMaxLocks = 256;
  const uint64_t n = std::min<U256>(count->at(0), kMaxLocks).convert_to<uint64_t>();
  std::vector<std::pair<std::string, json>> calls;
  for (uint64_t i = 0; i < n; ++i)
    calls.push_back(
        {"eth_call",
         call_at(*staking, call_data("getLock(address,uint256)", {Value::address(staker), Value::uint(i)}), at)});
  json locks = json::array();
  if (n) {
    auto lg = m_client.batch(calls);
    if (!lg) return lg.error();
    for (uint64_t i = 0; i < n; ++i) {
      auto l = uints((*lg)[i], 2, "getLock");
      if (!l) return l.error();
      if (l->at(0) == 0) continue;
      auto wb = small(l->at(1), "withdrawBlock");
      if (!wb) return wb.error();
      locks.push_back({{"id", i}, {"amount", l->at(0).str()}, {"withdraw_block", *wb}});
    }
  }
  return json{{"bonded", bonded->at(0).str()},
              {"unbonding", unbonding->at(0).str()},
              {"stake", (bonded->at(0) + unbonding->at(0)).str()},
              {"locks", locks}};
}

Result<json> EvmWallet::channel_at(const core::Address& channels, const Hash256& id, const std::string& at) {
  auto v = decode_return(
      m_client.rpc("eth_call", call_at(channels, call_data("getChannel(bytes32)", {Value::fixed_bytes(id)}), at)),
      {Type::address(), Type::address(), Type::uint(), Type::uint(), Type::uint(8), Type::uint(), Type::uint()},
      "getChannel");
  if (!v) return v.error();
  const uint64_t state = static_cast<uint64_t>((*v)[4].as_uint()); // uint8, checked clean
  if (state == 0) return make_error(Errc::not_found, "no such channel " + core::to_hex(id));
  auto closes = small((*v)[5].as_uint(), "closesAt");
  auto expiry = small((*v)[6].as_uint(), "expiry");
  if (!closes) return closes.error();
  if (!expiry) return expiry.error();
  static constexpr std::array<const char*, 4> kStates = {"none", "open", "closing", "settled"};
  return json{{"id", core::to_hex(id)},
              {"payer", (*v)[0].as_address().to_checksum_hex()},
              {"payee", (*v)[1].as_address().to_checksum_hex()},
              {"deposit", (*v)[2].as_uint().str()},
              {"paid", (*v)[3].as_uint().str()},
              {"state", state < kStates.size() ? kStates[state] : "unknown"},
              {"closes_at_block", *closes},
              {"expiry", *expiry}};
}

Result<json> EvmWallet::channel(const Hash256& id) {
  auto channels = contract("StreamChannels");
  if (!channels) return channels.error();
  return channel_at(*channels, id, "latest");
}

Result<json> EvmWallet::channels(const core::Address& who) {
  auto channels = contract("StreamChannels");
  if (!channels) return channels.error();
  auto height = m_client.block_number();
  if (!height) return height.error();
  const std::string at = to_quantity(U256(*height));
  const auto* deployed = m_deployment.find("StreamChannels");
  static const Hash256 kOpened = *abi::event_topic("ChannelOpened(bytes32,address,address,uint256,uint256)");
  std::set<Hash256> ids;
  const std::string topic = core::to_hex(address_topic(who));
  for (const json& topics :
       {json{core::to_hex(kOpened), nullptr, topic}, json{core::to_hex(kOpened), nullptr, nullptr, topic}}) {
    auto logs = m_client.rpc("eth_getLogs", {json{{"fromBlock", to_quantity(U256(deployed->block))},
                                                  {"toBlock", at},
                                                  {"address", channels->to_checksum_hex()},
                                                  {"topics", topics}}});
    if (!logs) return logs.error();
    if (!logs->is_array()) return make_error(Errc::invalid_input, "eth_getLogs: not a list");
    for (const auto& l : *logs) {
      if (!l.is_object() || !l.contains("topics") || !l["topics"].is_array() || l["topics"].size() != 4)
        return make_error(Errc::invalid_input, "eth_getLogs: a malformed ChannelOpened");
      auto id = parse_data(l["topics"][1]);
      if (!id || id->size() != 32) return make_error(Errc::invalid_input, "eth_getLogs: a malformed topic");
      Hash256 h{};
      std::copy(id->begin(), id->end(), h.begin());
      ids.insert(h);
      if (ids.size() > 256) return make_error(Errc::overflow, "more than 256 channels");
    }
  }
  json list = json::array();
  for (const auto& id : ids) {
    auto c = channel_at(*channels, id, at);
    if (!c) return c.error();
    list.push_back(*c);
  }
  return list;
}

Result<json> EvmWallet::services(uint64_t start, uint64_t limit) {
  auto registry = contract("ServiceRegistry");
  if (!registry) return registry.error();
  auto height = m_client.block_number();
  if (!height) return height.error();
  const std::string at = to_quantity(U256(*height));
  limit = std::min<uint64_t>(limit, 256);
  auto page = decode_return(
      m_client.rpc(
          "eth_call",
          call_at(*registry, call_data("operators(uint256,uint256)", {Value::uint(start), Value::uint(limit)}), at)),
      {Type::array(Type::address())}, "operators");
  if (!page) return page.error();
  const auto& ops = (*page)[0].as_list();
  if (ops.size() > limit) return make_error(Errc::invalid_input, "operators: a longer page than asked for");
  std::vector<std::pair<std::string, json>> calls;
  for (const auto& op : ops)
    calls.push_back({"eth_call", call_at(*registry, call_data("getService(address)", {op}), at)});
  json list = json::array();
  if (calls.empty()) return list;
  auto got = m_client.batch(calls);
  if (!got) return got.error();
  static const Type kService = *Type::parse(kServiceTuple);
  for (std::size_t i = 0; i < ops.size(); ++i) {
    auto v = decode_return((*got)[i], {kService}, "getService");
    if (!v) return v.error();
    const auto& s = (*v)[0].as_list();
    auto roles = small(s[2].as_uint(), "roles");
    auto updated = small(s[3].as_uint(), "updatedBlock");
    if (!roles) return roles.error();
    if (!updated) return updated.error();
    json offers = json::array();
    for (const auto& o : s[4].as_list())
      offers.push_back({{"capability", o.as_list()[0].as_string()}, {"price", o.as_list()[1].as_uint().str()}});
    list.push_back({{"operator", ops[i].as_address().to_checksum_hex()},
                    {"endpoint", s[0].as_string()},
                    {"region", s[1].as_string()},
                    {"roles", *roles},
                    {"updated_block", *updated},
                    {"offers", offers}});
  }
  return list;
}

Result<pay::TicketDomain> EvmWallet::voucher_domain() {
  auto channels = contract("StreamChannels");
  if (!channels) return channels.error();
  auto id = m_client.chain_id();
  if (!id) return id.error();
  pay::TicketDomain d;
  d.chain_id = *id;
  d.verifying_contract = *channels;
  return d;
}

} // namespace openstreaming::api
