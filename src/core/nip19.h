// NIP-19 bech32 public keys (npub1...), as users paste them: decoding and
// encoding of the 32-byte x-only key. Written here because no packaged
// library does bech32; it is BIP-173's checksum (not bech32m) over 5-bit groups.
#pragma once

#include "core/result.h"

#include <string>

namespace openstreaming::core {

// npub1... -> the key as 64 lowercase hex characters. Mixed case, a bad
// checksum, another prefix or a payload that is not 32 bytes is Errc::invalid_input.
Result<std::string> decode_npub(const std::string& npub);
// 64 hex characters -> npub1...
Result<std::string> encode_npub(const std::string& hex_pubkey);

} // namespace openstreaming::core
