#include "core/nostr_relay.h"

#include <algorithm>

namespace openstreaming::core {

namespace {

using json = nlohmann::json;

Error invalid(const std::string& what) {
  return make_error(Errc::invalid_input, "relay message: " + what);
}

std::string dump(const json& j) {
  // Our own events and filters hold only valid UTF-8 (event_from_json and the
  // callers guarantee it); `replace` keeps a stray byte from throwing anyway.
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<std::string> string_at(const json& a, std::size_t i, const char* what, std::size_t max_bytes) {
  if (a.size() <= i || !a[i].is_string()) return invalid(std::string(what) + " must be a string");
  const auto& s = a[i].get_ref<const std::string&>();
  if (s.size() > max_bytes)
    return invalid(std::string(what) + " is longer than " + std::to_string(max_bytes) + " bytes");
  return s;
}

constexpr std::size_t kMaxRelayText = 4096; // of a NOTICE, CLOSED or OK message we keep

} // namespace

Result<RelayUrl> RelayUrl::parse(std::string_view url) {
  const std::string shown(url.substr(0, 200));
  auto bad = [&](const std::string& why) {
    return make_error(Errc::invalid_input, "relay URL '" + shown + "': " + why);
  };
  RelayUrl u;
  std::string_view rest;
  if (url.substr(0, 5) == "ws://") {
    rest = url.substr(5);
  } else if (url.substr(0, 6) == "wss://") {
    rest = url.substr(6);
    u.tls = true;
    u.port = 443;
  } else {
    return bad("must start with ws:// or wss://");
  }
  if (url.size() > 2048) return bad("longer than 2048 characters");
  if (std::any_of(url.begin(), url.end(), [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; }))
    return bad("spaces or control characters");
  const auto slash = rest.find('/');
  const std::string_view hostport = rest.substr(0, slash);
  if (slash != std::string_view::npos) u.target = std::string(rest.substr(slash));
  const auto colon = hostport.rfind(':');
  u.host = std::string(hostport.substr(0, colon));
  if (colon != std::string_view::npos) {
    const std::string_view port = hostport.substr(colon + 1);
    if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos)
      return bad("bad port");
    const unsigned long p = std::stoul(std::string(port));
    if (p == 0 || p > 65535) return bad("bad port");
    u.port = static_cast<uint16_t>(p);
  }
  if (u.host.empty()) return bad("no host");
  return u;
}

std::string RelayUrl::text() const {
  return std::string(tls ? "wss://" : "ws://") + host + ":" + std::to_string(port) + target;
}

std::string client_event_message(const NostrEvent& event) {
  return dump(json::array({"EVENT", to_json(event)}));
}

std::string client_req_message(const std::string& subscription, const nlohmann::json& filter) {
  return dump(json::array({"REQ", subscription, filter}));
}

std::string client_close_message(const std::string& subscription) {
  return dump(json::array({"CLOSE", subscription}));
}

Result<RelayMessage> parse_relay_message(std::string_view text) {
  if (text.size() > kNostrMaxRelayMessageBytes) {
    return invalid(std::to_string(text.size()) + " bytes, more than the limit of " +
                   std::to_string(kNostrMaxRelayMessageBytes));
  }
  json a = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (a.is_discarded()) return invalid("not JSON");
  if (!a.is_array() || a.empty() || !a[0].is_string()) return invalid("not an array that starts with its type");
  const std::string type = a[0].get<std::string>();
  if (type == "EVENT") {
    if (a.size() != 3) return invalid("EVENT must have 3 elements");
    auto sub = string_at(a, 1, "EVENT's subscription id", kNostrMaxSubscriptionId);
    if (!sub) return sub.error();
    if (!a[2].is_object()) return invalid("EVENT's event must be an object");
    auto ev = event_from_json(a[2]);
    if (!ev) return ev.error();
    return RelayMessage{RelayEvent{*sub, std::move(*ev)}};
  }
  if (type == "OK") {
    // Relays from before NIP-01 made the message mandatory send 3 elements.
    if (a.size() != 4 && a.size() != 3) return invalid("OK must have 4 elements");
    auto id = string_at(a, 1, "OK's event id", 64);
    if (!id) return id.error();
    if (!a[2].is_boolean()) return invalid("OK's accepted flag must be true or false");
    std::string message;
    if (a.size() == 4) {
      auto msg = string_at(a, 3, "OK's message", kMaxRelayText);
      if (!msg) return msg.error();
      message = *msg;
    }
    return RelayMessage{RelayOk{*id, a[2].get<bool>(), message}};
  }
  if (type == "EOSE") {
    if (a.size() != 2) return invalid("EOSE must have 2 elements");
    auto sub = string_at(a, 1, "EOSE's subscription id", kNostrMaxSubscriptionId);
    if (!sub) return sub.error();
    return RelayMessage{RelayEose{*sub}};
  }
  if (type == "CLOSED") {
    if (a.size() != 3) return invalid("CLOSED must have 3 elements");
    auto sub = string_at(a, 1, "CLOSED's subscription id", kNostrMaxSubscriptionId);
    if (!sub) return sub.error();
    auto msg = string_at(a, 2, "CLOSED's message", kMaxRelayText);
    if (!msg) return msg.error();
    return RelayMessage{RelayClosed{*sub, *msg}};
  }
  if (type == "NOTICE") {
    if (a.size() != 2) return invalid("NOTICE must have 2 elements");
    auto msg = string_at(a, 1, "NOTICE's message", kMaxRelayText);
    if (!msg) return msg.error();
    return RelayMessage{RelayNotice{*msg}};
  }
  return make_error(Errc::unsupported, "relay message: type '" + type.substr(0, 32) + "' is not one we read");
}

Result<RelayLimits> relay_info_from_json(const nlohmann::json& doc) {
  if (!doc.is_object()) return make_error(Errc::invalid_input, "relay information: not a JSON object");
  RelayLimits out;
  if (auto n = doc.find("name"); n != doc.end() && n->is_string()) out.name = n->get<std::string>().substr(0, 256);
  auto lim = doc.find("limitation");
  if (lim == doc.end() || lim->is_null()) return out;
  if (!lim->is_object()) return make_error(Errc::invalid_input, "relay information: 'limitation' must be an object");
  auto number = [&](const char* key, std::size_t& field, std::size_t floor) -> Result<void> {
    auto it = lim->find(key);
    if (it == lim->end() || it->is_null()) return {};
    if (!it->is_number_integer() || (!it->is_number_unsigned() && it->get<int64_t>() < 0)) {
      return make_error(Errc::invalid_input,
                        std::string("relay information: 'limitation.") + key + "' must be a non-negative integer");
    }
    // Never more than our own default (a relay cannot raise what we send or
    // ask for), never less than `floor` (a relay stating 0 still gets one).
    const auto v = static_cast<std::size_t>(std::min<uint64_t>(it->get<uint64_t>(), field));
    field = std::max(v, floor);
    return {};
  };
  auto flag = [&](const char* key, bool& field) -> Result<void> {
    auto it = lim->find(key);
    if (it == lim->end() || it->is_null()) return {};
    if (!it->is_boolean()) {
      return make_error(Errc::invalid_input,
                        std::string("relay information: 'limitation.") + key + "' must be a boolean");
    }
    field = it->get<bool>();
    return {};
  };
  for (auto r :
       {number("max_message_length", out.max_message_length, 1024),
        number("max_subscriptions", out.max_subscriptions, 1), number("max_limit", out.max_limit, 1),
        number("max_event_tags", out.max_event_tags, 0), number("max_content_length", out.max_content_length, 0),
        flag("auth_required", out.auth_required), flag("payment_required", out.payment_required)}) {
    if (!r) return r.error();
  }
  return out;
}

std::optional<std::string> exceeds_limits(const NostrEvent& event, const RelayLimits& limits) {
  if (event.tags.size() > limits.max_event_tags) {
    return "the event has " + std::to_string(event.tags.size()) + " tags; the relay takes at most " +
           std::to_string(limits.max_event_tags);
  }
  if (event.content.size() > limits.max_content_length) {
    return "the event's content is " + std::to_string(event.content.size()) + " bytes; the relay takes at most " +
           std::to_string(limits.max_content_length);
  }
  const std::size_t bytes = client_event_message(event).size();
  if (bytes > limits.max_message_length) {
    return "the message is " + std::to_string(bytes) + " bytes; the relay takes at most " +
           std::to_string(limits.max_message_length);
  }
  if (limits.auth_required) return "the relay requires authentication (NIP-42), which we do not speak";
  if (limits.payment_required) return "the relay requires payment";
  return std::nullopt;
}

} // namespace openstreaming::core
