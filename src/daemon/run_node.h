// The composition of a node process (`openstreaming node`, docs/cli.md): the
// configuration becomes a running node — key, runtime, memory and winner
// stores, the ledger worker, the HTTP API, the broadcaster's ingest with its
// restarts — and SIGINT/SIGTERM stop it in order (the broadcaster ends its
// stream, peers are told, the memory is saved). apps/openstreaming only turns
// flags into a NodeConfig and calls run_node().
#pragma once

#include "core/result.h"
#include "daemon/node_config.h"

#include <string>

namespace openstreaming::daemon {

// The process's exit codes (docs/cli.md).
enum ExitCode : int { kOk = 0, kCheckFailed = 1, kBadInput = 2 };

struct RunOptions {
  std::string version;   // reported by /api/status
  std::string misbehave; // --misbehave SPEC: fault injection for tests and the demo
};

// Runs the node until a signal stops it; returns the exit code. Errors are
// printed to stderr as "error: ...": bad configuration exits kBadInput, a
// resource that cannot be opened (a port, a database) kCheckFailed.
int run_node(NodeConfig c, const RunOptions& run);

// The publishers' stream key (--stream-key-file, trimmed), checked against
// what the push listener can carry: 1-256 characters for RTMP, 10-79 for SRT
// (its passphrase), none of & ? / # or spaces, different from the stream name.
// Empty without a key file; an error names the file and the rule.
Result<std::string> read_stream_key(const NodeConfig& c);

// The API's bearer token (docs/api.md): the contents of `file` (trimmed, 16+
// characters, no spaces), or else a fresh random one written to
// DATA_DIR/api-token with mode 0600. A non-loopback API needs a file.
Result<std::string> api_token(const std::string& file, const std::string& data_dir, bool loopback);

} // namespace openstreaming::daemon
