#include "net/tls.h"

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstring>
#include <memory>

namespace openstreaming::net {

namespace {

void tls13_only(ssl::context& ctx) {
  SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_3_VERSION);
  SSL_CTX_set_max_proto_version(ctx.native_handle(), TLS1_3_VERSION);
  ctx.set_verify_mode(ssl::verify_none); // identity is proven in the Hello, bound to the exporter
  SSL_CTX_set_session_cache_mode(ctx.native_handle(), SSL_SESS_CACHE_OFF); // every session fresh
  SSL_CTX_set_num_tickets(ctx.native_handle(), 0);
}

} // namespace

Result<std::shared_ptr<ssl::context>> make_server_context() {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"),
                                                          EVP_PKEY_free);
  if (!key) return make_error(Errc::io, "TLS: cannot generate an ephemeral key");
  std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), X509_free);
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 60L * 60 * 24 * 365);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("openstreaming-node"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  if (!X509_sign(cert.get(), key.get(), EVP_sha256())) return make_error(Errc::io, "TLS: cannot sign the certificate");

  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  tls13_only(*ctx);
  if (SSL_CTX_use_certificate(ctx->native_handle(), cert.get()) != 1 ||
      SSL_CTX_use_PrivateKey(ctx->native_handle(), key.get()) != 1) {
    return make_error(Errc::io, "TLS: cannot install the certificate");
  }
  return ctx;
}

std::shared_ptr<ssl::context> make_client_context() {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  tls13_only(*ctx);
  return ctx;
}

Result<Hash256> export_identity_secret(SSL* ssl) {
  Hash256 out{};
  if (SSL_export_keying_material(ssl, out.data(), out.size(), kExporterLabel, std::strlen(kExporterLabel), nullptr, 0,
                                 0) != 1) {
    return make_error(Errc::io, "TLS: exporter unavailable");
  }
  return out;
}

} // namespace openstreaming::net
