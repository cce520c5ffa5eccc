// A TLS-terminating proxy for https tests of clients whose server speaks plain
// HTTP (Anvil): it listens on 127.0.0.1 (an OS-chosen port) with a fresh
// self-signed certificate naming IP 127.0.0.1, and copies bytes both ways
// between each TLS client and a new TCP connection to the backend. The
// certificate's PEM is written to `ca_file`, for a client to trust through
// SSL_CERT_FILE. Runs on its own thread until the object goes.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility> // for tls_proxy.cpp: Boost.Asio's awaitable.hpp uses std::exchange without it

namespace openstreaming::test {

class TlsProxy {
public:
  TlsProxy(uint16_t backend_port, const std::string& ca_file);
  ~TlsProxy();
  TlsProxy(const TlsProxy&) = delete;
  TlsProxy& operator=(const TlsProxy&) = delete;
  uint16_t port() const;

private:
  struct Impl;
  std::unique_ptr<Impl> m;
};

} // namespace openstreaming::test
