// Nostr events (NIP-01) and the tag look-ups NIP-53 live activities need.
//
// An event's id is sha256 of a canonical JSON array, and its sig is a BIP-340
// Schnorr signature of that id by the x-only key in pubkey. The core never
// reads a clock or a random device: created_at and the signer's aux_rand are
// parameters.
//
// Events arrive from relays, so they are untrusted twice over: event_from_json
// checks the shape (types, hex lengths, size limits) and verify_event checks
// that id and sig belong to the content. A caller needs both.
//
// Strings are expected to be UTF-8. Events parsed from JSON always are; an event
// built in code with invalid UTF-8 still gets an id and a signature, but
// nlohmann's dump() of its to_json() throws.
#pragma once

#include "core/bytes.h"
#include "core/result.h"
#include "core/secp256k1.h"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace openstreaming::core {

using NostrTags = std::vector<std::vector<std::string>>;

struct NostrEvent {
  std::string id;         // 32 bytes, lowercase hex without 0x: sha256(serialize_for_id(*this))
  std::string pubkey;     // 32-byte x-only BIP-340 key, lowercase hex
  int64_t created_at = 0; // unix seconds
  int kind = 0;           // 0..65535
  NostrTags tags;
  std::string content;
  std::string sig; // 64-byte Schnorr signature of the id, lowercase hex

  bool operator==(const NostrEvent&) const = default;
};

// Bounds event_from_json enforces on untrusted events. They admit every normal
// note, profile or live-activity event while keeping one event's cost small.
inline constexpr std::size_t kNostrMaxTags = 2000;
inline constexpr std::size_t kNostrMaxContentBytes = 64 * 1024;
inline constexpr int kNostrMaxKind = 65535;

// [0,<pubkey>,<created_at>,<kind>,<tags>,<content>] without whitespace, strings
// escaped as NIP-01 prescribes (only \" \\ \n \r \t \b \f; every other byte,
// control characters and UTF-8 included, is written as it is).
std::string serialize_for_id(const NostrEvent& event);
// sha256(serialize_for_id(event)): the bytes that `id` encodes and `sig` signs.
Hash256 event_id_hash(const NostrEvent& event);

// Fills pubkey, id and sig. aux_rand is BIP-340's auxiliary randomness: pass
// fresh random bytes in production; a fixed value makes the signature reproducible.
NostrEvent sign_event(const PrivateKey& key, int64_t created_at, int kind, NostrTags tags, std::string content,
                      const Hash256& aux_rand);

// Checks that id, pubkey and sig are lowercase hex of the right length
// (Errc::invalid_input), that id is the hash of the event (Errc::invalid_input)
// and that sig verifies for pubkey (Errc::bad_signature). Does not check the
// limits of event_from_json.
Result<void> verify_event(const NostrEvent& event);

// {"id","pubkey","created_at","kind","tags","content","sig"}.
nlohmann::json to_json(const NostrEvent& event);
// Strict shape check of an untrusted event object: every field present with its
// JSON type, hex fields lowercase and of the right length, created_at a
// non-negative integer, kind in 0..65535, tags an array (at most kNostrMaxTags)
// of arrays of strings, content at most kNostrMaxContentBytes. Unknown fields are
// ignored, as NIP-01 lets later NIPs add some. Does not verify id or sig.
Result<NostrEvent> event_from_json(const nlohmann::json& j);

// tag[1] of the first tag whose tag[0] is `name` (NIP-53 reads "title",
// "status", "streaming", ... this way). Empty if there is no such tag or that
// first tag has no value; later tags of the same name are not consulted.
std::optional<std::string> first_tag(const NostrEvent& event, std::string_view name);

} // namespace openstreaming::core
