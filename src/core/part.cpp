#include "core/part.h"

#include "core/keccak.h"

namespace openstreaming::core {

namespace {
template <class T>
void put_be(Keccak256& h, T v) {
  uint8_t b[sizeof(T)];
  for (std::size_t i = 0; i < sizeof(T); ++i) b[i] = static_cast<uint8_t>(static_cast<uint64_t>(v) >> (8 * (sizeof(T) - 1 - i)));
  h.update(ByteView(b, sizeof(T)));
}
} // namespace

StreamId make_stream_id(const Address& broadcaster, std::string_view name) {
  return Keccak256().update(broadcaster.bytes()).update(as_bytes(name)).finalize();
}

Hash256 part_digest(const PartInfo& p) {
  static constexpr std::string_view kDomain = "openstreaming/part/v1";
  Keccak256 h;
  h.update(as_bytes(kDomain)).update(p.stream_id);
  put_be<uint16_t>(h, static_cast<uint16_t>(p.rendition.size()));
  h.update(as_bytes(p.rendition));
  put_be<uint64_t>(h, p.segment);
  put_be<uint32_t>(h, p.part);
  put_be<uint8_t>(h, static_cast<uint8_t>((p.independent ? 1 : 0) | (p.end_of_stream ? 2 : 0)));
  put_be<int64_t>(h, p.pts_us);
  put_be<uint32_t>(h, p.duration_us);
  put_be<int64_t>(h, p.ingest_unix_ms);
  h.update(p.payload_hash);
  return h.finalize();
}

RecoverableSignature sign_part(const PrivateKey& producer, const PartInfo& info) {
  return sign_hash(producer, part_digest(info));
}

const char* part_check_name(PartCheck c) {
  switch (c) {
  case PartCheck::ok: return "ok";
  case PartCheck::bad_hash: return "bad_hash";
  case PartCheck::bad_signature: return "bad_signature";
  case PartCheck::wrong_producer: return "wrong_producer";
  }
  return "unknown";
}

PartCheck verify_part(const PartInfo& info, ByteView payload, ByteView signature, const Address& producer) {
  if (keccak256(payload) != info.payload_hash) return PartCheck::bad_hash;
  auto sig = RecoverableSignature::parse(signature);
  if (!sig) return PartCheck::bad_signature;
  auto pub = recover_public_key(part_digest(info), *sig);
  if (!pub) return PartCheck::bad_signature;
  return pub->address() == producer ? PartCheck::ok : PartCheck::wrong_producer;
}

} // namespace openstreaming::core
