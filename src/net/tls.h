// TLS 1.3 for peer sessions. Certificates are ephemeral and self-signed: TLS
// gives confidentiality and a session-unique exporter value; *who* the peer is
// comes from the identity proof in its Hello (agent/identity.h), not from PKI.
#pragma once

#include "core/bytes.h"
#include "core/result.h"

#include <boost/asio/ssl.hpp>

namespace openstreaming::net {

namespace ssl = boost::asio::ssl;

// Server context with a fresh P-256 key and a self-signed certificate.
Result<std::shared_ptr<ssl::context>> make_server_context();
// Client context: TLS 1.3 only, no certificate verification (see above).
std::shared_ptr<ssl::context> make_client_context();

inline constexpr const char* kExporterLabel = "EXPORTER-openstreaming-identity";
// RFC 8446 §7.5 exporter, 32 bytes, empty context; identical at both ends of one session.
Result<Hash256> export_identity_secret(SSL* ssl);

} // namespace openstreaming::net
