#include "core/announcement.h"

#include "core/hex.h"
#include "core/secp256k1.h"

#include <cstring>

namespace openstreaming::core {

// BIP-340 drops the y parity, so try both and accept the one that matches.
bool xonly_matches_address(const std::string& xonly_hex, const Address& claimed) {
  auto x = from_hex_fixed<32>(xonly_hex);
  if (!x) return false;
  for (uint8_t prefix : {0x02, 0x03}) {
    Bytes compressed(33);
    compressed[0] = prefix;
    std::memcpy(compressed.data() + 1, x->data(), 32);
    auto pub = PublicKey::parse(compressed);
    if (pub && pub->address() == claimed) return true;
  }
  return false;
}

Result<StreamAnnouncement> read_stream_announcement(const NostrEvent& event) {
  auto bad = [](const std::string& why) { return make_error(Errc::invalid_input, "stream announcement: " + why); };
  if (event.kind != 30311) return bad("kind " + std::to_string(event.kind) + ", not 30311");
  auto name = first_tag(event, "d");
  auto addr_text = first_tag(event, "openstreaming:address");
  auto id_text = first_tag(event, "openstreaming:stream");
  if (!name || !addr_text || !id_text) return bad("no d, openstreaming:address or openstreaming:stream tag");
  auto addr = Address::parse(*addr_text);
  if (!addr) return bad("openstreaming:address: " + addr.error().message);
  if (!xonly_matches_address(event.pubkey, *addr)) return bad("signed by a key other than " + *addr_text + "'s");
  StreamAnnouncement a;
  a.name = *name;
  a.broadcaster = *addr;
  a.id = make_stream_id(*addr, *name);
  if (to_hex(a.id, false) != *id_text) return bad("openstreaming:stream is not the id of " + *name);
  a.title = first_tag(event, "title").value_or("");
  a.status = first_tag(event, "status").value_or("");
  a.streaming = first_tag(event, "streaming").value_or("");
  a.renditions = first_tag(event, "openstreaming:renditions").value_or("");
  a.endpoint = first_tag(event, "openstreaming:endpoint").value_or("");
  return a;
}

} // namespace openstreaming::core
