// A hostile neighbour against a paying node, on the in-memory network: the
// payer pays only for parts it asked for, from the neighbour it asked, at a
// price it agreed to; the payee stops serving a payer that does not pay. The
// attacker is an ordinary node core whose frames the test forges and injects.
#include "agent/node.h"
#include "agent/payments/payment_frames.h"
#include "core/hex.h"
#include "support/mem_network.h"
#include "support/swarm.h"

#include <gtest/gtest.h>

#include <wire.pb.h>

namespace openstreaming::agent {
namespace {

namespace wire = openstreaming::wire::v1;
using core::MediaFrameType;
using test::MemNetwork;

NodeOptions opts(std::optional<std::size_t> peer, bool paying = false) {
  NodeOptions o = test::line_options(peer);
  o.payments.enabled = paying;
  return o;
}

Hash256 round_hash(uint64_t r) {
  Hash256 h{};
  h[0] = 0xab;
  h[31] = static_cast<uint8_t>(r);
  return h;
}

// What a node would see of a ledger where `funded` each hold a 1 ether deposit and reserve.
LedgerSnapshot ledger_with(std::initializer_list<core::Address> funded) {
  LedgerSnapshot s;
  s.chain_id = 1337;
  s.round = 3;
  s.height = 30;
  s.ticket_valid_rounds = 4;
  for (uint64_t r = 0; r <= s.round; ++r) s.round_hashes[r] = round_hash(r);
  for (const auto& a : funded)
    s.accounts[a] = {core::Amount::from_wei(1'000'000'000'000'000'000ULL),
                     core::Amount::from_wei(1'000'000'000'000'000'000ULL), 1, 0};
  return s;
}

template <class Msg>
core::Frame frame_of(MediaFrameType type, const Msg& msg) {
  core::Frame f;
  f.type = static_cast<uint16_t>(type);
  f.header.resize(msg.ByteSizeLong());
  msg.SerializeToArray(f.header.data(), static_cast<int>(f.header.size()));
  return f;
}

std::string bytes_of(const core::StreamId& id) {
  return std::string(id.begin(), id.end());
}

using test::conn_to;

void publish(MemNetwork& net, std::size_t b, const core::StreamId& id, uint64_t seg, uint32_t part,
             std::size_t size = 50'000) {
  test::publish(net, b, test::part_info(net, b, id, seg, part), size, 7);
}

// The stored, validly signed part as a wire frame (what a node would forward).
core::Frame stored_part(MemNetwork& net, std::size_t holder, const core::StreamId& id, uint64_t seg, uint32_t part) {
  const Stream* s = net.node(holder).streams().find(id);
  EXPECT_NE(s, nullptr);
  const StoredPart& p = s->segments().at(seg).parts.at(part);
  core::Frame f;
  f.type = static_cast<uint16_t>(MediaFrameType::part);
  f.header = *p.header;
  f.payload = p.payload;
  return f;
}

uint64_t unsolicited(const Node& n, const std::string& type) {
  auto it = n.metrics().frames_unsolicited.find(type);
  return it == n.metrics().frames_unsolicited.end() ? 0 : it->second;
}

// The measured attack: announce a stream under one's own key, answer
// "accepted" with a huge quote nobody asked for, hand out greedy ticket
// parameters, push validly signed parts. The victim must pay nothing.
TEST(PayerProtection, AStrangerCannotSetAPriceHandOutParametersOrPushPartsOnUs) {
  MemNetwork net(61);
  auto attacker = net.add(opts(std::nullopt));
  auto victim = net.add(opts(attacker, /*paying=*/true));
  net.start_all();
  ASSERT_TRUE(net.run_until([&] { return net.connected(); }, 10s));
  net.with(victim, [&](Node& n) { n.payments().set_ledger(ledger_with({net.key(victim).address()})); });
  core::StreamId id{};
  net.with(attacker, [&](Node& n) { id = n.streams().start_stream("evil", "t", "", net.now()); });
  net.run_for(1s);
  ASSERT_NE(net.node(victim).streams().find(id), nullptr) << "the announcement reached the victim";
  const ConnId to_victim = conn_to(net, attacker, victim);
  const core::Address a = net.key(attacker).address();

  // 1. An acceptance for a Subscribe never sent, at 1 ether per MB.
  wire::SubscribeResult r;
  r.set_stream_id(bytes_of(id));
  r.set_rendition("source");
  r.set_accepted(true);
  r.set_quote_wei_per_mb("1000000000000000000");
  net.with(attacker, [&](Node& n) { n.send_app_frame(to_victim, frame_of(MediaFrameType::subscribe_result, r)); });
  net.run_for(100ms);
  EXPECT_EQ(unsolicited(net.node(victim), "subscribe_result"), 1u);
  EXPECT_FALSE(net.node(victim).payments().owes(a));

  // 2. Greedy ticket parameters: face value 1 ether, every ticket wins.
  pay::TicketParams p;
  p.recipient = a;
  p.face_value = core::U256(1'000'000'000'000'000'000ULL);
  p.win_prob = pay::max_win_prob();
  p.creation_round = 3;
  p.creation_round_block_hash = round_hash(3);
  net.with(attacker, [&](Node& n) { n.send_app_frame(to_victim, ticket_params_frame(p, core::Amount())); });
  net.run_for(100ms);
  EXPECT_EQ(unsolicited(net.node(victim), "ticket_params"), 1u);
  EXPECT_EQ(net.node(victim).payments().relations().count(a), 0u) << "a stranger must not grow our relations";

  // 3. Validly signed parts of its own stream, pushed unasked.
  for (uint32_t k = 0; k < 8; ++k) {
    publish(net, attacker, id, 0, k);
    core::Frame f = stored_part(net, attacker, id, 0, k);
    net.with(attacker, [&](Node& n) { n.send_app_frame(to_victim, f); });
    net.run_for(50ms);
  }
  net.run_for(500ms);
  const Stream* s = net.node(victim).streams().find(id);
  EXPECT_EQ(s->stats.parts_received, 0u) << "parts nobody asked for are not taken";
  EXPECT_TRUE(s->stored.empty());
  EXPECT_EQ(unsolicited(net.node(victim), "part"), 8u);
  const NeighbourProfile* prof = net.node(victim).agent().memory.find(a);
  ASSERT_NE(prof, nullptr);
  EXPECT_EQ(prof->bytes_received, 0u);
  EXPECT_EQ(prof->owed_wei, core::Amount());
  EXPECT_EQ(prof->frames_unsolicited, 10u);
  EXPECT_EQ(net.node(victim).payments().relations().count(a), 0u) << "nothing metered, nothing owed, no ticket";

  // 4. Enough of them and the attacker is shunned and disconnected.
  for (int k = 0; k < 40 && net.node(victim).established_count() > 0; ++k) {
    net.with(attacker, [&](Node& n) { n.send_app_frame(to_victim, frame_of(MediaFrameType::subscribe_result, r)); });
    net.run_for(20ms);
  }
  EXPECT_EQ(net.node(victim).established_count(), 0u);
  EXPECT_TRUE(net.node(victim).agent().empathy.shunned(a, net.node(victim).wall_ms(net.now())));
}

// A neighbour we did subscribe to answers with a quote above our limit (an
// honest one would have refused us): the price is not taken, the subscription
// is cancelled, and the neighbour is treated as having refused.
TEST(PayerProtection, AnAcceptanceQuotingAboveOurLimitIsRefused) {
  MemNetwork net(62);
  auto b = net.add(opts(std::nullopt));
  NodeOptions vo = opts(b, /*paying=*/true);
  vo.agent_config.max_price_wei_per_mb = core::Amount::from_wei(5'000'000'000); // 5 gwei per MB
  auto v = net.add(vo);
  net.start_all();
  ASSERT_TRUE(net.run_until([&] { return net.connected(); }, 10s));
  core::StreamId id{};
  net.with(b, [&](Node& n) { id = n.streams().start_stream("show", "t", "", net.now()); });
  net.with(v, [&](Node& n) { n.streams().watch("show", net.now()); });
  net.run_for(2s);
  const core::Address ba = net.key(b).address();
  ASSERT_TRUE(net.node(v).payments().owes(ba)) << "the honest quote (about 1.2 gwei) is within the limit";
  const core::Amount agreed = net.node(v).payments().relations().at(ba).price_paid;
  EXPECT_LE(agreed, *vo.agent_config.max_price_wei_per_mb);

  wire::SubscribeResult r;
  r.set_stream_id(bytes_of(id));
  r.set_rendition("source");
  r.set_accepted(true);
  r.set_quote_wei_per_mb("6000000000"); // 6 gwei: above the limit
  net.with(b, [&](Node& n) { n.send_app_frame(conn_to(net, b, v), frame_of(MediaFrameType::subscribe_result, r)); });
  net.run_for(100ms);
  EXPECT_EQ(net.node(v).payments().relations().at(ba).price_paid, agreed) << "the dearer price was not taken";
  EXPECT_EQ(net.node(v).agent().memory.find(ba)->subscriptions_refused, 1u);
}

// A re-sent Subscribe with `resume` on a subscription that already exists does
// not buy another backfill: a few bytes must not cost megabytes again and again.
TEST(PayerProtection, ResumeBackfillsOnlyANewSubscription) {
  MemNetwork net(63);
  auto b = net.add(opts(std::nullopt));
  auto v = net.add(opts(b));
  net.start_all();
  ASSERT_TRUE(net.run_until([&] { return net.connected(); }, 10s));
  core::StreamId id{};
  net.with(b, [&](Node& n) { id = n.streams().start_stream("show", "t", "", net.now()); });
  net.with(v, [&](Node& n) { n.streams().watch("show", net.now()); });
  net.run_for(2s);
  for (uint32_t k = 0; k < 4; ++k) {
    publish(net, b, id, 0, k, 100'000);
    net.run_for(100ms);
  }
  ASSERT_EQ(net.node(v).streams().find(id)->stats.parts_received, 4u);
  const uint64_t part_bytes_before = net.node(b).metrics().out.bytes_of(static_cast<uint16_t>(MediaFrameType::part));
  wire::Subscribe sub;
  sub.set_stream_id(bytes_of(id));
  sub.set_rendition("source");
  sub.set_resume(true);
  sub.set_resume_segment(0);
  sub.set_resume_part(0); // "send me everything after part 0" — again and again
  for (int k = 0; k < 20; ++k) {
    net.with(v, [&](Node& n) { n.send_app_frame(conn_to(net, v, b), frame_of(MediaFrameType::subscribe, sub)); });
    net.run_for(20ms);
  }
  net.run_for(200ms);
  const uint64_t sent =
      net.node(b).metrics().out.bytes_of(static_cast<uint16_t>(MediaFrameType::part)) - part_bytes_before;
  EXPECT_EQ(sent, 0u) << "no backfill for a subscription that already exists";
}

// A payer whose tickets never come is served up to the credit limit, then its
// subscription is refused with payment_overdue (and stays refused until it pays).
TEST(PayerProtection, APayerThatNeverPaysIsCutOffAtTheCreditLimit) {
  MemNetwork net(64);
  NodeOptions bo = opts(std::nullopt, /*paying=*/true);
  bo.payments.credit_bytes = 300'000; // six 50 KB parts
  auto b = net.add(bo);
  auto v = net.add(opts(b)); // no ledger: it never pays
  net.start_all();
  ASSERT_TRUE(net.run_until([&] { return net.connected(); }, 10s));
  net.with(b, [&](Node& n) { n.payments().set_ledger(ledger_with({net.key(b).address(), net.key(v).address()})); });
  core::StreamId id{};
  net.with(b, [&](Node& n) { id = n.streams().start_stream("show", "t", "", net.now()); });
  net.with(v, [&](Node& n) { n.streams().watch("show", net.now()); });
  net.run_for(2s);
  for (uint32_t k = 0; k < 24; ++k) {
    publish(net, b, id, k / 4, k % 4);
    net.run_for(250ms);
  }
  const core::Address va = net.key(v).address();
  const PaymentRelation& rel = net.node(b).payments().relations().at(va);
  EXPECT_GE(rel.overdue_refusals, 1u);
  EXPECT_TRUE(net.node(b).payments().overdue(va));
  const uint64_t got = net.node(v).streams().find(id)->stats.parts_received;
  EXPECT_GE(got, 6u);
  EXPECT_LE(got, 8u) << "served about the credit limit (300 KB) and no more";
  EXPECT_EQ(net.node(b).streams().find(id)->subscribers.count(conn_to(net, b, v)), 0u);
}

} // namespace
} // namespace openstreaming::agent
