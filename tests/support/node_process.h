// `openstreaming node` as a child process for functional tests: writes its
// keystore (cheap scrypt) and config into a TempDir, starts it, waits for its
// "listening" lines, and talks to it over HTTP. Killed by PID on destruction.
#pragma once

#include "core/address.h"
#include "core/secp256k1.h"
#include "support/http_client.h"
#include "support/process.h"
#include "support/temp_dir.h"

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

namespace openstreaming::test {

struct NodeSpec {
  std::vector<std::string> bootstrap; // "host:port"
  std::vector<std::string> extra_args;
  std::string config_toml; // appended to the generated config file
  bool peer_exchange = true;
};

class NodeProcess {
public:
  // `name` makes file names unique inside `dir`; `seed` fixes the key.
  NodeProcess(const TempDir& dir, const std::string& name, uint64_t seed, NodeSpec spec);

  // Starts (or restarts, with the same key) and waits for the listening lines.
  void start();
  void kill9();
  // SIGTERM and wait; returns the exit code.
  int stop();
  bool running() const { return m_proc != nullptr; }

  const core::Address& address() const { return m_address; }
  const std::string& p2p() const { return m_p2p; }
  const std::string& api() const { return m_api; }
  const std::string& key_file() const { return m_key_file; } // password "test"
  NodeSpec& spec() { return m_spec; }
  Process& process() { return *m_proc; }
  // The stderr of the last run that stop() ended.
  const std::string& last_err() const { return m_last_err; }

  nlohmann::json get_json(const std::string& path) const;
  std::vector<std::string> peer_addresses() const; // EIP-55, from /api/peers
  std::string metrics() const;
  // Sum of the samples of `family` whose labels contain every `label_filter` ("k=\"v\"").
  double metric(const std::string& family, const std::vector<std::string>& label_filter = {}) const;

private:
  const TempDir& m_dir;
  std::string m_name;
  core::Address m_address;
  std::string m_key_file, m_config_file;
  NodeSpec m_spec;
  std::unique_ptr<Process> m_proc;
  std::string m_p2p, m_api;
  std::string m_last_err;
};

// Fast timing for tests: quick pings, short idle timeout, quick reconnects.
inline constexpr const char* kFastTiming =
    "[timing]\nping_interval_ms = 300\nidle_timeout_ms = 3000\nhandshake_timeout_ms = 3000\n"
    "reconnect_base_ms = 200\nreconnect_max_ms = 2000\n";

// A broadcaster ingesting testsrc as "show" and a viewer watching it over a
// direct link, both started, fast timing, no peer exchange: the target and
// witness of the hostile-peer tests. Keys come from `seed` and `seed + 1`.
struct BroadcasterAndViewer {
  std::unique_ptr<NodeProcess> broadcaster, viewer;
  BroadcasterAndViewer(const TempDir& dir, uint64_t seed) {
    NodeSpec bs;
    bs.peer_exchange = false;
    bs.config_toml = kFastTiming;
    bs.extra_args = {"--ingest", "testsrc", "--stream", "show"};
    broadcaster = std::make_unique<NodeProcess>(dir, "target", seed, bs);
    broadcaster->start();
    NodeSpec vs;
    vs.peer_exchange = false;
    vs.config_toml = kFastTiming;
    vs.bootstrap = {broadcaster->p2p()};
    vs.extra_args = {"--watch", "show"};
    viewer = std::make_unique<NodeProcess>(dir, "viewer", seed + 1, vs);
    viewer->start();
  }
};

} // namespace openstreaming::test
