#include "core/endpoint.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace openstreaming::core {

Result<Endpoint> Endpoint::parse(std::string_view text, bool allow_port_zero) {
  auto bad = [&](const std::string& why) {
    return make_error(Errc::invalid_input, "invalid endpoint '" + std::string(text) + "': " + why + " (expected HOST:PORT)");
  };
  if (text.empty() || text.size() > 255 + 8) return bad("empty or too long");
  std::string_view host, port;
  if (text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') return bad("bad IPv6 form");
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    if (host.empty() || !std::all_of(host.begin(), host.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.'; })) {
      return bad("bad IPv6 address");
    }
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return bad("no port");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.empty()) return bad("no host");
    if (!std::all_of(host.begin(), host.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-'; })) {
      return bad("bad host name");
    }
  }
  unsigned value = 0;
  auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || p != port.data() + port.size() || value > 65535) return bad("bad port");
  if (value == 0 && !allow_port_zero) return bad("port 0");
  return Endpoint{std::string(host), static_cast<uint16_t>(value)};
}

std::string Endpoint::to_string() const {
  bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

} // namespace openstreaming::core
