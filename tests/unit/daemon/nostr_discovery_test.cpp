// Picking a broadcaster's endpoint from what Nostr relays answered: only
// announcements bound to their broadcaster, of the stream asked for, live,
// with an endpoint; newest first.
#include "core/hex.h"
#include "core/part.h"
#include "core/random.h"
#include "daemon/nostr_discovery.h"

#include <gtest/gtest.h>

namespace openstreaming::daemon {
namespace {

struct Broadcaster {
  core::DeterministicRandom rng{5};
  core::PrivateKey key = core::PrivateKey::generate(rng);
  core::NostrEvent announce(const std::string& name, int64_t at, const std::string& status, const std::string& endpoint,
                            const core::PrivateKey* signer = nullptr) {
    core::NostrTags tags = {{"d", name},
                            {"status", status},
                            {"openstreaming:stream", core::to_hex(core::make_stream_id(key.address(), name), false)},
                            {"openstreaming:address", key.address().to_checksum_hex()}};
    if (!endpoint.empty()) tags.push_back({"openstreaming:endpoint", endpoint});
    return core::sign_event(signer ? *signer : key, at, 30311, tags, "", rng.bytes<32>());
  }
};

TEST(NostrDiscovery, TheFilterNamesTheStreamUnlessItIsAnId) {
  EXPECT_EQ(discovery_filter("show")["#d"], nlohmann::json::array({"show"}));
  EXPECT_EQ(discovery_filter("show")["kinds"], nlohmann::json::array({30311}));
  EXPECT_FALSE(discovery_filter(std::string(64, 'a')).contains("#d")) << "no relay filters on our stream id";
}

TEST(NostrDiscovery, OnlyLiveAnnouncementsOfTheStreamBoundToTheirBroadcasterGiveEndpoints) {
  Broadcaster b;
  core::DeterministicRandom rng(9);
  const core::PrivateKey impostor = core::PrivateKey::generate(rng);
  const std::vector<core::NostrEvent> events = {
      b.announce("show", 100, "live", "127.0.0.1:4000"),
      b.announce("show", 200, "live", "127.0.0.1:4001"),         // newer: first
      b.announce("show", 150, "live", "127.0.0.1:4000"),         // the same endpoint again: once
      b.announce("other", 300, "live", "127.0.0.1:5000"),        // another stream
      b.announce("show", 300, "ended", "127.0.0.1:6000"),        // ended
      b.announce("show", 300, "live", ""),                       // no endpoint
      b.announce("show", 300, "live", "not an endpoint"),        // unparsable
      b.announce("show", 400, "live", "127.0.0.1:1", &impostor), // signed by a key that is not the broadcaster's
  };
  auto eps = broadcaster_endpoints(events, "show");
  ASSERT_EQ(eps.size(), 2u);
  EXPECT_EQ(eps[0].to_string(), "127.0.0.1:4001");
  EXPECT_EQ(eps[1].to_string(), "127.0.0.1:4000");
  // By stream id as well as by name.
  const std::string id = core::to_hex(core::make_stream_id(b.key.address(), "other"), false);
  ASSERT_EQ(broadcaster_endpoints(events, id).size(), 1u);
  EXPECT_TRUE(broadcaster_endpoints(events, "nothing").empty());
}

} // namespace
} // namespace openstreaming::daemon
