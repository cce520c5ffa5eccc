// Talking to Nostr relays (NIP-01 over a WebSocket, NIP-11 relay information)
// with Boost.Beast: ws:// and wss:// (TLS 1.2+, the relay's certificate
// verified as https:// is in http_client.h).
//
// NostrRelayClient is one connection, blocking with deadlines: every call
// returns within its timeout, answered or not (a relay that accepts and never
// answers OK is an Errc::io error "no answer within N ms", never a hang). What
// the relay sends is untrusted (core/nostr_relay.h parses it): a malformed
// message closes the connection with the reason; events that fail
// verification are dropped and counted, never returned.
//
// NostrPublisher keeps the node's announcements on a set of relays from a
// thread of its own: it connects to each, publishes the newest announcement
// of each stream, reads each relay's OK and its reason, reconnects with
// backoff (1 s doubling to 60 s) and re-publishes an unchanged announcement
// every `refresh` (10 min) so clients never take a live stream for stale.
#pragma once

#include "core/nostr.h"
#include "core/nostr_relay.h"
#include "core/result.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace openstreaming::api {

using RelayUrl = core::RelayUrl; // ws:// or wss:// (core/nostr_relay.h)

struct RelayQuery {
  std::vector<core::NostrEvent> events; // verified (id and signature), in the order the relay sent them
  uint64_t dropped = 0;                 // events that failed verification or matched another subscription
  std::string first_drop;               // why the first of them was dropped
  bool complete = false;                // the relay said EOSE (false: CLOSED or max_events reached)
};

class NostrRelayClient {
public:
  explicit NostrRelayClient(RelayUrl url);
  ~NostrRelayClient();
  NostrRelayClient(const NostrRelayClient&) = delete;
  NostrRelayClient& operator=(const NostrRelayClient&) = delete;

  // Reads the relay's NIP-11 document (a relay without one keeps the default
  // limits; at most half of `timeout` is spent on it), then opens the WebSocket.
  Result<void> connect(std::chrono::milliseconds timeout);
  bool connected() const;
  void close();
  const core::RelayLimits& limits() const;
  const RelayUrl& url() const;

  // Sends the event and waits for the relay's OK for it. An event beyond the
  // relay's stated limits is refused here (Errc::invalid_input), unsent.
  Result<core::RelayOk> publish(const core::NostrEvent& event, std::chrono::milliseconds timeout);
  // One REQ with `filter` (its "limit" capped to the relay's max_limit and to
  // max_events): the stored events until EOSE, then CLOSE.
  Result<RelayQuery> query(nlohmann::json filter, std::chrono::milliseconds timeout, std::size_t max_events = 500);
  // NOTICE messages the relay sent, the newest 16.
  const std::vector<std::string>& notices() const;

private:
  struct Impl;
  std::unique_ptr<Impl> m;
};

// Events in `events` that are kind-30311 live activities, newest per
// (pubkey, d tag): what a client shows for each stream (NIP-01 addressable
// events: on equal created_at the lowest id wins).
std::vector<core::NostrEvent> newest_live_activities(const std::vector<core::NostrEvent>& events);

// Asks every relay for kind-30311 events matching `filter` (its "kinds" set
// to [30311]), each within `timeout`, and returns the newest per stream over
// all of them (verified; see newest_live_activities), with each relay that
// failed and why ("URL: reason") in `errors`.
struct LiveActivities {
  std::vector<core::NostrEvent> events;
  std::vector<std::string> errors;
};
LiveActivities find_live_activities(const std::vector<RelayUrl>& relays, nlohmann::json filter,
                                    std::chrono::milliseconds timeout, std::size_t max_events = 500);

class NostrPublisher {
public:
  struct Options {
    std::chrono::milliseconds timeout{5000};       // of one connect or publish
    std::chrono::milliseconds backoff_min{1000};   // after a failed connect or a dropped connection
    std::chrono::milliseconds backoff_max{60'000}; //
    std::chrono::seconds refresh{600};             // an unchanged announcement is published again after this
  };
  struct RelayStatus {
    std::string url;
    bool connected = false;
    uint64_t published = 0; // events the relay accepted
    uint64_t refused = 0;   // events the relay answered OK false to
    uint64_t failures = 0;  // connects or publishes that failed (no answer, garbage, closed)
    std::string last_error; // of the last failure or refusal
    std::string last_ok;    // the relay's message with its last OK
  };

  NostrPublisher(std::vector<RelayUrl> relays, Options options);
  ~NostrPublisher(); // stops the thread (within one timeout)
  NostrPublisher(const NostrPublisher&) = delete;
  NostrPublisher& operator=(const NostrPublisher&) = delete;

  // The node's current announcement of a stream (kind 30311, its d tag names
  // the stream). Queued for every relay when its tags or content changed, or
  // `refresh` after the last one queued; otherwise ignored.
  void offer(const core::NostrEvent& event);
  // Publishes what is queued to every relay now, waiting at most `timeout`
  // in all (at shutdown: the status=ended announcement).
  void flush(std::chrono::milliseconds timeout);
  std::vector<RelayStatus> status() const;

private:
  struct Relay;
  void run();
  // Publishes relay r's queue; false when the connection failed.
  bool serve(Relay& r, std::unique_lock<std::mutex>& lock);

  Options m_options;
  mutable std::mutex m_mutex;
  std::condition_variable m_wake;
  std::condition_variable m_idle;
  std::vector<std::unique_ptr<Relay>> m_relays;
  std::map<std::string, core::NostrEvent> m_latest; // by d tag: the newest offered
  bool m_stop = false;
  bool m_urgent = false; // flush(): try every relay now, backoff or not
  std::thread m_thread;
};

} // namespace openstreaming::api
