#include "core/nip19.h"

#include "core/hex.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

namespace openstreaming::core {

namespace {

constexpr char kCharset[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

uint32_t polymod(const std::vector<uint8_t>& values) {
  static constexpr std::array<uint32_t, 5> kGen = {0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3};
  uint32_t chk = 1;
  for (uint8_t v : values) {
    const uint32_t top = chk >> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (int i = 0; i < 5; ++i)
      if ((top >> i) & 1) chk ^= kGen[static_cast<std::size_t>(i)];
  }
  return chk;
}

std::vector<uint8_t> hrp_expand(const std::string& hrp) {
  std::vector<uint8_t> out;
  for (char c : hrp) out.push_back(static_cast<uint8_t>(c) >> 5);
  out.push_back(0);
  for (char c : hrp) out.push_back(static_cast<uint8_t>(c) & 31);
  return out;
}

// Regroups bits: 8 -> 5 (pad) or 5 -> 8 (no padding allowed beyond 4 zero bits).
bool convert_bits(const std::vector<uint8_t>& in, int from, int to, bool pad, std::vector<uint8_t>& out) {
  uint32_t acc = 0;
  int bits = 0;
  const uint32_t maxv = (1u << to) - 1;
  for (uint8_t v : in) {
    if (v >> from) return false;
    acc = (acc << from) | v;
    bits += from;
    while (bits >= to) {
      bits -= to;
      out.push_back(static_cast<uint8_t>((acc >> bits) & maxv));
    }
  }
  if (pad) {
    if (bits) out.push_back(static_cast<uint8_t>((acc << (to - bits)) & maxv));
  } else if (bits >= from || ((acc << (to - bits)) & maxv)) {
    return false;
  }
  return true;
}

Error bad(const std::string& why) {
  return make_error(Errc::invalid_input, "npub: " + why);
}

} // namespace

Result<std::string> decode_npub(const std::string& npub) {
  if (npub.size() > 90) return bad("longer than 90 characters");
  const bool lower = std::any_of(npub.begin(), npub.end(), [](char c) { return c >= 'a' && c <= 'z'; });
  const bool upper = std::any_of(npub.begin(), npub.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
  if (lower && upper) return bad("mixed case");
  std::string s = npub;
  std::transform(s.begin(), s.end(), s.begin(), [](char c) { return static_cast<char>(std::tolower(c)); });
  const auto sep = s.rfind('1');
  if (sep == std::string::npos || s.substr(0, sep) != "npub") return bad("must start with npub1");
  if (s.size() - sep - 1 < 6) return bad("too short");
  std::vector<uint8_t> data;
  for (std::size_t i = sep + 1; i < s.size(); ++i) {
    const char* p = std::find(kCharset, kCharset + 32, s[i]);
    if (p == kCharset + 32) return bad("'" + std::string(1, s[i]) + "' is not a bech32 character");
    data.push_back(static_cast<uint8_t>(p - kCharset));
  }
  std::vector<uint8_t> check = hrp_expand("npub");
  check.insert(check.end(), data.begin(), data.end());
  if (polymod(check) != 1) return bad("bad checksum");
  data.resize(data.size() - 6);
  std::vector<uint8_t> bytes;
  if (!convert_bits(data, 5, 8, false, bytes)) return bad("bad padding");
  if (bytes.size() != 32) return bad("the key is " + std::to_string(bytes.size()) + " bytes, not 32");
  return to_hex(ByteView(bytes.data(), bytes.size()), false);
}

Result<std::string> encode_npub(const std::string& hex_pubkey) {
  auto key = from_hex_fixed<32>(hex_pubkey);
  if (!key) return bad("the key must be 64 hex characters");
  std::vector<uint8_t> data;
  convert_bits(std::vector<uint8_t>(key->begin(), key->end()), 8, 5, true, data);
  std::vector<uint8_t> check = hrp_expand("npub");
  check.insert(check.end(), data.begin(), data.end());
  check.insert(check.end(), 6, 0);
  const uint32_t mod = polymod(check) ^ 1;
  std::string out = "npub1";
  for (uint8_t v : data) out += kCharset[v];
  for (int i = 0; i < 6; ++i) out += kCharset[(mod >> (5 * (5 - i))) & 31];
  return out;
}

} // namespace openstreaming::core
