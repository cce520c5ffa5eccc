#include "api/evm_calls.h"

#include "core/hex.h"

#include <map>
#include <mutex>

namespace openstreaming::api::evm_calls {

using abi::Type;
using abi::Value;
using core::U256;
using nlohmann::json;

const abi::Function& fn(std::string_view signature) {
  static std::map<std::string, abi::Function, std::less<>> cache;
  static std::mutex mu;
  std::lock_guard lock(mu);
  auto it = cache.find(signature);
  if (it == cache.end()) it = cache.emplace(std::string(signature), *abi::Function::parse(signature)).first;
  return it->second;
}

json call_at(const core::Address& to, const Bytes& data, const std::string& block) {
  return json::array({json{{"to", to.to_checksum_hex()}, {"data", core::to_hex(data)}}, block});
}

Bytes call_data(std::string_view signature, std::vector<Value> args) {
  return *fn(signature).encode_call(args); // our own values of the declared types
}

Result<std::vector<U256>> uints(const Result<json>& r, std::size_t n, const char* what) {
  if (!r) return make_error(r.error().code, std::string(what) + ": " + r.error().message);
  auto data = parse_data(*r);
  if (!data) return make_error(Errc::invalid_input, std::string(what) + ": " + data.error().message);
  std::vector<Type> types(n, Type::uint());
  auto v = abi::decode(types, *data);
  if (!v) return make_error(Errc::invalid_input, std::string(what) + ": " + v.error().message);
  std::vector<U256> out;
  for (const auto& x : *v) out.push_back(x.as_uint());
  return out;
}

Result<uint64_t> small(const U256& v, const char* what) {
  if (v > U256(UINT64_MAX)) return make_error(Errc::invalid_input, std::string(what) + ": beyond 64 bits");
  return static_cast<uint64_t>(v);
}

Hash256 address_topic(const core::Address& a) {
  Hash256 t{};
  std::copy(a.bytes().begin(), a.bytes().end(), t.begin() + 12);
  return t;
}

Result<std::vector<Value>> decode_return(const Result<json>& r, const std::vector<Type>& types, const char* what) {
  if (!r) return make_error(r.error().code, std::string(what) + ": " + r.error().message);
  auto data = parse_data(*r);
  if (!data) return make_error(Errc::invalid_input, std::string(what) + ": " + data.error().message);
  auto v = abi::decode(types, *data);
  if (!v) return make_error(Errc::invalid_input, std::string(what) + ": " + v.error().message);
  return v;
}

std::vector<abi::Function> contract_errors() {
  std::vector<abi::Function> out;
  for (const char* sig :
       {// TicketBroker
        "InvalidParameter()", "AmountTooLarge()", "ValueMismatch()", "NothingToUnlock()", "NotUnlocking()",
        "UnlockFirst()", "Locked(uint256,uint256)", "BatchTooLarge()", "TicketNotRedeemed(uint8)", "TransferFailed()",
        // StreamChannels
        "ChannelExists()", "NoSuchChannel()", "NotPayer()", "NotPayee()", "NotOpen()", "ChannelSettledAlready()",
        "ChannelExpired()", "ChallengePeriodOver()", "ChallengePeriodNotOver()", "BadVoucherSignature()",
        "StaleVoucher(uint256,uint256)", "VoucherExceedsDeposit(uint256,uint256)",
        // ServiceRegistry
        "AlreadyRegistered()", "NotRegistered()", "InvalidRoles()", "EmptyEndpoint()", "TooLong()", "TooManyOffers()",
        // Staking
        "ZeroAmount()", "InsufficientBond(uint256,uint256)", "NoSuchLock()", "NotYetWithdrawable(uint256)"})
    out.push_back(*abi::Function::parse(sig)); // ours: they parse
  return out;
}

Result<U256> fees_paid(EvmClient& client, const std::set<core::Address>& from, uint64_t first, uint64_t last) {
  U256 total = 0;
  for (uint64_t b = first; b <= last; ++b) {
    auto receipts = client.rpc("eth_getBlockReceipts", json::array({to_quantity(U256(b))}));
    if (!receipts) return receipts.error();
    if (!receipts->is_array()) return make_error(Errc::invalid_input, "eth_getBlockReceipts: not a list");
    for (const auto& r : *receipts) {
      if (!r.is_object()) return make_error(Errc::invalid_input, "eth_getBlockReceipts: a malformed receipt");
      auto sender = core::Address::parse(r.value("from", ""));
      if (!sender || !from.count(*sender)) continue;
      auto used = parse_quantity(r.value("gasUsed", json()));
      auto price = parse_quantity(r.value("effectiveGasPrice", json()));
      if (!used || !price) return make_error(Errc::invalid_input, "eth_getBlockReceipts: a malformed receipt");
      total += *used * *price;
    }
  }
  return total;
}

} // namespace openstreaming::api::evm_calls
