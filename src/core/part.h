// Signed parts: the unit of propagation (docs/architecture.md).
//
// A part's producer (the broadcaster for `source`) signs a digest of its
// header fields and the keccak of its payload. Every hop verifies before it
// forwards or plays: the signature must recover to the stream's producer and
// the payload must hash to what was signed, so no relay can alter a byte.
// The digest is over a fixed binary layout, not the protobuf bytes (protobuf
// encoding is not canonical).
#pragma once

#include "core/address.h"
#include "core/secp256k1.h"

#include <string>

namespace openstreaming::core {

using StreamId = Hash256;

// stream_id = keccak256(broadcaster address (20 bytes) ‖ name (UTF-8)).
StreamId make_stream_id(const Address& broadcaster, std::string_view name);

struct PartInfo {
  StreamId stream_id{};
  std::string rendition = "source";
  uint64_t segment = 0;
  uint32_t part = 0;
  bool independent = false;
  int64_t pts_us = 0;
  uint32_t duration_us = 0;
  int64_t ingest_unix_ms = 0;
  Hash256 payload_hash{};
  bool end_of_stream = false;
};

Hash256 part_digest(const PartInfo& info);
RecoverableSignature sign_part(const PrivateKey& producer, const PartInfo& info);

enum class PartCheck { ok, bad_hash, bad_signature, wrong_producer };
const char* part_check_name(PartCheck c);
// Checks the payload hash and that `signature` is `producer`'s over `info`.
PartCheck verify_part(const PartInfo& info, ByteView payload, ByteView signature, const Address& producer);

} // namespace openstreaming::core
