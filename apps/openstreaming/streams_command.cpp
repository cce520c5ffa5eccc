// `openstreaming streams`: the live streams Nostr relays know of (NIP-53
// kind-30311 announcements, verified), optionally only those of the
// broadcasters a NIP-02 follow list names (docs/nostr.md).
#include "api/nostr_client.h"
#include "cli.h"
#include "core/announcement.h"
#include "core/hex.h"
#include "core/nip19.h"
#include "platform/files.h"

#include <nlohmann/json.hpp>

#include <set>
#include <sstream>

namespace openstreaming::cli {

namespace {

constexpr std::size_t kMaxFollows = 1000; // authors one REQ filter names

struct StreamsFlags {
  std::vector<std::string> relays;
  std::string follows;
  bool all = false;
  bool json = false;
  int64_t timeout_ms = 5000;
};

// Text from a relay, safe to print on a terminal: C0 and C1 control
// characters (escape sequences could rewrite the screen or set the clipboard;
// U+009B is a one-character CSI) become '?'.
std::string printable(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (b == 0xc2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) >= 0x80 &&
        static_cast<unsigned char>(s[i + 1]) <= 0x9f) {
      out += '?'; // U+0080..U+009F in UTF-8
      ++i;
    } else {
      out += b < 0x20 || b == 0x7f ? '?' : s[i];
    }
  }
  return out;
}

// A 64-hex key or an npub, as hex.
Result<std::string> pubkey_of(const std::string& text) {
  if (text.rfind("npub1", 0) == 0) return core::decode_npub(text);
  if (auto k = core::from_hex_fixed<32>(text); k && text.size() == 64) return core::to_hex(*k, false);
  return make_error(Errc::invalid_input, "'" + text.substr(0, 80) + "' is neither an npub nor a 64-hex key");
}

// The keys a kind-3 follow list names in its p tags (malformed ones skipped).
std::vector<std::string> follows_of(const core::NostrEvent& list) {
  std::vector<std::string> out;
  for (const auto& t : list.tags) {
    if (t.size() >= 2 && t[0] == "p")
      if (auto k = pubkey_of(t[1]); k && out.size() < kMaxFollows) out.push_back(*k);
  }
  return out;
}

// --follows: an npub or hex key (its newest kind-3 list on the relays), or a
// file holding a signed kind-3 event (JSON) or one npub/hex key per line.
Result<std::vector<std::string>> read_follows(const std::string& arg, const std::vector<api::RelayUrl>& relays,
                                              std::chrono::milliseconds timeout) {
  if (auto key = pubkey_of(arg)) {
    std::optional<core::NostrEvent> newest;
    std::vector<std::string> errors;
    for (const auto& url : relays) {
      api::NostrRelayClient client(url);
      auto c = client.connect(timeout);
      auto q = c ? client.query({{"kinds", {3}}, {"authors", {*key}}, {"limit", 1}}, timeout, 1)
                 : Result<api::RelayQuery>(c.error());
      if (!q) {
        errors.push_back(url.text() + ": " + q.error().message);
        continue;
      }
      for (auto& e : q->events)
        if (e.kind == 3 && e.pubkey == *key &&
            (!newest || e.created_at > newest->created_at ||
             (e.created_at == newest->created_at && e.id < newest->id))) // NIP-01: the lowest id wins a tie
          newest = e;
    }
    if (!newest) {
      std::string why = "--follows: no follow list (kind 3) of " + arg + " on the relays";
      for (const auto& e : errors) why += "; " + e;
      return make_error(Errc::not_found, why);
    }
    return follows_of(*newest);
  }
  auto text = platform::read_file(arg, 1 << 20);
  if (!text) return make_error(Errc::invalid_input, "--follows: " + text.error().message);
  auto j = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_discarded() && j.is_object()) {
    auto ev = core::event_from_json(j);
    if (!ev) return make_error(Errc::invalid_input, "--follows " + arg + ": " + ev.error().message);
    if (auto v = core::verify_event(*ev); !v)
      return make_error(Errc::invalid_input, "--follows " + arg + ": " + v.error().message);
    if (ev->kind != 3)
      return make_error(Errc::invalid_input, "--follows " + arg + ": a kind-" + std::to_string(ev->kind) +
                                                 " event, not a follow list (kind 3)");
    return follows_of(*ev);
  }
  std::vector<std::string> out;
  std::istringstream lines(*text);
  std::string line;
  for (int n = 1; std::getline(lines, line); ++n) {
    line.erase(line.find_last_not_of(" \t\r") + 1);
    line.erase(0, line.find_first_not_of(" \t"));
    if (line.empty() || line[0] == '#') continue;
    auto k = pubkey_of(line);
    if (!k)
      return make_error(Errc::invalid_input,
                        "--follows " + arg + " line " + std::to_string(n) + ": " + k.error().message);
    if (out.size() == kMaxFollows) return make_error(Errc::invalid_input, "--follows " + arg + ": more than 1000 keys");
    out.push_back(*k);
  }
  return out;
}

int run_streams(const StreamsFlags& f) {
  std::vector<api::RelayUrl> relays;
  for (const auto& r : f.relays) {
    auto u = api::RelayUrl::parse(r);
    if (!u) return fail(u.error());
    relays.push_back(*u);
  }
  if (f.timeout_ms < 100 || f.timeout_ms > 120'000)
    return fail(make_error(Errc::invalid_input, "--timeout-ms must be 100..120000"));
  const std::chrono::milliseconds timeout(f.timeout_ms);
  nlohmann::json filter = {{"limit", 500}};
  if (!f.follows.empty()) {
    auto follows = read_follows(f.follows, relays, timeout);
    if (!follows) {
      std::cerr << "error: " << follows.error().message << "\n";
      return follows.error().code == Errc::not_found ? kCheckFailed : kBadInput;
    }
    if (follows->empty()) {
      std::cerr << "error: --follows " << f.follows << ": the follow list names nobody\n";
      return kCheckFailed;
    }
    filter["authors"] = *follows;
  }
  const std::set<std::string> authors =
      filter.contains("authors") ? filter["authors"].get<std::set<std::string>>() : std::set<std::string>{};
  auto found = api::find_live_activities(relays, filter, timeout);
  for (const auto& e : found.errors) std::cerr << "warning: " << e << "\n";
  if (found.errors.size() == relays.size()) {
    std::cerr << "error: no relay answered\n";
    return kCheckFailed;
  }
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& ev : found.events) {
    auto npub = core::encode_npub(ev.pubkey); // the key is 64 hex: verify_event checked it
    const std::string status = core::first_tag(ev, "status").value_or("");
    if (!f.all && status == "ended") continue;
    if (!authors.empty() && !authors.count(ev.pubkey)) continue; // a relay may send what the filter excludes
    nlohmann::json row = {{"name", core::first_tag(ev, "d").value_or("")},
                          {"title", core::first_tag(ev, "title").value_or("")},
                          {"status", status},
                          {"pubkey", ev.pubkey},
                          {"npub", npub ? *npub : ""},
                          {"created_at", ev.created_at},
                          {"streaming", core::first_tag(ev, "streaming").value_or("")},
                          {"viewers", core::first_tag(ev, "current_participants").value_or("")},
                          {"event_id", ev.id}};
    // Ours: bound to a broadcaster address, with its renditions and where to dial in.
    if (auto a = core::read_stream_announcement(ev)) {
      row["openstreaming"] = {{"stream", core::to_hex(a->id, false)},
                              {"broadcaster", a->broadcaster.to_checksum_hex()},
                              {"renditions", a->renditions},
                              {"endpoint", a->endpoint}};
    }
    rows.push_back(std::move(row));
  }
  if (f.json) {
    std::cout << rows.dump(2) << "\n";
    return kOk;
  }
  for (const auto& r : rows) {
    const bool ours = r.contains("openstreaming");
    auto field = [](const nlohmann::json& j, const char* key) { return printable(j[key].get<std::string>()); };
    const std::string status = field(r, "status");
    std::cout << field(r, "name") << "  " << (status.empty() ? "-" : status) << "  \"" << field(r, "title") << "\"  "
              << (ours ? field(r["openstreaming"], "broadcaster") : field(r, "npub"));
    if (ours) {
      std::cout << "  renditions " << field(r["openstreaming"], "renditions");
      if (const std::string ep = field(r["openstreaming"], "endpoint"); !ep.empty()) std::cout << "  p2p " << ep;
    }
    if (const std::string viewers = field(r, "viewers"); !viewers.empty()) std::cout << "  viewers " << viewers;
    std::cout << "\n";
  }
  if (rows.empty()) std::cout << "no live streams\n";
  return kOk;
}

} // namespace

void add_streams_command(CLI::App& app, Runner& runner) {
  auto f = std::make_shared<StreamsFlags>();
  CLI::App* cmd = app.add_subcommand("streams", "List the live streams Nostr relays announce (NIP-53, verified)");
  cmd->add_option("--nostr-relay", f->relays, "Relay ws://HOST:PORT or wss://... (repeatable)")->required();
  cmd->add_option("--follows", f->follows,
                  "Only broadcasters this follow list names: an npub or hex key (its kind-3 list on the relays), or "
                  "a file with a signed kind-3 event or one key per line");
  cmd->add_flag("--all", f->all, "Include ended streams");
  cmd->add_flag("--json", f->json, "Print a JSON array");
  cmd->add_option("--timeout-ms", f->timeout_ms, "Per relay (default 5000)");
  cmd->callback([&runner, f] { runner.run = [f] { return run_streams(*f); }; });
}

} // namespace openstreaming::cli
