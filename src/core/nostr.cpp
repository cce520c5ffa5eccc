#include "core/nostr.h"

#include "core/hash.h"
#include "core/hex.h"

#include <algorithm>
#include <limits>
#include <utility>

namespace openstreaming::core {

using nlohmann::json;

namespace {

Error invalid(const std::string& what) { return make_error(Errc::invalid_input, "nostr event: " + what); }

// Hand-written because NIP-01 fixes the escapes byte for byte and no JSON
// library we have matches it: nlohmann's dump() writes other control
// characters as \u00XX, which would give a different id than every relay computes.
void append_string(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    switch (c) {
    case '"': out += "\\\""; break;
    case '\\': out += "\\\\"; break;
    case '\n': out += "\\n"; break;
    case '\r': out += "\\r"; break;
    case '\t': out += "\\t"; break;
    case '\b': out += "\\b"; break;
    case '\f': out += "\\f"; break;
    default: out += c; break;
    }
  }
  out += '"';
}

bool is_lower_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

// Names the field and the first offending character, so a relay's bad event is easy to diagnose.
Result<void> check_hex_field(std::string_view field, std::string_view value, std::size_t bytes) {
  const std::string rule =
      "'" + std::string(field) + "' must be " + std::to_string(2 * bytes) + " lowercase hex characters";
  if (value.size() != 2 * bytes) return invalid(rule + " (got " + std::to_string(value.size()) + " characters)");
  auto bad = std::find_if_not(value.begin(), value.end(), is_lower_hex);
  if (bad != value.end()) {
    const auto byte = static_cast<unsigned char>(*bad);
    const std::string shown = byte >= 0x20 && byte < 0x7f ? "'" + std::string(1, *bad) + "'"
                                                          : "byte " + to_hex(ByteView(&byte, 1), /*prefix=*/true);
    return invalid(rule + " (found " + shown + " at position " + std::to_string(bad - value.begin()) + ")");
  }
  return {};
}

Result<std::string> string_field(const json& j, const char* name) {
  if (!j.contains(name)) return invalid(std::string("missing '") + name + "'");
  if (!j[name].is_string()) return invalid(std::string("'") + name + "' must be a string");
  return j[name].get<std::string>();
}

Result<std::string> hex_field(const json& j, const char* name, std::size_t bytes) {
  auto value = string_field(j, name);
  if (!value) return value.error();
  if (auto checked = check_hex_field(name, *value, bytes); !checked) return checked.error();
  return value;
}

// Only integers count: 1.0 or 1e9 are numbers but not what NIP-01 means, and a
// float would round-trip to a different serialization and id.
Result<int64_t> integer_field(const json& j, const char* name, int64_t min, int64_t max, std::string_view expected) {
  if (!j.contains(name)) return invalid(std::string("missing '") + name + "'");
  const json& v = j[name];
  const auto wrong = [&] { return invalid(std::string("'") + name + "' must be " + std::string(expected)); };
  if (!v.is_number_integer()) return wrong();
  // Values above INT64_MAX arrive as unsigned; compare them before narrowing.
  if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return wrong();
  }
  const auto value = v.get<int64_t>();
  if (value < min || value > max) return wrong();
  return value;
}

Result<NostrTags> tags_field(const json& j) {
  if (!j.contains("tags")) return invalid("missing 'tags'");
  const json& tags = j["tags"];
  if (!tags.is_array()) return invalid("'tags' must be an array of arrays of strings");
  if (tags.size() > kNostrMaxTags) {
    return invalid("'tags' has " + std::to_string(tags.size()) + " entries, more than the limit of " +
                   std::to_string(kNostrMaxTags));
  }
  NostrTags out;
  out.reserve(tags.size());
  for (std::size_t i = 0; i < tags.size(); ++i) {
    const json& tag = tags[i];
    if (!tag.is_array()) return invalid("'tags[" + std::to_string(i) + "]' must be an array of strings");
    std::vector<std::string>& values = out.emplace_back();
    values.reserve(tag.size());
    for (std::size_t k = 0; k < tag.size(); ++k) {
      if (!tag[k].is_string()) {
        return invalid("'tags[" + std::to_string(i) + "][" + std::to_string(k) + "]' must be a string");
      }
      values.push_back(tag[k].get<std::string>());
    }
  }
  return out;
}

} // namespace

std::string serialize_for_id(const NostrEvent& event) {
  std::string out;
  out.reserve(64 + event.pubkey.size() + event.content.size());
  out += "[0,";
  append_string(out, event.pubkey);
  out += ',';
  out += std::to_string(event.created_at);
  out += ',';
  out += std::to_string(event.kind);
  out += ",[";
  for (std::size_t i = 0; i < event.tags.size(); ++i) {
    if (i > 0) out += ',';
    out += '[';
    for (std::size_t k = 0; k < event.tags[i].size(); ++k) {
      if (k > 0) out += ',';
      append_string(out, event.tags[i][k]);
    }
    out += ']';
  }
  out += "],";
  append_string(out, event.content);
  out += ']';
  return out;
}

Hash256 event_id_hash(const NostrEvent& event) { return sha256(as_bytes(serialize_for_id(event))); }

NostrEvent sign_event(const PrivateKey& key, int64_t created_at, int kind, NostrTags tags, std::string content,
                      const Hash256& aux_rand) {
  NostrEvent event{
      .id = {},
      .pubkey = to_hex(key.xonly_public_key(), /*prefix=*/false),
      .created_at = created_at,
      .kind = kind,
      .tags = std::move(tags),
      .content = std::move(content),
      .sig = {},
  };
  Hash256 id = event_id_hash(event);
  event.id = to_hex(id, /*prefix=*/false);
  event.sig = to_hex(schnorr_sign(key, id, aux_rand), /*prefix=*/false);
  return event;
}

Result<void> verify_event(const NostrEvent& event) {
  if (auto r = check_hex_field("id", event.id, 32); !r) return r;
  if (auto r = check_hex_field("pubkey", event.pubkey, 32); !r) return r;
  if (auto r = check_hex_field("sig", event.sig, 64); !r) return r;
  Hash256 id = event_id_hash(event);
  std::string expected_id = to_hex(id, /*prefix=*/false);
  if (event.id != expected_id) {
    return invalid("'id' does not match the event's contents (expected " + expected_id + ", got " + event.id + ")");
  }
  // The formats were checked above, so decoding cannot fail.
  auto pubkey = from_hex_fixed<32>(event.pubkey);
  auto sig = from_hex_fixed<64>(event.sig);
  if (!schnorr_verify(*pubkey, id, *sig)) {
    return make_error(Errc::bad_signature, "nostr event: 'sig' does not verify for 'pubkey' " + event.pubkey +
                                               " (or 'pubkey' is not a point on the curve)");
  }
  return {};
}

json to_json(const NostrEvent& event) {
  return json{
      {"id", event.id},
      {"pubkey", event.pubkey},
      {"created_at", event.created_at},
      {"kind", event.kind},
      {"tags", event.tags},
      {"content", event.content},
      {"sig", event.sig},
  };
}

Result<NostrEvent> event_from_json(const json& j) {
  if (!j.is_object()) return invalid("must be a JSON object");
  auto id = hex_field(j, "id", 32);
  if (!id) return id.error();
  auto pubkey = hex_field(j, "pubkey", 32);
  if (!pubkey) return pubkey.error();
  auto created_at =
      integer_field(j, "created_at", 0, std::numeric_limits<int64_t>::max(), "a non-negative integer (unix seconds)");
  if (!created_at) return created_at.error();
  auto kind = integer_field(j, "kind", 0, kNostrMaxKind, "an integer in 0..65535");
  if (!kind) return kind.error();
  auto tags = tags_field(j);
  if (!tags) return tags.error();
  auto content = string_field(j, "content");
  if (!content) return content.error();
  if (content->size() > kNostrMaxContentBytes) {
    return invalid("'content' is " + std::to_string(content->size()) + " bytes, more than the limit of " +
                   std::to_string(kNostrMaxContentBytes));
  }
  auto sig = hex_field(j, "sig", 64);
  if (!sig) return sig.error();
  return NostrEvent{
      .id = std::move(*id),
      .pubkey = std::move(*pubkey),
      .created_at = *created_at,
      .kind = static_cast<int>(*kind),
      .tags = std::move(*tags),
      .content = std::move(*content),
      .sig = std::move(*sig),
  };
}

std::optional<std::string> first_tag(const NostrEvent& event, std::string_view name) {
  for (const auto& tag : event.tags) {
    if (tag.empty() || tag[0] != name) continue;
    if (tag.size() < 2) return std::nullopt;
    return tag[1];
  }
  return std::nullopt;
}

} // namespace openstreaming::core
