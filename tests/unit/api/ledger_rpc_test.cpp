// The ledger's JSON-RPC server without sockets: every method against a real
// LedgerStore (SQLite in memory), and every kind of bad request; and the node's
// ledger poll (poll_ledger) against it.
#include "api/ledger_link.h"
#include "api/ledger_rpc.h"
#include "core/hex.h"
#include "core/keccak.h"
#include "core/random.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <filesystem>

namespace openstreaming::api {
namespace {

using ledger::json;

// Four funded keys on a chain with 4-block rounds, in an in-memory store.
struct Ledger {
  core::DeterministicRandom rng{11};
  std::vector<core::PrivateKey> keys;
  ledger::Genesis genesis;
  std::unique_ptr<ledger::LedgerStore> store;

  explicit Ledger(const std::string& path = ":memory:") {
    for (int i = 0; i < 4; ++i) keys.push_back(core::PrivateKey::generate(rng));
    for (const auto& k : keys) genesis.accounts[k.address()] = *core::Amount::parse("100ether");
    genesis.round_blocks = 4;
    auto s = ledger::LedgerStore::open(path, genesis);
    if (!s) {
      ADD_FAILURE() << s.error().message;
      std::abort();
    }
    store = std::move(*s);
  }
  ledger::State& state() { return store->state(); }
  std::string addr(int i) const { return keys[static_cast<std::size_t>(i)].address().to_checksum_hex(); }
  json call(const std::string& method, json params = json::object(), json id = 1) {
    return handle_ledger_rpc(*store, json{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", params}});
  }
  json signed_tx(int who, const std::string& kind, json args) {
    const auto& k = keys[static_cast<std::size_t>(who)];
    return ledger::sign_tx(k, state().account(k.address()).nonce, kind, std::move(args), genesis.chain_id).to_json();
  }
  json send(int who, const std::string& kind, json args) {
    return call("ledger_sendTransaction", {{"tx", signed_tx(who, kind, std::move(args))}});
  }
  // A ticket from `from` to `to` that always wins, created in the current round.
  json winning_ticket(int from, int to, const std::string& face, uint64_t nonce) {
    pay::Ticket t;
    t.recipient = keys[static_cast<std::size_t>(to)].address();
    t.sender = keys[static_cast<std::size_t>(from)].address();
    t.face_value = core::Amount::parse(face)->wei();
    t.win_prob = pay::max_win_prob();
    t.sender_nonce = nonce;
    Hash256 rand = core::keccak256(as_bytes(std::to_string(nonce)));
    t.recipient_rand_hash = core::keccak256(rand);
    t.creation_round = state().round();
    t.creation_round_block_hash = *state().round_block_hash(state().round());
    auto st = pay::sign_ticket(keys[static_cast<std::size_t>(from)], t, state().ticket_domain());
    return {{"ticket", t.to_json()}, {"signature", st.signature.to_hex()}, {"recipient_rand", core::to_hex(rand)}};
  }
};

// A response is JSON-RPC 2.0 with the request's id and exactly one of result and error.
void expect_shape(const json& r, const json& id) {
  ASSERT_TRUE(r.is_object()) << r.dump();
  EXPECT_EQ(r["jsonrpc"], "2.0") << r.dump();
  EXPECT_EQ(r["id"], id) << r.dump();
  EXPECT_NE(r.contains("result"), r.contains("error")) << r.dump();
}

int error_code(const json& r) {
  return r.contains("error") ? r["error"]["code"].get<int>() : 0;
}
std::string error_message(const json& r) {
  return r.contains("error") ? r["error"]["message"].get<std::string>() : "";
}

TEST(LedgerRpc, StatusDescribesTheChain) {
  Ledger l;
  l.store->seal_block(1000);
  json r = l.call("ledger_status");
  expect_shape(r, 1);
  const json& s = r["result"];
  EXPECT_EQ(s["chain_id"], 1337);
  EXPECT_EQ(s["height"], 1);
  EXPECT_EQ(s["round"], 0);
  EXPECT_EQ(s["block_hash"], core::to_hex(l.state().last_hash()));
  EXPECT_EQ(s["round_block_hash"], core::to_hex(*l.state().round_block_hash(0)));
  EXPECT_EQ(s["block_ms"], 500);
  EXPECT_EQ(s["round_blocks"], 4);
  EXPECT_EQ(s["supply"], "400000000000000000000");
  EXPECT_EQ(s["ticket_valid_rounds"], l.state().params().ticket_valid_rounds);
  EXPECT_EQ(s["unlock_rounds"], l.state().params().unlock_rounds);
  EXPECT_EQ(s["domain"], l.state().ticket_domain().to_json());
  EXPECT_EQ(s, ledger_status(l.state())); // what GET /status shows
}

TEST(LedgerRpc, AccountsAndGenesis) {
  Ledger l;
  json a = l.call("ledger_getAccount", {{"address", l.addr(2)}})["result"];
  EXPECT_EQ(a["address"], l.addr(2));
  EXPECT_EQ(a["balance"], "100000000000000000000");
  EXPECT_EQ(a["nonce"], 0);
  // Lower case is an address too; it comes back checksummed.
  std::string lower = l.addr(2);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  EXPECT_EQ(l.call("ledger_getAccount", {{"address", lower}})["result"], a);
  // An address the ledger has never seen is an empty account, not an error.
  std::string stranger = core::PrivateKey::generate(l.rng).address().to_checksum_hex();
  json empty = l.call("ledger_getAccount", {{"address", stranger}})["result"];
  EXPECT_EQ(empty["address"], stranger);
  EXPECT_EQ(empty["balance"], "0");

  json list = l.call("ledger_accounts")["result"];
  ASSERT_TRUE(list.is_array());
  ASSERT_EQ(list.size(), 4u);
  for (const auto& acc : list) {
    EXPECT_EQ(acc["balance"], "100000000000000000000");
    EXPECT_TRUE(l.genesis.accounts.count(*core::Address::parse(acc["address"].get<std::string>())));
  }
  EXPECT_EQ(l.call("ledger_genesis")["result"], l.genesis.to_json());
}

TEST(LedgerRpc, SendTransactionAppliesRecordsAndRefuses) {
  std::filesystem::path path = std::filesystem::temp_directory_path() /
                               ("ledger_rpc_test_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
                                "_" + std::to_string(reinterpret_cast<std::uintptr_t>(&path)) + ".sqlite");
  {
    Ledger l(path.string());
    json tx = l.signed_tx(0, "transfer", {{"to", l.addr(1)}, {"amount", "1ether"}});
    json r = l.call("ledger_sendTransaction", {{"tx", tx}}, "t1");
    expect_shape(r, "t1");
    ASSERT_TRUE(r.contains("result")) << r.dump();
    EXPECT_EQ(r["result"]["height"], 0); // in the open block
    EXPECT_EQ(l.call("ledger_getAccount", {{"address", l.addr(1)}})["result"]["balance"], "101000000000000000000");
    // The same signed transaction again: the state machine refuses it (code 1, its reason).
    json again = l.call("ledger_sendTransaction", {{"tx", tx}});
    EXPECT_EQ(error_code(again), kRpcTxRefused) << again.dump();
    EXPECT_NE(error_message(again).find("nonce"), std::string::npos) << again.dump();
    // Malformed transactions are bad params, and change nothing.
    EXPECT_EQ(error_code(l.call("ledger_sendTransaction")), kRpcInvalidParams);
    EXPECT_EQ(error_message(l.call("ledger_sendTransaction")), "'tx' required");
    for (json bad : {json(5), json::array(), json::object(), json{{"from", l.addr(0)}}}) {
      EXPECT_EQ(error_code(l.call("ledger_sendTransaction", {{"tx", bad}})), kRpcInvalidParams) << bad.dump();
    }
    EXPECT_EQ(l.state().account(l.keys[0].address()).nonce, 1u);
    l.store->seal_block(1000);
  }
  { // The accepted transaction was recorded: reopening replays it.
    Ledger l(path.string());
    EXPECT_EQ(l.state().height(), 1u);
    EXPECT_EQ(l.call("ledger_getAccount", {{"address", l.addr(1)}})["result"]["balance"], "101000000000000000000");
  }
  std::error_code ec;
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path.string() + suffix, ec);
}

TEST(LedgerRpc, RoundBlockHash) {
  Ledger l;
  for (int i = 0; i < 5; ++i) l.store->seal_block(1000 * (i + 1)); // into round 1
  EXPECT_EQ(l.call("ledger_roundBlockHash", {{"round", 0u}})["result"], core::to_hex(*l.state().round_block_hash(0)));
  EXPECT_EQ(l.call("ledger_roundBlockHash", {{"round", 1u}})["result"], core::to_hex(*l.state().round_block_hash(1)));
  // Over the wire a round is a JSON number, which parses as unsigned.
  json wire = json::parse(
      handle_ledger_rpc_body(*l.store, R"({"id": 1, "method": "ledger_roundBlockHash", "params": {"round": 1}})"));
  EXPECT_EQ(wire["result"], core::to_hex(*l.state().round_block_hash(1))) << wire.dump();
  json future = l.call("ledger_roundBlockHash", {{"round", 2u}});
  EXPECT_EQ(error_code(future), kRpcNoSuchRound);
  EXPECT_EQ(error_message(future), "no such round yet");
  for (json bad : {json(), json(-1), json(1.5), json("1"), json::array()}) {
    json params = json::object();
    if (!bad.is_null()) params["round"] = bad;
    json r = l.call("ledger_roundBlockHash", params);
    EXPECT_EQ(error_code(r), kRpcInvalidParams) << params.dump();
    EXPECT_EQ(error_message(r), "'round' required");
  }
}

TEST(LedgerRpc, RoundBlockHashesAreTheRoundsWhoseTicketsAreHonoured) {
  Ledger l;
  json early = l.call("ledger_roundBlockHashes")["result"];
  ASSERT_EQ(early.size(), 1u) << early.dump(); // round 0 only
  EXPECT_EQ(early[0]["round"], 0);
  for (int i = 0; i < 40; ++i) l.store->seal_block(1000 * (i + 1)); // into round 10
  const uint64_t round = l.state().round(), valid = l.state().params().ticket_valid_rounds;
  json r = l.call("ledger_roundBlockHashes")["result"];
  ASSERT_EQ(r.size(), valid + 1) << r.dump();
  for (uint64_t i = 0; i <= valid; ++i) {
    EXPECT_EQ(r[i]["round"], round - i);
    EXPECT_EQ(r[i]["hash"], core::to_hex(*l.state().round_block_hash(round - i)));
  }
}

TEST(LedgerRpc, GetAccountsAnswersInTheOrderAsked) {
  Ledger l;
  std::string stranger = core::PrivateKey::generate(l.rng).address().to_checksum_hex();
  json r = l.call("ledger_getAccounts", {{"addresses", {l.addr(3), stranger, l.addr(0)}}})["result"];
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0], l.call("ledger_getAccount", {{"address", l.addr(3)}})["result"]);
  EXPECT_EQ(r[1]["address"], stranger);
  EXPECT_EQ(r[1]["balance"], "0");
  EXPECT_EQ(r[2]["address"], l.addr(0));
  EXPECT_EQ(l.call("ledger_getAccounts", {{"addresses", json::array()}})["result"], json::array());
  for (json bad : {json(), json("0xab"), json::array({"0x12"}), json::array({1})}) {
    json params = json::object();
    if (!bad.is_null()) params["addresses"] = bad;
    EXPECT_EQ(error_code(l.call("ledger_getAccounts", params)), kRpcInvalidParams) << params.dump();
  }
  json many = json::array();
  for (std::size_t i = 0; i <= kMaxAccountsPerCall; ++i) many.push_back(l.addr(0));
  json over = l.call("ledger_getAccounts", {{"addresses", many}});
  EXPECT_EQ(error_code(over), kRpcInvalidParams);
  EXPECT_NE(error_message(over).find("at most 256"), std::string::npos) << error_message(over);
}

TEST(LedgerRpc, ABatchIsAnsweredCallByCallInOrder) {
  Ledger l;
  json batch = json::array({
      {{"jsonrpc", "2.0"}, {"id", 7}, {"method", "ledger_status"}},
      {{"jsonrpc", "2.0"}, {"id", "b"}, {"method", "ledger_getAccount"}, {"params", {{"address", l.addr(1)}}}},
      {{"jsonrpc", "2.0"}, {"id", 9}, {"method", "ledger_nope"}},
      json::array({{{"id", 1}, {"method", "ledger_status"}}}), // nested: not a request
      {{"jsonrpc", "2.0"}, {"method", "ledger_genesis"}},      // no id: answered too
  });
  json r = json::parse(handle_ledger_rpc_body(*l.store, batch.dump()));
  ASSERT_TRUE(r.is_array()) << r.dump();
  ASSERT_EQ(r.size(), 5u);
  expect_shape(r[0], 7);
  EXPECT_EQ(r[0]["result"], ledger_status(l.state()));
  expect_shape(r[1], "b");
  EXPECT_EQ(r[1]["result"]["address"], l.addr(1));
  EXPECT_EQ(error_code(r[2]), kRpcMethodNotFound);
  EXPECT_EQ(error_code(r[3]), kRpcInvalidRequest);
  expect_shape(r[4], nullptr);
  EXPECT_EQ(r[4]["result"], l.genesis.to_json());
  // An empty batch and one beyond the limit are a single error.
  json empty = json::parse(handle_ledger_rpc_body(*l.store, "[]"));
  expect_shape(empty, nullptr);
  EXPECT_EQ(error_code(empty), kRpcInvalidRequest);
  json big = json::array();
  for (std::size_t i = 0; i <= kMaxBatchCalls; ++i) big.push_back({{"id", i}, {"method", "ledger_status"}});
  json over = json::parse(handle_ledger_rpc_body(*l.store, big.dump()));
  ASSERT_TRUE(over.is_object()) << "an oversized batch is not run call by call";
  EXPECT_EQ(error_code(over), kRpcInvalidRequest);
}

// A node's ledger poll costs one request, whether it watches one payer or hundreds.
TEST(LedgerPoll, OnePollIsOneRequestWhateverTheWatchSet) {
  Ledger l;
  ASSERT_TRUE(l.send(1, "fund", {{"deposit", "2ether"}, {"reserve", "1ether"}})["result"].is_object());
  for (int i = 0; i < 30; ++i) l.store->seal_block(1000 * (i + 1)); // into round 7
  int requests = 0;
  LedgerPost post = [&](const std::string& body) -> Result<std::string> {
    ++requests;
    return handle_ledger_rpc_body(*l.store, body);
  };
  const core::Address self = l.keys[0].address(), payer = l.keys[1].address();
  for (std::size_t n : {0u, 1u, 40u, 255u, 1000u}) {
    std::vector<core::Address> watched{payer};
    while (watched.size() < n) watched.push_back(core::PrivateKey::generate(l.rng).address());
    if (n == 0) watched.clear();
    requests = 0;
    auto p = poll_ledger(post, self, watched);
    ASSERT_TRUE(p) << p.error().message;
    EXPECT_EQ(requests, 1) << n << " watched";
    const agent::LedgerSnapshot& s = p->snapshot;
    EXPECT_EQ(s.accounts.size(), std::min<std::size_t>(n + 1, kMaxAccountsPerCall)) << n << " watched";
    EXPECT_EQ(s.self.balance, l.state().account(self).balance);
    EXPECT_EQ(s.round, l.state().round());
    EXPECT_EQ(s.chain_id, l.genesis.chain_id);
    for (uint64_t back = 0; back <= s.ticket_valid_rounds; ++back)
      EXPECT_EQ(s.round_block_hash(s.round - back), l.state().round_block_hash(s.round - back)) << back;
    if (n > 0) {
      auto f = s.funds(payer);
      ASSERT_TRUE(f);
      EXPECT_EQ(f->deposit, *core::Amount::parse("2ether"));
      EXPECT_EQ(f->reserve, *core::Amount::parse("1ether"));
    }
    EXPECT_TRUE(p->channels.is_array());
  }
  // The ledger's refusal of the batch, and a transport error, are errors.
  LedgerPost refused = [](const std::string&) -> Result<std::string> {
    return std::string(R"({"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"empty batch"}})");
  };
  EXPECT_FALSE(poll_ledger(refused, self, {}));
  LedgerPost down = [](const std::string&) -> Result<std::string> { return make_error(Errc::io, "down"); };
  EXPECT_FALSE(poll_ledger(down, self, {}));
}

TEST(LedgerRpc, TicketsListsTheRecipientsRedeemedTickets) {
  Ledger l;
  ASSERT_TRUE(l.send(0, "fund", {{"deposit", "1ether"}, {"reserve", "1ether"}}).contains("result"));
  json t = l.winning_ticket(0, 1, "0.5ether", 1);
  json redeemed = l.send(1, "redeem", {{"tickets", {t}}});
  ASSERT_EQ(redeemed["result"]["results"][0]["paid"], true) << redeemed.dump();

  json r = l.call("ledger_tickets", {{"address", l.addr(1)}})["result"];
  EXPECT_EQ(r["domain"], l.state().ticket_domain().to_json());
  ASSERT_EQ(r["tickets"].size(), 1u) << r.dump();
  const json& got = r["tickets"][0];
  for (const auto& [k, v] : t["ticket"].items()) EXPECT_EQ(got[k], v) << k;
  EXPECT_EQ(got["signature"], t["signature"]);
  EXPECT_EQ(got["won"], true);
  EXPECT_EQ(got["redeemed"], true);
  EXPECT_EQ(got["ticket_hash"], redeemed["result"]["results"][0]["ticket_hash"]);
  EXPECT_EQ(got["redeemed_round"], 0);
  // The sender and a stranger have redeemed nothing.
  EXPECT_EQ(l.call("ledger_tickets", {{"address", l.addr(0)}})["result"]["tickets"], json::array());
  EXPECT_EQ(l.call("ledger_tickets", {{"address", l.addr(3)}})["result"]["tickets"], json::array());
}

TEST(LedgerRpc, ChannelsOfPayerAndPayee) {
  Ledger l;
  json opened =
      l.send(0, "open_channel",
             {{"payee", l.addr(1)}, {"amount", "2ether"}, {"expiry", 100}, {"salt", core::to_hex(Hash256{})}});
  ASSERT_TRUE(opened.contains("result")) << opened.dump();
  std::string id = opened["result"]["id"];
  for (int who : {0, 1}) {
    json list = l.call("ledger_channels", {{"address", l.addr(who)}})["result"];
    ASSERT_EQ(list.size(), 1u) << who;
    EXPECT_EQ(list[0], l.state().channels().begin()->second.to_json());
    EXPECT_EQ(list[0]["id"], id);
  }
  EXPECT_EQ(l.call("ledger_channels", {{"address", l.addr(2)}})["result"], json::array());
}

TEST(LedgerRpc, AddressParamsAreCheckedByEveryMethodThatTakesOne) {
  Ledger l;
  // The checksummed address with one letter's case flipped, still mixed case: a checksum mismatch.
  std::string wrong_case = l.addr(0);
  auto mixed = [](const std::string& s) {
    return std::any_of(s.begin() + 2, s.end(), [](unsigned char c) { return std::isupper(c); }) &&
           std::any_of(s.begin() + 2, s.end(), [](unsigned char c) { return std::islower(c); });
  };
  for (std::size_t i = 2; i < wrong_case.size(); ++i) {
    std::string flipped = wrong_case;
    auto c = static_cast<unsigned char>(flipped[i]);
    if (!std::isalpha(c)) continue;
    flipped[i] = static_cast<char>(std::isupper(c) ? std::tolower(c) : std::toupper(c));
    if (mixed(flipped)) {
      wrong_case = flipped;
      break;
    }
  }
  ASSERT_NE(wrong_case, l.addr(0));
  for (const char* method : {"ledger_getAccount", "ledger_tickets", "ledger_channels"}) {
    for (json params : {json::object(), json{{"address", 5}}, json{{"address", nullptr}}}) {
      json r = l.call(method, params);
      EXPECT_EQ(error_code(r), kRpcInvalidParams) << method << " " << params.dump();
      EXPECT_EQ(error_message(r), "'address' required") << method;
    }
    for (json params : {json{{"address", "0x12"}}, json{{"address", "hello"}}, json{{"address", wrong_case}}}) {
      json r = l.call(method, params);
      EXPECT_EQ(error_code(r), kRpcInvalidParams) << method << " " << params.dump();
      EXPECT_FALSE(error_message(r).empty());
    }
  }
}

TEST(LedgerRpc, BadRequestsAreAnsweredNotThrown) {
  Ledger l;
  struct Case {
    const char* body;
    int code;
    json id;
    const char* message;
  };
  const Case cases[] = {
      {.body = "", .code = kRpcParseError, .id = nullptr, .message = "parse error"},
      {.body = "not json", .code = kRpcParseError, .id = nullptr, .message = "parse error"},
      {.body = R"({"id": 1, "method": "ledger_status")",
       .code = kRpcParseError,
       .id = nullptr,
       .message = "parse error"},
      {.body = "[]", .code = kRpcInvalidRequest, .id = nullptr, .message = "empty batch"}, // batches: see below
      {.body = "42", .code = kRpcInvalidRequest, .id = nullptr, .message = "invalid request"},
      {.body = R"("ledger_status")", .code = kRpcInvalidRequest, .id = nullptr, .message = "invalid request"},
      {.body = "null", .code = kRpcInvalidRequest, .id = nullptr, .message = "invalid request"},
      {.body = R"({"id": 7})", .code = kRpcInvalidRequest, .id = 7, .message = "invalid request"},
      {.body = R"({"id": "a", "method": 5})", .code = kRpcInvalidRequest, .id = "a", .message = "invalid request"},
      {.body = R"({"id": [1], "method": null})", .code = kRpcInvalidRequest, .id = {1}, .message = "invalid request"},
      {.body = R"({"id": 2, "method": "ledger_status", "params": []})",
       .code = kRpcInvalidParams,
       .id = 2,
       .message = "params must be an object"},
      {.body = R"({"id": 3, "method": "ledger_status", "params": "x"})",
       .code = kRpcInvalidParams,
       .id = 3,
       .message = "params must be an object"},
      {.body = R"({"id": 4, "method": "ledger_status", "params": null})",
       .code = kRpcInvalidParams,
       .id = 4,
       .message = "params must be an object"},
      {.body = R"({"id": 5, "method": "ledger_nope"})",
       .code = kRpcMethodNotFound,
       .id = 5,
       .message = "unknown method 'ledger_nope'"},
      {.body = R"({"id": 6, "method": ""})", .code = kRpcMethodNotFound, .id = 6, .message = "unknown method ''"},
      {.body = R"({"id": 8, "method": "LEDGER_STATUS"})",
       .code = kRpcMethodNotFound,
       .id = 8,
       .message = "unknown method 'LEDGER_STATUS'"},
  };
  for (const Case& c : cases) {
    std::string text = handle_ledger_rpc_body(*l.store, c.body);
    json r = json::parse(text, nullptr, false);
    ASSERT_FALSE(r.is_discarded()) << text;
    expect_shape(r, c.id);
    EXPECT_EQ(error_code(r), c.code) << c.body << " -> " << text;
    EXPECT_EQ(error_message(r), c.message) << c.body;
  }
  EXPECT_EQ(l.state().height(), 0u);
}

TEST(LedgerRpc, LenientWhereItAlwaysWas) {
  // What the ledger has always accepted stays accepted: no "jsonrpc" member, no
  // params, no id (answered with a null id), extra members.
  Ledger l;
  for (const char* body : {R"({"method": "ledger_status"})", R"({"method": "ledger_status", "jsonrpc": "1.0"})",
                           R"({"method": "ledger_status", "params": {}, "extra": true, "id": null})"}) {
    json r = json::parse(handle_ledger_rpc_body(*l.store, body));
    expect_shape(r, nullptr);
    EXPECT_TRUE(r.contains("result")) << body;
  }
  json r = json::parse(handle_ledger_rpc_body(*l.store, R"({"id": {"a": 1}, "method": "ledger_genesis"})"));
  expect_shape(r, json{{"a", 1}});
  // The body is the response as sent: compact, no trailing newline.
  std::string text = handle_ledger_rpc_body(*l.store, R"({"id":1,"method":"ledger_nope"})");
  EXPECT_EQ(text, R"({"error":{"code":-32601,"message":"unknown method 'ledger_nope'"},"id":1,"jsonrpc":"2.0"})");
}

} // namespace
} // namespace openstreaming::api
