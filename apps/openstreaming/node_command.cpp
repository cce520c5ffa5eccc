// openstreaming node: run a node (docs/cli.md, docs/config.md).
#include "apps/openstreaming/cli.h"
#include "daemon/node_config.h"
#include "daemon/run_node.h"
#include "platform/files.h"

#include <algorithm>
#include <utility>

namespace openstreaming::cli {

namespace {

using daemon::NodeConfig;
using daemon::parse_node_config;

struct NodeFlags {
  std::string config;
  NodeConfig overrides;
  bool no_peer_exchange = false;
  std::string misbehave;
  // Which flags were given (flags override the file only when present).
  CLI::Option *key, *password_file, *data_dir, *listen, *api, *bootstrap, *roles, *max_peers, *ingest, *stream,
      *rtmp_listen, *srt_listen, *watch, *ledger, *contracts, *api_token_file, *stream_key_file, *nostr_relays;
};

int run_node(const NodeFlags& f) {
  NodeConfig c;
  if (!f.config.empty()) {
    auto text = platform::read_file(f.config, 1 << 20);
    if (!text) return fail(text.error());
    if (auto r = parse_node_config(*text, f.config, c); !r) return fail(r.error());
  }
  const NodeConfig& o = f.overrides;
  if (*f.key) c.key = o.key;
  if (*f.password_file) c.password_file = o.password_file;
  if (*f.data_dir) c.data_dir = o.data_dir;
  if (*f.listen) c.listen = o.listen;
  if (*f.api) c.api = o.api;
  if (*f.bootstrap) c.bootstrap = o.bootstrap;
  if (*f.roles) c.roles = o.roles;
  if (*f.max_peers) {
    c.max_peers = o.max_peers;
    c.target_peers = std::min(c.target_peers, c.max_peers);
  }
  if (f.no_peer_exchange) c.peer_exchange = false;
  if (*f.ingest) c.ingest = o.ingest;
  if (*f.stream) c.stream = o.stream;
  if (*f.rtmp_listen) c.rtmp_listen = o.rtmp_listen;
  if (*f.srt_listen) c.srt_listen = o.srt_listen;
  if (*f.watch) c.watch = o.watch;
  if (*f.nostr_relays) c.nostr_relays = o.nostr_relays;
  if (*f.ledger) c.ledger = o.ledger;
  if (*f.contracts) c.contracts = o.contracts;
  if (*f.api_token_file) c.api_token_file = o.api_token_file;
  if (*f.stream_key_file) c.stream_key_file = o.stream_key_file;
  return daemon::run_node(std::move(c), {OPENSTREAMING_VERSION, f.misbehave});
}

} // namespace

void add_node_command(CLI::App& app, Runner& runner) {
  auto f = std::make_shared<NodeFlags>();
  CLI::App* cmd = app.add_subcommand("node", "Run a node: join the mesh, serve the HTTP API");
  cmd->add_option("--config", f->config, "TOML configuration file (flags override it)");
  f->key = cmd->add_option("--key", f->overrides.key, "Keystore file with the node key");
  f->password_file = cmd->add_option("--password-file", f->overrides.password_file,
                                     "Keystore password file (else OPENSTREAMING_PASSWORD, else a prompt)");
  f->data_dir = cmd->add_option("--data-dir", f->overrides.data_dir, "Directory for the node's state");
  f->listen = cmd->add_option("--listen", f->overrides.listen, "P2P listen HOST:PORT (port 0: any free port)");
  f->api = cmd->add_option("--api", f->overrides.api, "HTTP API HOST:PORT (default 127.0.0.1:0)");
  f->bootstrap = cmd->add_option("--bootstrap", f->overrides.bootstrap, "Peer HOST:PORT to dial (repeatable)");
  f->roles = cmd->add_option("--role", f->overrides.roles,
                             "relay, broadcaster, viewer (repeatable; transcoder, orchestrator: not implemented yet)");
  f->max_peers = cmd->add_option("--max-peers", f->overrides.max_peers, "Most peer sessions at once");
  cmd->add_flag("--no-peer-exchange", f->no_peer_exchange, "Dial only the bootstrap peers (exact topologies)");
  f->ingest =
      cmd->add_option("--ingest", f->overrides.ingest, "Broadcast SOURCE: testsrc, a file, or a URL FFmpeg can open");
  f->stream = cmd->add_option("--stream", f->overrides.stream, "Name of the stream to broadcast");
  f->rtmp_listen = cmd->add_option("--rtmp-listen", f->overrides.rtmp_listen,
                                   "Accept an RTMP push at rtmp://HOST:PORT/live/STREAM_NAME");
  f->srt_listen =
      cmd->add_option("--srt-listen", f->overrides.srt_listen, "Accept an SRT push (caller mode) at srt://HOST:PORT");
  cmd->add_option(
      "--misbehave", f->misbehave,
      "TEST AND DEMO ONLY: drop:P, delay:MS, corrupt:P, lie-capacity:F, overprice:F, after:S (comma-separated)");
  f->watch = cmd->add_option("--watch", f->overrides.watch, "Subscribe to a stream (id or name) at start (repeatable)");
  f->nostr_relays = cmd->add_option("--nostr-relay", f->overrides.nostr_relays,
                                    "Nostr relay ws://HOST:PORT or wss://... (repeatable): publish our announcements "
                                    "there; with --watch NAME and no --bootstrap, find the broadcaster there");
  f->ledger = cmd->add_option("--ledger", f->overrides.ledger,
                              "Settlement ledger: http://HOST:PORT (embedded) or evm+http://HOST:PORT (an EVM "
                              "chain, with --contracts); pay and get paid (docs/payments.md)");
  f->contracts = cmd->add_option("--contracts", f->overrides.contracts,
                                 "deployments.json of `openstreaming contracts deploy` (EVM ledger only)");
  f->api_token_file = cmd->add_option("--api-token-file", f->overrides.api_token_file,
                                      "Bearer token for state-changing API requests (default: a fresh one in "
                                      "DATA_DIR/api-token; required when --api is not loopback)");
  f->stream_key_file = cmd->add_option("--stream-key-file", f->overrides.stream_key_file,
                                       "RTMP/SRT pushes must present this stream key (the file's contents, trimmed)");
  cmd->callback([f, &runner] { runner.run = [f] { return run_node(*f); }; });
}

} // namespace openstreaming::cli
