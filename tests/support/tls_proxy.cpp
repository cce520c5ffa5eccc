#include "support/tls_proxy.h"

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <array>
#include <cstdio>
#include <stdexcept>
#include <thread>

namespace openstreaming::test {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;

namespace {

// A P-256 key and a self-signed certificate for IP 127.0.0.1, installed in
// `ctx`; the certificate also written to `ca_file` as PEM.
void install_certificate(ssl::context& ctx, const std::string& ca_file) {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"),
                                                          EVP_PKEY_free);
  std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), X509_free);
  if (!key || !cert) throw std::runtime_error("TlsProxy: no key");
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 7);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, cert.get(), cert.get(), nullptr, nullptr, 0);
  for (auto [nid, value] :
       {std::pair{NID_subject_alt_name, "IP:127.0.0.1"}, std::pair{NID_basic_constraints, "critical,CA:TRUE"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, nid, value);
    if (!ext) throw std::runtime_error("TlsProxy: extension");
    X509_add_ext(cert.get(), ext, -1);
    X509_EXTENSION_free(ext);
  }
  if (!X509_sign(cert.get(), key.get(), EVP_sha256())) throw std::runtime_error("TlsProxy: sign");
  if (SSL_CTX_use_certificate(ctx.native_handle(), cert.get()) != 1 ||
      SSL_CTX_use_PrivateKey(ctx.native_handle(), key.get()) != 1)
    throw std::runtime_error("TlsProxy: install");
  FILE* f = std::fopen(ca_file.c_str(), "w");
  if (!f) throw std::runtime_error("TlsProxy: cannot write " + ca_file);
  PEM_write_X509(f, cert.get());
  std::fclose(f);
}

// One client: TLS in front, TCP behind, bytes copied both ways until either closes.
struct Session : std::enable_shared_from_this<Session> {
  ssl::stream<tcp::socket> front;
  tcp::socket back;
  std::array<char, 16384> up{}, down{};
  Session(tcp::socket s, ssl::context& ctx) : front(std::move(s), ctx), back(front.get_executor()) {}

  void start(uint16_t backend_port) {
    auto self = shared_from_this();
    front.async_handshake(ssl::stream_base::server, [self, backend_port](boost::system::error_code ec) {
      if (ec) return;
      self->back.async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), backend_port),
                               [self](boost::system::error_code cec) {
                                 if (cec) return self->stop();
                                 self->pump_up();
                                 self->pump_down();
                               });
    });
  }
  void pump_up() {
    auto self = shared_from_this();
    front.async_read_some(asio::buffer(up), [self](boost::system::error_code ec, std::size_t n) {
      if (ec) return self->stop();
      asio::async_write(self->back, asio::buffer(self->up, n), [self](boost::system::error_code wec, std::size_t) {
        if (wec) return self->stop();
        self->pump_up();
      });
    });
  }
  void pump_down() {
    auto self = shared_from_this();
    back.async_read_some(asio::buffer(down), [self](boost::system::error_code ec, std::size_t n) {
      if (ec) return self->stop();
      asio::async_write(self->front, asio::buffer(self->down, n), [self](boost::system::error_code wec, std::size_t) {
        if (wec) return self->stop();
        self->pump_down();
      });
    });
  }
  void stop() {
    boost::system::error_code ignore;
    back.close(ignore);
    front.lowest_layer().close(ignore);
  }
};

} // namespace

struct TlsProxy::Impl {
  asio::io_context io;
  ssl::context ctx{ssl::context::tls_server};
  tcp::acceptor acceptor{io};
  uint16_t backend = 0;
  std::thread thread;

  void accept() {
    acceptor.async_accept([this](boost::system::error_code ec, tcp::socket s) {
      if (ec) return;
      std::make_shared<Session>(std::move(s), ctx)->start(backend);
      accept();
    });
  }
};

TlsProxy::TlsProxy(uint16_t backend_port, const std::string& ca_file) : m(std::make_unique<Impl>()) {
  m->backend = backend_port;
  install_certificate(m->ctx, ca_file);
  tcp::endpoint at(asio::ip::make_address("127.0.0.1"), 0);
  m->acceptor.open(at.protocol());
  m->acceptor.bind(at);
  m->acceptor.listen();
  m->accept();
  m->thread = std::thread([this] { m->io.run(); });
}

TlsProxy::~TlsProxy() {
  m->io.stop();
  if (m->thread.joinable()) m->thread.join();
}

uint16_t TlsProxy::port() const {
  return m->acceptor.local_endpoint().port();
}

} // namespace openstreaming::test
