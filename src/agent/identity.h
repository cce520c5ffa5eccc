// Session-bound identity proof (docs/protocol.md §Handshake).
//
// After TLS 1.3 both ends hold the same exporter value, unique to this TLS
// session. Each side signs keccak256("openstreaming/identity/v1" ‖ side ‖
// exporter) with its node key, side = 'C' (TLS client, the dialer) or 'S'
// (server). The signature is useless on any other session (a relaying
// man-in-the-middle has two sessions with two exporters) and cannot be
// reflected back (the side byte differs).
#pragma once

#include "core/address.h"
#include "core/secp256k1.h"

namespace openstreaming::agent {

enum class TlsSide : uint8_t { client = 'C', server = 'S' };

Hash256 identity_digest(TlsSide side, const Hash256& tls_exporter);
core::RecoverableSignature prove_identity(const core::PrivateKey& key, TlsSide side, const Hash256& tls_exporter);
// The address that signed `proof` for this side and session, or an error.
Result<core::Address> verify_identity(ByteView proof, TlsSide side, const Hash256& tls_exporter);

} // namespace openstreaming::agent
