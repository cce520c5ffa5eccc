// The relay protocol's client side without sockets: what we send, every
// message a relay may send (and the malformed ones, each with its reason),
// NIP-11 limits, NIP-19 npubs, and the binding of an announcement to its
// broadcaster.
#include "core/announcement.h"
#include "core/hex.h"
#include "core/nip19.h"
#include "core/nostr_relay.h"
#include "core/random.h"

#include <gtest/gtest.h>

namespace openstreaming::core {
namespace {

using nlohmann::json;

NostrEvent note() {
  DeterministicRandom rng(7);
  PrivateKey key = PrivateKey::generate(rng);
  return sign_event(key, 1700000000, 1, {{"t", "x"}}, "hi", rng.bytes<32>());
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(NostrRelay, RelayUrlsAreWsOrWssWithAHost) {
  auto u = RelayUrl::parse("wss://relay.example/nostr");
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_TRUE(u->tls);
  EXPECT_EQ(u->host, "relay.example");
  EXPECT_EQ(u->port, 443);
  EXPECT_EQ(u->target, "/nostr");
  EXPECT_EQ(u->text(), "wss://relay.example:443/nostr");
  auto p = RelayUrl::parse("ws://127.0.0.1:7777");
  ASSERT_TRUE(p);
  EXPECT_FALSE(p->tls);
  EXPECT_EQ(p->port, 7777);
  EXPECT_EQ(p->target, "/");
  for (const char* bad : {"http://relay.example", "ws://", "ws://:80", "ws://h:0", "ws://h:65536", "ws://h:x",
                          "ws://h/a b", "ws://h/\r\nX: y"}) {
    EXPECT_FALSE(RelayUrl::parse(bad)) << bad;
  }
  EXPECT_FALSE(RelayUrl::parse("ws://h/" + std::string(3000, 'a')));
}

TEST(NostrRelay, ClientMessagesAreTheNip01Arrays) {
  const NostrEvent ev = note();
  EXPECT_EQ(json::parse(client_event_message(ev)), json::array({"EVENT", to_json(ev)}));
  EXPECT_EQ(client_req_message("s1", {{"kinds", {30311}}}), R"(["REQ","s1",{"kinds":[30311]}])");
  EXPECT_EQ(client_close_message("s1"), R"(["CLOSE","s1"])");
}

TEST(NostrRelay, EveryRelayMessageWeReadParses) {
  const NostrEvent ev = note();
  auto e = parse_relay_message(json::array({"EVENT", "s1", to_json(ev)}).dump());
  ASSERT_TRUE(e) << e.error().message;
  ASSERT_TRUE(std::holds_alternative<RelayEvent>(*e));
  EXPECT_EQ(std::get<RelayEvent>(*e).subscription, "s1");
  EXPECT_EQ(std::get<RelayEvent>(*e).event, ev);

  auto ok = parse_relay_message(R"(["OK","abc",false,"blocked: no"])");
  ASSERT_TRUE(ok);
  EXPECT_EQ(std::get<RelayOk>(*ok).event_id, "abc");
  EXPECT_FALSE(std::get<RelayOk>(*ok).accepted);
  EXPECT_EQ(std::get<RelayOk>(*ok).message, "blocked: no");
  auto legacy = parse_relay_message(R"(["OK","abc",true])");
  ASSERT_TRUE(legacy) << "a relay from before the message was mandatory";
  EXPECT_TRUE(std::get<RelayOk>(*legacy).accepted);
  EXPECT_EQ(std::get<RelayOk>(*legacy).message, "");
  auto eose = parse_relay_message(R"(["EOSE","s1"])");
  ASSERT_TRUE(eose);
  EXPECT_EQ(std::get<RelayEose>(*eose).subscription, "s1");
  auto closed = parse_relay_message(R"(["CLOSED","s1","error: too many"])");
  ASSERT_TRUE(closed);
  EXPECT_EQ(std::get<RelayClosed>(*closed).message, "error: too many");
  auto notice = parse_relay_message(R"(["NOTICE","slow down"])");
  ASSERT_TRUE(notice);
  EXPECT_EQ(std::get<RelayNotice>(*notice).message, "slow down");
  // A type a later NIP adds is unsupported, not garbage: a client skips it.
  auto auth = parse_relay_message(R"(["AUTH","challenge"])");
  ASSERT_FALSE(auth);
  EXPECT_EQ(auth.error().code, Errc::unsupported);
}

TEST(NostrRelay, MalformedRelayMessagesAreRefusedWithTheReason) {
  json bad_event = to_json(note());
  bad_event["sig"] = "zz";
  const struct {
    std::string text;
    const char* reason;
  } cases[] = {
      {"this is not json", "not JSON"},
      {R"({"OK":1})", "not an array"},
      {"[]", "not an array"},
      {"[1,2]", "not an array"},
      {R"(["OK"])", "OK must have 4 elements"},
      {R"(["OK","id","yes","m"])", "accepted flag"},
      {R"(["OK",1,true,""])", "OK's event id must be a string"},
      {R"(["EOSE"])", "EOSE must have 2"},
      {R"(["EOSE",7])", "subscription id must be a string"},
      {R"(["EVENT","s1",[]])", "must be an object"},
      {json::array({"EVENT", "s1", bad_event}).dump(), "'sig'"},
      {json::array({"EVENT", std::string(65, 's'), to_json(note())}).dump(), "longer than 64"},
      {R"(["NOTICE",{}])", "NOTICE's message must be a string"},
      {json::array({"NOTICE", std::string(5000, 'n')}).dump(), "longer than 4096"},
      {std::string(kNostrMaxRelayMessageBytes + 1, ' '), "more than the limit"},
  };
  for (const auto& c : cases) {
    auto r = parse_relay_message(c.text);
    ASSERT_FALSE(r) << c.text.substr(0, 60);
    EXPECT_EQ(r.error().code, Errc::invalid_input) << c.text.substr(0, 60);
    EXPECT_TRUE(has(r.error().message, c.reason)) << c.text.substr(0, 60) << " -> " << r.error().message;
  }
}

TEST(NostrRelay, StatedLimitsAreHonouredButNeverRaiseOurs) {
  auto l = relay_info_from_json(json{{"name", "test relay"},
                                     {"limitation",
                                      {{"max_message_length", 2048},
                                       {"max_subscriptions", 0},
                                       {"max_limit", 100000},
                                       {"max_event_tags", 5},
                                       {"auth_required", false},
                                       {"payment_required", true}}}});
  ASSERT_TRUE(l) << l.error().message;
  EXPECT_EQ(l->name, "test relay");
  EXPECT_EQ(l->max_message_length, 2048u);
  EXPECT_EQ(l->max_subscriptions, 1u) << "a relay stating 0 still gets one";
  EXPECT_EQ(l->max_limit, RelayLimits{}.max_limit) << "never more than we would ask for";
  EXPECT_EQ(l->max_event_tags, 5u);
  EXPECT_TRUE(l->payment_required);

  EXPECT_TRUE(relay_info_from_json(json::object())) << "no limitation: the defaults";
  EXPECT_FALSE(relay_info_from_json(json::array()));
  EXPECT_FALSE(relay_info_from_json(json{{"limitation", "none"}}));
  EXPECT_FALSE(relay_info_from_json(json{{"limitation", {{"max_message_length", -1}}}}));
  EXPECT_FALSE(relay_info_from_json(json{{"limitation", {{"max_message_length", 1.5}}}}));
  EXPECT_FALSE(relay_info_from_json(json{{"limitation", {{"auth_required", "no"}}}}));

  // What we would send against what the relay takes.
  NostrEvent ev = note();
  EXPECT_FALSE(exceeds_limits(ev, RelayLimits{}));
  RelayLimits few_tags;
  few_tags.max_event_tags = 0;
  EXPECT_TRUE(has(*exceeds_limits(ev, few_tags), "1 tags"));
  RelayLimits small;
  small.max_message_length = 100;
  EXPECT_TRUE(has(*exceeds_limits(ev, small), "takes at most 100"));
  EXPECT_TRUE(has(*exceeds_limits(ev, *l), "payment"));
}

TEST(Nip19, NpubsDecodeToTheirKeysAndBack) {
  // NIP-19's own example.
  const std::string npub = "npub10elfcs4fr0l0r8af98jlmgdh9c8tcxjvz9qkw038js35mp4dma8qzvjptg";
  const std::string hex = "7e7e9c42a91bfef19fa929e5fda1b72e0ebc1a4c1141673e2794234d86addf4e";
  auto d = decode_npub(npub);
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(*d, hex);
  EXPECT_EQ(*encode_npub(hex), npub);
  std::string upper = npub;
  for (char& c : upper) c = static_cast<char>(std::toupper(c));
  EXPECT_EQ(*decode_npub(upper), hex);

  std::string flipped = npub;
  flipped[10] = flipped[10] == 'q' ? 'p' : 'q';
  EXPECT_TRUE(has(decode_npub(flipped).error().message, "checksum"));
  std::string mixed = npub;
  mixed[6] = static_cast<char>(std::toupper(mixed[6]));
  EXPECT_TRUE(has(decode_npub(mixed).error().message, "mixed case"));
  EXPECT_TRUE(has(decode_npub("nsec1" + npub.substr(5)).error().message, "npub1"));
  EXPECT_TRUE(has(decode_npub("npub1b").error().message, "too short"));
  EXPECT_TRUE(has(decode_npub(npub.substr(0, 20) + "!" + npub.substr(21)).error().message, "bech32 character"));
  EXPECT_FALSE(encode_npub("abcd"));
}

TEST(StreamAnnouncement, IsReadOnlyWhenBoundToTheKeyThatSignedIt) {
  DeterministicRandom rng(11);
  PrivateKey key = PrivateKey::generate(rng);
  PrivateKey other = PrivateKey::generate(rng);
  const StreamId id = make_stream_id(key.address(), "show");
  auto announce = [&](const PrivateKey& signer, const Address& claimed, const std::string& stream_hex) {
    return sign_event(signer, 1700000000, 30311,
                      {{"d", "show"},
                       {"title", "The Show"},
                       {"status", "live"},
                       {"openstreaming:stream", stream_hex},
                       {"openstreaming:address", claimed.to_checksum_hex()},
                       {"openstreaming:renditions", "source"},
                       {"openstreaming:endpoint", "127.0.0.1:4000"}},
                      "", rng.bytes<32>());
  };
  auto a = read_stream_announcement(announce(key, key.address(), to_hex(id, false)));
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->name, "show");
  EXPECT_EQ(a->broadcaster, key.address());
  EXPECT_EQ(a->id, id);
  EXPECT_EQ(a->title, "The Show");
  EXPECT_EQ(a->endpoint, "127.0.0.1:4000");

  EXPECT_TRUE(has(read_stream_announcement(announce(other, key.address(), to_hex(id, false))).error().message,
                  "signed by a key other than"));
  EXPECT_TRUE(has(read_stream_announcement(announce(key, key.address(), std::string(64, '0'))).error().message,
                  "not the id of show"));
  NostrEvent note_kind = announce(key, key.address(), to_hex(id, false));
  note_kind.kind = 1;
  EXPECT_FALSE(read_stream_announcement(note_kind));
  EXPECT_FALSE(read_stream_announcement(sign_event(key, 1, 30311, {{"d", "show"}}, "", rng.bytes<32>())));
}

} // namespace
} // namespace openstreaming::core
