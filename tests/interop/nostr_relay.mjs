// A real Nostr relay for our tests: NostrRelay from @nostr-relay/core, with
// incoming messages checked by @nostr-relay/validator, events kept in memory.
//
// Guarantees:
//   - listens on 127.0.0.1 only; prints exactly one line `{"port":N}` to stdout
//     once listening (everything else, logs included, goes to stderr);
//   - NIP-01: EVENT gets ["OK",id,true|false,reason]; REQ gets the stored
//     matching events (newest first for each filter), then ["EOSE",subId],
//     then every new matching event live; replaceable kinds (0, 3, 10000-19999) keep the
//     newest per (pubkey,kind), addressable kinds (30000-39999) the newest per
//     (pubkey,kind,d tag); on equal created_at the lower id wins; ephemeral
//     kinds (20000-29999) are passed on live and never stored;
//   - NIP-11: a GET with `Accept: application/nostr+json` answers the relay
//     information document (Content-Type application/nostr+json, CORS *);
//   - a WebSocket message longer than max_message_length bytes gets
//     ["NOTICE","error: message too large"] and is not processed; one that is
//     not JSON gets ["NOTICE","error: invalid message"];
//   - exits 0 on SIGTERM and SIGINT; stdin is ignored (the tests' process
//     harness closes it at once, and kills the relay's process group by PID).
//
// Usage: node nostr_relay.mjs [--port N] [--max-message-length N]
//          [--max-subscriptions N] [--max-limit N] [--max-event-tags N]
//          [--max-content-length N] [--misbehave no-ok|garbage|close|forge]
//   --port 0 (the default) lets the OS choose; read the port from stdout.
//   --misbehave no-ok:   accepts connections and messages, never sends anything;
//   --misbehave garbage: answers every message with `this is not json`, then `["OK"]`;
//   --misbehave close:   closes every WebSocket right after the handshake;
//   --misbehave forge:   honest, but every event it sends has one hex digit of its sig changed.
import http from "node:http";
import { createRequire } from "node:module";
import { WebSocketServer } from "ws";
import { NostrRelay } from "@nostr-relay/core";
import { EventRepository, EventUtils, LogLevel } from "@nostr-relay/common";
import { Validator } from "@nostr-relay/validator";

const opts = {
  port: 0,
  "max-message-length": 131072,
  "max-subscriptions": 20,
  "max-limit": 500,
  "max-event-tags": 2000,
  "max-content-length": 102400,
  misbehave: "honest",
};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
  const name = argv[i].replace(/^--/, "");
  const value = argv[i + 1];
  if (!argv[i].startsWith("--") || !(name in opts) || value === undefined) usage(`bad argument ${argv[i]}`);
  if (name === "misbehave") {
    if (!["honest", "no-ok", "garbage", "close", "forge"].includes(value)) usage(`bad --misbehave ${value}`);
    opts.misbehave = value;
  } else {
    if (!/^\d+$/.test(value)) usage(`--${name} needs a number`);
    opts[name] = Number(value);
  }
}
function usage(why) {
  process.stderr.write(`nostr_relay: ${why}\n`);
  process.exit(2);
}

// NIP-01 storage in memory.
const isReplaceable = (k) => k === 0 || k === 3 || (k >= 10000 && k < 20000);
const isEphemeral = (k) => k >= 20000 && k < 30000;
const isAddressable = (k) => k >= 30000 && k < 40000;
const dTag = (e) => e.tags.find((t) => t[0] === "d")?.[1] ?? "";
const newer = (a, b) => a.created_at > b.created_at || (a.created_at === b.created_at && a.id < b.id);

// The library's EventUtils.isMatchingFilter checks ids, authors, kinds, since
// and until, but not tag filters: those are checked here.
function matchesFilter(event, filter) {
  if (!EventUtils.isMatchingFilter(event, filter)) return false;
  for (const [key, values] of Object.entries(filter)) {
    if (key[0] !== "#" || !Array.isArray(values)) continue;
    if (!event.tags.some((t) => t[0] === key.slice(1) && values.includes(t[1]))) return false;
  }
  return true;
}

class MemoryEventRepository extends EventRepository {
  byId = new Map();
  byAddress = new Map(); // "kind:pubkey:d" -> the newest replaceable/addressable event

  isSearchSupported() {
    return false;
  }

  upsert(event) {
    if (this.byId.has(event.id)) return { isDuplicate: true };
    if (isEphemeral(event.kind)) return { isDuplicate: false };
    if (isReplaceable(event.kind) || isAddressable(event.kind)) {
      const address = `${event.kind}:${event.pubkey}:${isAddressable(event.kind) ? dTag(event) : ""}`;
      const old = this.byAddress.get(address);
      if (old && !newer(event, old)) return { isDuplicate: true };
      if (old) this.byId.delete(old.id);
      this.byAddress.set(address, event);
    }
    this.byId.set(event.id, event);
    return { isDuplicate: false };
  }

  find(filter) {
    const limit = Math.min(filter.limit ?? opts["max-limit"], opts["max-limit"]);
    return [...this.byId.values()]
      .filter((e) => matchesFilter(e, filter))
      .sort((a, b) => b.created_at - a.created_at || (a.id < b.id ? -1 : 1))
      .slice(0, limit);
  }

  async destroy() {
    this.byId.clear();
    this.byAddress.clear();
  }
}

const log = (...args) => console.error(...args);
const logger = { setLogLevel() {}, debug() {}, info: log, warn: log, error: log };
const relay = new NostrRelay(new MemoryEventRepository(), {
  logger,
  logLevel: LogLevel.INFO,
  maxSubscriptionsPerClient: opts["max-subscriptions"],
  filterResultCacheTtl: 0, // no stale REQ answers right after a publish
  eventHandlingResultCacheTtl: 0, // a re-sent event is handled again (answered "duplicate:")
});
const validator = new Validator({
  maxNumberOfTags: opts["max-event-tags"],
  maxContentLength: opts["max-content-length"],
});

const coreVersion = createRequire(import.meta.url)("@nostr-relay/core/package.json").version;
const info = {
  name: "openstreaming-test-relay",
  description: "In-memory Nostr relay for OpenStreaming's tests, built on @nostr-relay/core",
  supported_nips: [1, 11],
  software: "https://github.com/CodyTseng/nostr-relay",
  version: coreVersion,
  limitation: {
    max_message_length: opts["max-message-length"],
    max_subscriptions: opts["max-subscriptions"],
    max_limit: opts["max-limit"],
    max_event_tags: opts["max-event-tags"],
    max_content_length: opts["max-content-length"],
    auth_required: false,
    payment_required: false,
  },
};

const cors = {
  "Access-Control-Allow-Origin": "*",
  "Access-Control-Allow-Headers": "*",
  "Access-Control-Allow-Methods": "GET, OPTIONS",
};
const server = http.createServer((req, res) => {
  if (req.method === "OPTIONS") {
    res.writeHead(204, cors).end();
  } else if (req.method === "GET" && (req.headers.accept ?? "").includes("application/nostr+json")) {
    res.writeHead(200, { ...cors, "Content-Type": "application/nostr+json" }).end(JSON.stringify(info));
  } else {
    res.writeHead(200, { ...cors, "Content-Type": "text/plain" }).end("Nostr relay: connect with a WebSocket\n");
  }
});

// ws would close the connection on a message over maxPayload; allow more than
// max_message_length so that an oversized message can be answered with a NOTICE.
const wss = new WebSocketServer({ server, maxPayload: Math.max(16 << 20, 2 * opts["max-message-length"]) });
wss.on("connection", (ws, req) => {
  ws.on("error", (err) => log("websocket error:", err.message));
  if (opts.misbehave === "close") return ws.close(1000, "misbehave: close");
  if (opts.misbehave === "no-ok") return;
  if (opts.misbehave === "garbage") {
    ws.on("message", () => {
      ws.send("this is not json");
      ws.send('["OK"]');
    });
    return;
  }

  // The library's live broadcast ignores tag filters, so each outgoing EVENT is
  // checked again against this connection's own copy of its REQ filters.
  const subs = new Map();
  const client = {
    get readyState() {
      return ws.readyState;
    },
    send(data) {
      if (data.startsWith('["EVENT"')) {
        const [, subId, event] = JSON.parse(data);
        const filters = subs.get(subId);
        if (filters && !filters.some((f) => matchesFilter(event, f))) return;
        if (opts.misbehave === "forge") {
          const last = event.sig.slice(-1);
          event.sig = event.sig.slice(0, -1) + (last === "0" ? "1" : "0");
          data = JSON.stringify(["EVENT", subId, event]);
        }
      }
      ws.send(data);
    },
  };
  const notice = (text) => client.send(JSON.stringify(["NOTICE", text]));
  relay.handleConnection(client, req.socket.remoteAddress);
  ws.on("close", () => relay.handleDisconnect(client));

  let queue = Promise.resolve(); // one message at a time, in order, per connection
  ws.on("message", (data) => {
    queue = queue.then(() => handle(data)).catch((err) => notice(`error: ${err.message}`));
  });
  async function handle(data) {
    if (data.length > opts["max-message-length"]) return notice("error: message too large");
    let raw;
    try {
      raw = JSON.parse(data.toString());
    } catch {
      return notice("error: invalid message");
    }
    let message;
    try {
      message = await validator.validateIncomingMessage(raw);
    } catch (err) {
      const id = Array.isArray(raw) && raw[0] === "EVENT" ? raw[1]?.id : undefined;
      if (typeof id === "string") return client.send(JSON.stringify(["OK", id, false, err.message]));
      return notice(err.message);
    }
    if (message[0] === "REQ") subs.set(message[1], message.slice(2));
    await relay.handleMessage(client, message); // sends OK / EVENT / EOSE / CLOSED itself
    if (message[0] === "CLOSE") subs.delete(message[1]);
  }
});

let stopping = false;
function stop() {
  if (stopping) return;
  stopping = true;
  for (const ws of wss.clients) ws.terminate();
  wss.close();
  server.close();
  relay.destroy().finally(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
server.listen(opts.port, "127.0.0.1", () => {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + "\n");
});
