// The ledger's JSON-RPC server (api::handle_ledger_rpc_body) on arbitrary POST
// bodies: never crash or throw; every answer is a JSON-RPC 2.0 response object
// (jsonrpc "2.0", an id, exactly one of result and error), or for a batch an
// array of them, one per call; and no body changes
// the ledger without a valid signature, so the state stays the one built here.
//
// The ledger is built once, with something for every read method to list: two
// funded accounts, a channel, a redeemed ticket, blocks into round 1. The store
// is SQLite in memory.
#include "api/ledger_rpc.h"
#include "core/hex.h"
#include "core/keccak.h"
#include "core/random.h"

#include <cstdlib>
#include <string_view>

using namespace openstreaming;
using ledger::json;

namespace {

struct Fixture {
  core::DeterministicRandom rng{3};
  core::PrivateKey payer = core::PrivateKey::generate(rng);
  core::PrivateKey payee = core::PrivateKey::generate(rng);
  std::unique_ptr<ledger::LedgerStore> store;
  Hash256 hash_before{};

  Fixture() {
    ledger::Genesis g;
    g.accounts[payer.address()] = *core::Amount::parse("100ether");
    g.accounts[payee.address()] = *core::Amount::parse("1ether");
    g.round_blocks = 2;
    auto s = ledger::LedgerStore::open(":memory:", g);
    if (!s) std::abort();
    store = std::move(*s);
    auto submit = [&](const core::PrivateKey& k, const std::string& kind, json args) {
      auto tx = ledger::sign_tx(k, store->state().account(k.address()).nonce, kind, std::move(args), g.chain_id);
      if (!store->submit(tx)) std::abort();
    };
    submit(payer, "fund", {{"deposit", "1ether"}, {"reserve", "1ether"}});
    submit(payer, "open_channel",
           {{"payee", payee.address().to_checksum_hex()},
            {"amount", "1ether"},
            {"expiry", 100},
            {"salt", core::to_hex(Hash256{})}});
    pay::Ticket t;
    t.recipient = payee.address();
    t.sender = payer.address();
    t.face_value = core::Amount::parse("0.1ether")->wei();
    t.win_prob = pay::max_win_prob();
    t.sender_nonce = 1;
    Hash256 rand = core::keccak256(as_bytes(std::string_view("seed")));
    t.recipient_rand_hash = core::keccak256(rand);
    t.creation_round = 0;
    t.creation_round_block_hash = *store->state().round_block_hash(0);
    auto st = pay::sign_ticket(payer, t, store->state().ticket_domain());
    json item = {{"ticket", t.to_json()}, {"signature", st.signature.to_hex()}, {"recipient_rand", core::to_hex(rand)}};
    submit(payee, "redeem", {{"tickets", {item}}});
    for (int i = 0; i < 3; ++i) store->seal_block(1000 * (i + 1));
    hash_before = store->state().last_hash();
  }
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Fixture f;
  std::string text = api::handle_ledger_rpc_body(*f.store, std::string_view(reinterpret_cast<const char*>(data), size));
  json r = json::parse(text, nullptr, /*allow_exceptions=*/false);
  auto response = [](const json& one) {
    return one.is_object() && one.value("jsonrpc", "") == "2.0" && one.contains("id") &&
           one.contains("result") != one.contains("error");
  };
  // A batch is answered with one response per call, each a response object.
  if (r.is_array()) {
    auto calls = json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
    if (!calls.is_array() || calls.size() != r.size() || r.empty()) std::abort();
    for (const auto& one : r)
      if (!response(one)) std::abort();
  } else if (!response(r)) {
    std::abort();
  }
  // Nothing here can sign a transaction: the open block stays empty and the state as built.
  if (f.store->state().height() != 3 || f.store->state().last_hash() != f.hash_before ||
      f.store->state().account(f.payer.address()).nonce != 2)
    std::abort();
  return 0;
}
