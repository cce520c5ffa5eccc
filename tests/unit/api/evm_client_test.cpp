// What an EVM node returns is untrusted: the checked readers of quantities and
// data, JSON-RPC batches answered wrongly, and deployments.json files.
#include "api/evm_client.h"
#include "api/evm_deploy.h"
#include "api/http_server.h"

#include <boost/asio.hpp>
#include <gtest/gtest.h>

#include <functional>
#include <thread>

namespace openstreaming::api {
namespace {

using nlohmann::json;

TEST(EvmClient, QuantitiesAreCheckedHexOfAtMost256Bits) {
  EXPECT_EQ(*parse_quantity("0x0"), U256(0));
  EXPECT_EQ(*parse_quantity("0x7a69"), U256(31337));
  EXPECT_EQ(*parse_quantity("0xFF"), U256(255));
  EXPECT_EQ(*parse_quantity("0x" + std::string(64, 'f')), ~U256(0));
  for (const json& bad : {json("0x" + std::string(65, '1')), json("0x"), json("7a69"), json("0xg1"), json(""),
                          json(31337), json(nullptr), json::array()}) {
    EXPECT_FALSE(parse_quantity(bad)) << bad.dump();
  }
  EXPECT_EQ(to_quantity(0), "0x0");
  EXPECT_EQ(to_quantity(31337), "0x7a69");
  EXPECT_EQ(*parse_quantity(to_quantity(~U256(0))), ~U256(0));
}

TEST(EvmClient, DataIsCheckedHex) {
  EXPECT_EQ(*parse_data("0x"), Bytes{});
  EXPECT_EQ(*parse_data("0x00ff"), (Bytes{0x00, 0xff}));
  for (const json& bad : {json("00ff"), json("0x0"), json("0xzz"), json(1), json(nullptr)})
    EXPECT_FALSE(parse_data(bad)) << bad.dump();
}

// An EVM node on 127.0.0.1 whose answer to a batch is `answer(request)`.
struct FakeNode {
  boost::asio::io_context io;
  HttpServer server;
  uint16_t port = 0;
  std::thread thread;
  explicit FakeNode(std::function<json(const json&)> answer)
      : server(
            io,
            [answer](const HttpRequest& r) {
              return HttpResponse{200, "application/json", answer(json::parse(r.body)).dump()};
            },
            8, 1 << 20) {
    auto ep = server.listen("127.0.0.1", 0);
    EXPECT_TRUE(ep) << ep.error().message;
    if (ep) port = ep->port();
    thread = std::thread([this] { io.run(); });
  }
  ~FakeNode() {
    boost::asio::post(io, [this] {
      server.stop();
      io.stop();
    });
    thread.join();
  }
  EvmClient client() const { return EvmClient(*HttpUrl::parse("http://127.0.0.1:" + std::to_string(port) + "/")); }
};

const std::vector<std::pair<std::string, json>> kThreeCalls = {
    {"eth_blockNumber", json::array()}, {"eth_chainId", json::array()}, {"eth_gasPrice", json::array()}};

TEST(EvmClient, ABatchIsMatchedByIdAndEachCallKeepsItsOwnError) {
  FakeNode node([](const json& req) {
    json out = json::array();
    for (auto it = req.rbegin(); it != req.rend(); ++it) { // answered in reverse order
      if ((*it)["method"] == "eth_chainId")
        out.push_back({{"jsonrpc", "2.0"}, {"id", (*it)["id"]}, {"error", {{"code", -32000}, {"message", "nope"}}}});
      else
        out.push_back({{"jsonrpc", "2.0"}, {"id", (*it)["id"]}, {"result", (*it)["method"]}});
    }
    return out;
  });
  EvmClient c = node.client();
  for (int round = 0; round < 2; ++round) { // ids keep counting across batches
    auto r = c.batch(kThreeCalls);
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_EQ(r->size(), 3u);
    EXPECT_EQ(*(*r)[0], "eth_blockNumber");
    ASSERT_FALSE((*r)[1]);
    EXPECT_EQ((*r)[1].error().message, "eth_chainId: nope");
    EXPECT_EQ(*(*r)[2], "eth_gasPrice");
  }
}

TEST(EvmClient, ABatchAnsweredWronglyIsAnErrorNeverAMismatchedResult) {
  using Forge = std::function<json(const json&)>;
  auto answer = [](const json& id) { return json{{"jsonrpc", "2.0"}, {"id", id}, {"result", "0x1"}}; };
  std::vector<std::pair<const char*, Forge>> forged = {
      {"one answer short",
       [&](const json& q) {
         return json::array({answer(q[0]["id"]), answer(q[1]["id"])});
       }},
      {"an id twice",
       [&](const json& q) {
         return json::array({answer(q[0]["id"]), answer(q[0]["id"]), answer(q[2]["id"])});
       }},
      {"an id of no call",
       [&](const json& q) {
         return json::array({answer(q[0]["id"]), answer(q[1]["id"]), answer(9999)});
       }},
      {"an id that is not a number",
       [&](const json& q) {
         return json::array({answer(q[0]["id"]), answer(q[1]["id"]), answer("x")});
       }},
      {"no result and no error",
       [&](const json& q) {
         return json::array({answer(q[0]["id"]), answer(q[1]["id"]), json{{"jsonrpc", "2.0"}, {"id", q[2]["id"]}}});
       }},
      {"an object, not a list", [&](const json& q) { return answer(q[0]["id"]); }},
      {"the batch refused",
       [&](const json&) {
         return json{{"error", {{"code", -32600}, {"message", "too big"}}}};
       }},
  };
  for (const auto& [what, forge] : forged) {
    FakeNode node(forge);
    EvmClient c = node.client();
    auto r = c.batch(kThreeCalls);
    if (!r) continue; // the whole batch refused: right
    // Only "no result" may come back per call; then that call is an error.
    EXPECT_STREQ(what, "no result and no error");
    ASSERT_EQ(r->size(), 3u);
    EXPECT_FALSE((*r)[2]) << what;
  }
}

TEST(Deployment, AFileIsCheckedAndRoundTrips) {
  Deployment d;
  d.chain_id = 31337;
  d.deployer = *core::Address::parse("0x5C64cf60c6A6aF813e6c7536048fe314ba62E0Cc");
  d.params.round_blocks = 7;
  d.contracts.push_back(
      {"TicketBroker", *core::Address::parse("0x1ad13F6f1FB412005e3c770B3790e8b7e7D36d84"), {}, 3, 90});
  auto back = Deployment::from_json(d.to_json());
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->chain_id, U256(31337));
  EXPECT_EQ(back->params.round_blocks, 7u);
  ASSERT_NE(back->find("TicketBroker"), nullptr);
  EXPECT_EQ(back->find("TicketBroker")->address, d.contracts[0].address);
  EXPECT_EQ(back->find("Staking"), nullptr);
  for (const json& bad :
       {json::array(), json{{"contracts", json::object()}}, json{{"chain_id", "0"}, {"contracts", json::object()}},
        json{{"chain_id", "-1"}, {"contracts", json::object()}},
        json{{"chain_id", 31337}, {"contracts", json::object()}}, json{{"chain_id", "31337"}},
        json{{"chain_id", "31337"}, {"contracts", {{"TicketBroker", {{"address", "0x12"}}}}}},
        json{{"chain_id", "31337"}, {"contracts", {{"TicketBroker", 5}}}}}) {
    EXPECT_FALSE(Deployment::from_json(bad)) << bad.dump();
  }
}

} // namespace
} // namespace openstreaming::api
