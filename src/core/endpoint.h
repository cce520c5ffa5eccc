// A network endpoint as text: "host:port" or "[ipv6]:port". Parsed strictly
// because endpoints arrive from peers (peer exchange) and from config files.
#pragma once

#include "core/result.h"

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

namespace openstreaming::core {

struct Endpoint {
  std::string host; // hostname, IPv4 dotted quad, or IPv6 without brackets
  uint16_t port = 0;

  // allow_port_zero: for listen addresses, where 0 asks the OS for a free port.
  static Result<Endpoint> parse(std::string_view text, bool allow_port_zero = false);
  std::string to_string() const;
  auto operator<=>(const Endpoint&) const = default;
};

} // namespace openstreaming::core
