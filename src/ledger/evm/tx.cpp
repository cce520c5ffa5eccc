#include "ledger/evm/tx.h"

#include "core/keccak.h"
#include "ledger/evm/rlp.h"

#include <algorithm>

namespace openstreaming::ledger::evm {
namespace {

using rlp::Item;

Item address_item(const std::optional<core::Address>& to) {
  if (!to) return Item::bytes(Bytes{});
  return Item::bytes(ByteView(to->bytes()));
}

Item access_list_item(const std::vector<AccessListEntry>& list) {
  std::vector<Item> entries;
  entries.reserve(list.size());
  for (const auto& e : list) {
    std::vector<Item> keys;
    keys.reserve(e.storage_keys.size());
    for (const auto& k : e.storage_keys) keys.push_back(Item::bytes(ByteView(k)));
    entries.push_back(Item::list({Item::bytes(ByteView(e.address.bytes())), Item::list(std::move(keys))}));
  }
  return Item::list(std::move(entries));
}

std::vector<Item> unsigned_fields(const Eip1559Transaction& tx) {
  std::vector<Item> f;
  f.reserve(12);
  f.push_back(Item::uint(tx.chain_id));
  f.push_back(Item::uint(tx.nonce));
  f.push_back(Item::uint(tx.max_priority_fee_per_gas));
  f.push_back(Item::uint(tx.max_fee_per_gas));
  f.push_back(Item::uint(tx.gas_limit));
  f.push_back(address_item(tx.to));
  f.push_back(Item::uint(tx.value));
  f.push_back(Item::bytes(ByteView(tx.data)));
  f.push_back(access_list_item(tx.access_list));
  return f;
}

Bytes typed(uint8_t type, const Item& list) {
  Bytes out{type};
  rlp::encode_to(list, out);
  return out;
}

// r ‖ s ‖ v (v = 27 + parity) from a 65-byte core signature.
struct Rsv {
  U256 r;
  U256 s;
  uint8_t parity;
};

Rsv split(const core::RecoverableSignature& sig) {
  const auto& b = sig.bytes();
  std::array<uint8_t, 32> r{};
  std::array<uint8_t, 32> s{};
  std::copy(b.begin(), b.begin() + 32, r.begin());
  std::copy(b.begin() + 32, b.begin() + 64, s.begin());
  return {core::from_word(r), core::from_word(s), static_cast<uint8_t>(b[64] - 27)};
}

Error field_error(const std::string& what) {
  return make_error(Errc::invalid_input, "eip1559 transaction: " + what);
}

Result<std::optional<core::Address>> read_to(const Item& item) {
  if (item.is_list()) return field_error("to: expected a byte string");
  if (item.payload().empty()) return std::optional<core::Address>{};
  auto a = rlp::to_fixed<20>(item, "to");
  if (!a) return a.error();
  return std::optional<core::Address>(core::Address(*a));
}

Result<std::vector<AccessListEntry>> read_access_list(const Item& item) {
  if (!item.is_list()) return field_error("accessList: expected a list");
  std::vector<AccessListEntry> out;
  out.reserve(item.items().size());
  for (const auto& entry : item.items()) {
    if (!entry.is_list() || entry.items().size() != 2) {
      return field_error("accessList entry: expected [address, storageKeys]");
    }
    auto address = rlp::to_fixed<20>(entry.items()[0], "accessList address");
    if (!address) return address.error();
    const Item& keys = entry.items()[1];
    if (!keys.is_list()) return field_error("accessList storageKeys: expected a list");
    AccessListEntry e{core::Address(*address), {}};
    e.storage_keys.reserve(keys.items().size());
    for (const auto& k : keys.items()) {
      auto key = rlp::to_fixed<32>(k, "accessList storage key");
      if (!key) return key.error();
      e.storage_keys.push_back(*key);
    }
    out.push_back(std::move(e));
  }
  return out;
}

} // namespace

Bytes signing_payload(const Eip1559Transaction& tx) {
  return typed(kEip1559TxType, Item::list(unsigned_fields(tx)));
}

Hash256 signing_hash(const Eip1559Transaction& tx) {
  return core::keccak256(signing_payload(tx));
}

SignedEip1559Transaction sign(const Eip1559Transaction& tx, const core::PrivateKey& key) {
  Rsv rsv = split(core::sign_hash(key, signing_hash(tx)));
  return SignedEip1559Transaction{tx, rsv.parity, rsv.r, rsv.s};
}

Bytes encode(const SignedEip1559Transaction& signed_tx) {
  std::vector<Item> f = unsigned_fields(signed_tx.tx);
  f.push_back(Item::uint(U256(signed_tx.y_parity)));
  f.push_back(Item::uint(signed_tx.r));
  f.push_back(Item::uint(signed_tx.s));
  return typed(kEip1559TxType, Item::list(std::move(f)));
}

Hash256 transaction_hash(const SignedEip1559Transaction& signed_tx) {
  return core::keccak256(encode(signed_tx));
}

Result<SignedEip1559Transaction> decode_eip1559(ByteView raw) {
  if (raw.empty() || raw[0] != kEip1559TxType) {
    return make_error(Errc::unsupported, "transaction: not an EIP-1559 (type 0x02) envelope");
  }
  auto decoded = rlp::decode(raw.subspan(1));
  if (!decoded) return make_error(decoded.error().code, "eip1559 transaction: " + decoded.error().message);
  const Item& list = *decoded;
  if (!list.is_list() || list.items().size() != 12) return field_error("expected a list of 12 fields");
  const auto& f = list.items();

  SignedEip1559Transaction out;
  Eip1559Transaction& tx = out.tx;
  auto chain_id = rlp::to_uint(f[0], "chainId");
  if (!chain_id) return chain_id.error();
  tx.chain_id = *chain_id;
  auto nonce = rlp::to_u64(f[1], "nonce");
  if (!nonce) return nonce.error();
  tx.nonce = *nonce;
  auto tip = rlp::to_uint(f[2], "maxPriorityFeePerGas");
  if (!tip) return tip.error();
  tx.max_priority_fee_per_gas = *tip;
  auto max_fee = rlp::to_uint(f[3], "maxFeePerGas");
  if (!max_fee) return max_fee.error();
  tx.max_fee_per_gas = *max_fee;
  auto gas = rlp::to_u64(f[4], "gasLimit");
  if (!gas) return gas.error();
  tx.gas_limit = *gas;
  auto to = read_to(f[5]);
  if (!to) return to.error();
  tx.to = *to;
  auto value = rlp::to_uint(f[6], "value");
  if (!value) return value.error();
  tx.value = *value;
  if (f[7].is_list()) return field_error("data: expected a byte string");
  tx.data = f[7].payload();
  auto access_list = read_access_list(f[8]);
  if (!access_list) return access_list.error();
  tx.access_list = std::move(*access_list);
  auto parity = rlp::to_uint(f[9], "yParity");
  if (!parity) return parity.error();
  if (*parity > 1) return field_error("yParity: must be 0 or 1");
  out.y_parity = static_cast<uint8_t>(*parity);
  auto r = rlp::to_uint(f[10], "r");
  if (!r) return r.error();
  out.r = *r;
  auto s = rlp::to_uint(f[11], "s");
  if (!s) return s.error();
  out.s = *s;
  return out;
}

Result<core::Address> recover_sender(const SignedEip1559Transaction& signed_tx) {
  if (signed_tx.y_parity > 1) return make_error(Errc::bad_signature, "yParity must be 0 or 1");
  FixedBytes<65> sig{};
  auto r = core::to_word(signed_tx.r);
  auto s = core::to_word(signed_tx.s);
  std::copy(r.begin(), r.end(), sig.begin());
  std::copy(s.begin(), s.end(), sig.begin() + 32);
  sig[64] = static_cast<uint8_t>(27 + signed_tx.y_parity);
  auto parsed = core::RecoverableSignature::parse(sig);
  if (!parsed) return parsed.error();
  auto pub = core::recover_public_key(signing_hash(signed_tx.tx), *parsed);
  if (!pub) return pub.error();
  return pub->address();
}

// ---- Legacy ------------------------------------------------------------------

namespace {

std::vector<Item> legacy_fields(const LegacyTransaction& tx) {
  std::vector<Item> f;
  f.reserve(9);
  f.push_back(Item::uint(tx.nonce));
  f.push_back(Item::uint(tx.gas_price));
  f.push_back(Item::uint(tx.gas_limit));
  f.push_back(address_item(tx.to));
  f.push_back(Item::uint(tx.value));
  f.push_back(Item::bytes(ByteView(tx.data)));
  return f;
}

} // namespace

Hash256 signing_hash(const LegacyTransaction& tx) {
  std::vector<Item> f = legacy_fields(tx);
  if (tx.chain_id != 0) {
    f.push_back(Item::uint(tx.chain_id));
    f.push_back(Item::uint(U256(0)));
    f.push_back(Item::uint(U256(0)));
  }
  return core::keccak256(rlp::encode(Item::list(std::move(f))));
}

SignedLegacyTransaction sign(const LegacyTransaction& tx, const core::PrivateKey& key) {
  Rsv rsv = split(core::sign_hash(key, signing_hash(tx)));
  U256 v = tx.chain_id != 0 ? tx.chain_id * 2 + 35 + rsv.parity : U256(27 + rsv.parity);
  return SignedLegacyTransaction{tx, v, rsv.r, rsv.s};
}

Bytes encode(const SignedLegacyTransaction& signed_tx) {
  std::vector<Item> f = legacy_fields(signed_tx.tx);
  f.push_back(Item::uint(signed_tx.v));
  f.push_back(Item::uint(signed_tx.r));
  f.push_back(Item::uint(signed_tx.s));
  return rlp::encode(Item::list(std::move(f)));
}

} // namespace openstreaming::ledger::evm
