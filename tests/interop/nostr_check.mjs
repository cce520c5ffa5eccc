// An independent Nostr client for our tests, built on nostr-tools (not on the
// relay library), with the `ws` package as its WebSocket under Node 20.
//
// Query: node nostr_check.mjs RELAY_URL 'FILTER_JSON'
//   sends one REQ with the filter, collects events until EOSE and prints one
//   JSON line: an array of {id, pubkey, kind, created_at, tags, content,
//   verified}, in the order received, where verified is nostr-tools'
//   verifyEvent(event) (events with a bad id or signature are kept, with
//   verified false; events that do not match the filter are dropped, with a
//   line on stderr). Exit 0.
// Publish: node nostr_check.mjs publish RELAY_URL 'EVENT_TEMPLATE_JSON' [--secret HEX]
//   signs the template {kind, tags, content, created_at?} (created_at defaults
//   to now) with a fresh secret key, or the given 32-byte hex one, publishes it,
//   waits for OK and prints the signed event as one JSON line. Exit 0 if the
//   relay accepted it, 3 if it refused it (its reason on stderr).
// Either way: no EOSE or OK within 5 s, a failed or closed connection, or a
//   CLOSED answer, exits 2 with a message on stderr; bad arguments exit 1.
import WebSocket from "ws";
import { AbstractRelay } from "nostr-tools/abstract-relay";
import { finalizeEvent, generateSecretKey, verifyEvent } from "nostr-tools/pure";
import { hexToBytes } from "nostr-tools/utils";

const TIMEOUT_MS = 5000;
const fail = (code, message) => {
  process.stderr.write(`nostr_check: ${message}\n`);
  process.exit(code);
};
const timer = setTimeout(() => fail(2, `no answer within ${TIMEOUT_MS / 1000} s`), TIMEOUT_MS);

const args = process.argv.slice(2);
const publishing = args[0] === "publish";
if (publishing) args.shift();
const [url, json, flag, secret] = args;
if (!url || !json || (flag !== undefined && (flag !== "--secret" || !/^[0-9a-f]{64}$/i.test(secret ?? ""))))
  fail(1, "usage: nostr_check.mjs RELAY_URL FILTER_JSON | publish RELAY_URL EVENT_TEMPLATE_JSON [--secret HEX]");
let parsed;
try {
  parsed = JSON.parse(json);
} catch {
  fail(1, `not JSON: ${json}`);
}

// Every event is passed on here (verifyEvent: () => true) so that a bad one is
// reported with verified false rather than silently dropped by nostr-tools.
const relay = new AbstractRelay(url, { verifyEvent: () => true, websocketImplementation: WebSocket });
relay.baseEoseTimeout = relay.publishTimeout = 10 * TIMEOUT_MS; // our own timer decides
relay.onnotice = (msg) => process.stderr.write(`nostr_check: NOTICE ${msg}\n`);
const done = (code, line) => {
  clearTimeout(timer);
  if (line !== undefined) process.stdout.write(line + "\n");
  relay.onclose = null;
  relay.close();
  process.exit(code);
};

try {
  await relay.connect();
} catch (err) {
  fail(2, `cannot connect to ${url}: ${err?.message ?? err}`);
}
relay.onclose = () => fail(2, "connection closed by the relay");

if (publishing) {
  const event = finalizeEvent(
    { created_at: Math.floor(Date.now() / 1000), tags: [], content: "", ...parsed },
    secret ? hexToBytes(secret.toLowerCase()) : generateSecretKey(),
  );
  try {
    await relay.publish(event);
    done(0, JSON.stringify(event));
  } catch (err) {
    process.stderr.write(`nostr_check: refused: ${err.message}\n`);
    done(3, JSON.stringify(event));
  }
} else {
  const events = [];
  let eosed = false;
  relay.subscribe([parsed], {
    onevent(e) {
      const { id, pubkey, kind, created_at, tags, content } = e;
      events.push({ id, pubkey, kind, created_at, tags, content, verified: verifyEvent(e) });
    },
    oninvalidevent(e) {
      process.stderr.write(`nostr_check: dropped an event that does not match the filter: ${JSON.stringify(e)}\n`);
    },
    oneose() {
      eosed = true;
      done(0, JSON.stringify(events));
    },
    onclose(reason) {
      if (!eosed) fail(2, `subscription closed before EOSE: ${reason}`);
    },
  });
}
