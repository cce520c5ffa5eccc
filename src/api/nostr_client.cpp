#include "api/nostr_client.h"

#include "api/http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <deque>
#include <optional>
#include <tuple>

namespace openstreaming::api {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

namespace {

milliseconds left_until(Clock::time_point deadline) {
  return std::max(std::chrono::duration_cast<milliseconds>(deadline - Clock::now()), milliseconds(0));
}

} // namespace

struct NostrRelayClient::Impl {
  RelayUrl url;
  std::string where; // host:port, for messages
  boost::asio::io_context io;
  std::shared_ptr<ssl::context> tls_ctx;
  std::optional<websocket::stream<beast::tcp_stream>> ws;
  std::optional<websocket::stream<beast::ssl_stream<beast::tcp_stream>>> wss;
  beast::flat_buffer buffer;
  core::RelayLimits limits;
  std::vector<std::string> notices;
  uint64_t next_sub = 1;

  bool open() const { return ws.has_value() || wss.has_value(); }
  beast::tcp_stream& lowest() { return wss ? beast::get_lowest_layer(*wss) : beast::get_lowest_layer(*ws); }

  void close() {
    if (open()) {
      beast::error_code ignore;
      lowest().socket().shutdown(tcp::socket::shutdown_both, ignore);
      lowest().socket().close(ignore);
    }
    ws.reset();
    wss.reset();
    buffer.clear();
  }

  Error no_answer(milliseconds total) const {
    return make_error(Errc::io, "relay " + url.text() + ": no answer within " + std::to_string(total.count()) + " ms");
  }
  Error io_error(const std::string& step, const beast::error_code& ec) const {
    return make_error(Errc::io, "relay " + url.text() + ": " + step + ": " + ec.message());
  }

  // Runs the io_context until `done` or the deadline. On the deadline the
  // pending operation is aborted (its handler runs now, while what it refers
  // to exists) and the connection is closed: a half-finished WebSocket
  // operation leaves the stream unusable.
  bool run(const bool& done, Clock::time_point deadline) {
    io.restart();
    io.run_for(left_until(deadline));
    if (done) return true;
    if (open()) {
      beast::error_code ignore;
      lowest().socket().close(ignore);
    }
    io.restart();
    io.run();
    close();
    return false;
  }

  template <class F>
  void with_stream(F&& f) {
    if (wss)
      f(*wss);
    else
      f(*ws);
  }

  // GET / with Accept: application/nostr+json on a connection of its own.
  Result<core::RelayLimits> fetch_info(Clock::time_point deadline) {
    const milliseconds total = left_until(deadline);
    auto endpoints = resolve_within(url.host, url.port, total);
    if (!endpoints) return endpoints.error();
    std::optional<beast::tcp_stream> plain;
    std::optional<beast::ssl_stream<beast::tcp_stream>> tls;
    if (url.tls) {
      if (!tls_ctx) tls_ctx = https_context();
      tls.emplace(io, *tls_ctx);
      if (auto e = expect_peer(tls->native_handle(), url.host); !e) return e.error();
    } else {
      plain.emplace(io);
    }
    beast::tcp_stream& low = tls ? beast::get_lowest_layer(*tls) : *plain;
    http::request<http::empty_body> req{http::verb::get, url.target, 11};
    req.set(http::field::host, url.host);
    req.set(http::field::accept, "application/nostr+json");
    req.set(http::field::connection, "close");
    beast::flat_buffer buf;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024); // a relay information document is a few hundred bytes
    bool done = false;
    std::optional<Error> failed;
    auto finish = [&](const char* step, beast::error_code ec) {
      if (ec) failed = io_error(std::string("relay information: ") + step, ec);
      done = true;
    };
    auto exchange = [&](auto& s) {
      http::async_write(s, req, [&](beast::error_code wec, std::size_t) {
        if (wec) return finish("write", wec);
        http::async_read(s, buf, parser, [&](beast::error_code rec, std::size_t) { finish("read", rec); });
      });
    };
    low.async_connect(*endpoints, [&](beast::error_code cec, const tcp::endpoint&) {
      if (cec) return finish("connect", cec);
      if (!tls) return exchange(*plain);
      tls->async_handshake(ssl::stream_base::client, [&](beast::error_code hec) {
        if (hec) return finish("TLS handshake", hec);
        exchange(*tls);
      });
    });
    io.restart();
    io.run_for(left_until(deadline));
    if (!done) {
      beast::error_code ignore;
      low.socket().close(ignore);
      io.restart();
      io.run();
      return no_answer(total);
    }
    beast::error_code ignore;
    low.socket().close(ignore);
    if (failed) return *failed;
    const auto& res = parser.get();
    if (res.result_int() != 200)
      return make_error(Errc::not_found, "relay information: HTTP " + std::to_string(res.result_int()));
    auto doc = nlohmann::json::parse(res.body(), nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded()) return make_error(Errc::invalid_input, "relay information: not JSON");
    return core::relay_info_from_json(doc);
  }

  Result<void> open_ws(Clock::time_point deadline) {
    const milliseconds total = left_until(deadline);
    auto endpoints = resolve_within(url.host, url.port, total);
    if (!endpoints) return endpoints.error();
    if (url.tls) {
      if (!tls_ctx) tls_ctx = https_context();
      wss.emplace(io, *tls_ctx);
      if (auto e = expect_peer(wss->next_layer().native_handle(), url.host); !e) {
        wss.reset();
        return e.error();
      }
    } else {
      ws.emplace(io);
    }
    bool done = false;
    std::optional<Error> failed;
    auto finish = [&](const char* step, beast::error_code ec) {
      if (ec) failed = io_error(step, ec);
      done = true;
    };
    const std::string host_header = url.host + ":" + std::to_string(url.port);
    auto upgrade = [&](auto& s) {
      s.read_message_max(core::kNostrMaxRelayMessageBytes);
      s.set_option(websocket::stream_base::decorator(
          [](websocket::request_type& r) { r.set(http::field::user_agent, "openstreaming"); }));
      s.async_handshake(host_header, url.target, [&](beast::error_code hec) { finish("WebSocket handshake", hec); });
    };
    lowest().async_connect(*endpoints, [&](beast::error_code cec, const tcp::endpoint&) {
      if (cec) return finish("connect", cec);
      if (ws) return upgrade(*ws);
      wss->next_layer().async_handshake(ssl::stream_base::client, [&](beast::error_code hec) {
        if (hec) return finish("TLS handshake", hec);
        upgrade(*wss);
      });
    });
    if (!run(done, deadline)) return no_answer(total);
    if (failed) {
      close();
      return *failed;
    }
    with_stream([](auto& s) { s.text(true); });
    return {};
  }

  Result<void> write(const std::string& text, Clock::time_point deadline) {
    if (!open()) return make_error(Errc::io, "relay " + url.text() + ": not connected");
    const milliseconds total = left_until(deadline);
    bool done = false;
    beast::error_code err;
    with_stream([&](auto& s) {
      s.async_write(boost::asio::buffer(text), [&](beast::error_code ec, std::size_t) {
        err = ec;
        done = true;
      });
    });
    if (!run(done, deadline)) return no_answer(total);
    if (err) {
      close();
      return io_error("write", err);
    }
    return {};
  }

  // The next message the relay sends, parsed. A message we do not read (AUTH,
  // COUNT, ...) is skipped; a malformed one closes the connection.
  Result<core::RelayMessage> read(Clock::time_point deadline) {
    const milliseconds total = left_until(deadline);
    for (;;) {
      if (!open()) return make_error(Errc::io, "relay " + url.text() + ": not connected");
      bool done = false;
      beast::error_code err;
      with_stream([&](auto& s) {
        s.async_read(buffer, [&](beast::error_code ec, std::size_t) {
          err = ec;
          done = true;
        });
      });
      if (!run(done, deadline)) return no_answer(total);
      if (err) {
        close();
        if (err == websocket::error::message_too_big)
          return make_error(Errc::invalid_input, "relay " + url.text() + ": sent a message over " +
                                                     std::to_string(core::kNostrMaxRelayMessageBytes) + " bytes");
        return io_error("read", err);
      }
      std::string text = beast::buffers_to_string(buffer.data());
      buffer.consume(buffer.size());
      auto msg = core::parse_relay_message(text);
      if (msg) {
        if (auto* n = std::get_if<core::RelayNotice>(&*msg)) {
          if (notices.size() == 16) notices.erase(notices.begin());
          notices.push_back(n->message);
        }
        return msg;
      }
      if (msg.error().code == Errc::unsupported) continue;
      close();
      return make_error(Errc::invalid_input, "relay " + url.text() + " sent garbage: " + msg.error().message);
    }
  }
};

NostrRelayClient::NostrRelayClient(RelayUrl url) : m(std::make_unique<Impl>()) {
  m->url = std::move(url);
  m->where = m->url.host + ":" + std::to_string(m->url.port);
}

NostrRelayClient::~NostrRelayClient() {
  m->close();
}

Result<void> NostrRelayClient::connect(milliseconds timeout) {
  m->close();
  const auto started = Clock::now();
  auto info = m->fetch_info(started + timeout / 2);
  if (info) {
    m->limits = *info;
  } else {
    m->limits = core::RelayLimits{};
    spdlog::debug("nostr: {}: no usable relay information ({}); default limits", m->url.text(), info.error().message);
  }
  return m->open_ws(started + timeout);
}

bool NostrRelayClient::connected() const {
  return m->open();
}
void NostrRelayClient::close() {
  m->close();
}
const core::RelayLimits& NostrRelayClient::limits() const {
  return m->limits;
}
const RelayUrl& NostrRelayClient::url() const {
  return m->url;
}
const std::vector<std::string>& NostrRelayClient::notices() const {
  return m->notices;
}

Result<core::RelayOk> NostrRelayClient::publish(const core::NostrEvent& event, milliseconds timeout) {
  if (auto why = core::exceeds_limits(event, m->limits))
    return make_error(Errc::invalid_input, "relay " + m->url.text() + ": not sent: " + *why);
  const auto deadline = Clock::now() + timeout;
  if (auto w = m->write(core::client_event_message(event), deadline); !w) return w.error();
  for (;;) {
    auto msg = m->read(deadline);
    if (!msg) return msg.error();
    if (auto* ok = std::get_if<core::RelayOk>(&*msg); ok && ok->event_id == event.id) return *ok;
    // Anything else (a NOTICE, events of an older subscription) is not the answer.
  }
}

Result<RelayQuery> NostrRelayClient::query(nlohmann::json filter, milliseconds timeout, std::size_t max_events) {
  if (!filter.is_object()) return make_error(Errc::invalid_input, "a filter must be a JSON object");
  max_events = std::min(max_events, m->limits.max_limit);
  std::size_t limit = max_events;
  if (auto it = filter.find("limit"); it != filter.end() && it->is_number_integer() && it->get<int64_t>() >= 0)
    limit = std::min<std::size_t>(limit, static_cast<std::size_t>(it->get<int64_t>()));
  filter["limit"] = limit;
  const std::string sub = "os" + std::to_string(m->next_sub++);
  const auto deadline = Clock::now() + timeout;
  if (auto w = m->write(core::client_req_message(sub, filter), deadline); !w) return w.error();
  RelayQuery out;
  // What one query may hold, whatever the relay sends: events are counted at
  // their wire size (a parsed event takes at most ~12x that, for tags of empty
  // strings), and a query that reaches the budget ends as if the relay had
  // sent max_events.
  constexpr std::size_t kQueryBudgetBytes = 2 << 20;
  std::size_t held = 0;
  auto drop = [&](const std::string& why) {
    if (out.dropped++ == 0) out.first_drop = why;
  };
  for (;;) {
    auto msg = m->read(deadline);
    if (!msg) return msg.error();
    if (auto* ev = std::get_if<core::RelayEvent>(&*msg)) {
      if (ev->subscription != sub) {
        drop("an event for subscription '" + ev->subscription + "', not ours");
        continue;
      }
      if (auto v = core::verify_event(ev->event); !v) {
        drop(v.error().message);
        continue;
      }
      held += core::client_event_message(ev->event).size();
      out.events.push_back(std::move(ev->event));
      if (out.events.size() >= limit || held >= kQueryBudgetBytes) break;
    } else if (auto* eose = std::get_if<core::RelayEose>(&*msg); eose && eose->subscription == sub) {
      out.complete = true;
      break;
    } else if (auto* closed = std::get_if<core::RelayClosed>(&*msg); closed && closed->subscription == sub) {
      out.first_drop =
          out.first_drop.empty() ? "the relay closed the subscription: " + closed->message : out.first_drop;
      return out;
    }
  }
  // Best effort: the answer is in hand whether or not the relay reads this.
  (void)m->write(core::client_close_message(sub), std::min(deadline, Clock::now() + milliseconds(500)));
  return out;
}

std::vector<core::NostrEvent> newest_live_activities(const std::vector<core::NostrEvent>& events) {
  std::map<std::pair<std::string, std::string>, const core::NostrEvent*> best;
  for (const auto& e : events) {
    if (e.kind != 30311) continue;
    auto key = std::make_pair(e.pubkey, core::first_tag(e, "d").value_or(""));
    auto [it, fresh] = best.emplace(key, &e);
    if (!fresh && std::make_tuple(-e.created_at, e.id) < std::make_tuple(-it->second->created_at, it->second->id))
      it->second = &e;
  }
  std::vector<core::NostrEvent> out;
  for (const auto& [key, e] : best) out.push_back(*e);
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.created_at > b.created_at; });
  return out;
}

LiveActivities find_live_activities(const std::vector<RelayUrl>& relays, nlohmann::json filter, milliseconds timeout,
                                    std::size_t max_events) {
  LiveActivities out;
  std::vector<core::NostrEvent> all;
  filter["kinds"] = nlohmann::json::array({30311});
  for (const auto& url : relays) {
    NostrRelayClient client(url);
    const auto deadline = Clock::now() + timeout;
    auto c = client.connect(timeout);
    if (!c) {
      out.errors.push_back(url.text() + ": " + c.error().message);
      continue;
    }
    auto q = client.query(filter, left_until(deadline), max_events);
    if (!q) {
      out.errors.push_back(url.text() + ": " + q.error().message);
      continue;
    }
    if (q->dropped) {
      spdlog::warn("nostr: {}: dropped {} event(s), the first because {}", url.text(), q->dropped, q->first_drop);
    }
    for (auto& e : q->events)
      if (e.kind == 30311) all.push_back(std::move(e)); // a relay may send what the filter excludes
  }
  out.events = newest_live_activities(all);
  return out;
}

// ---- NostrPublisher -------------------------------------------------------------

struct NostrPublisher::Relay {
  explicit Relay(RelayUrl u) : client(std::move(u)) {}
  NostrRelayClient client;                       // used by the publisher's thread only
  std::map<std::string, core::NostrEvent> queue; // by d tag: to publish (guarded by m_mutex)
  Clock::time_point next_attempt{};
  milliseconds backoff{0};
  RelayStatus status;
};

NostrPublisher::NostrPublisher(std::vector<RelayUrl> relays, Options options) : m_options(options) {
  for (auto& u : relays) {
    auto r = std::make_unique<Relay>(u);
    r->status.url = u.text();
    r->backoff = m_options.backoff_min;
    m_relays.push_back(std::move(r));
  }
  m_thread = std::thread([this] { run(); });
}

NostrPublisher::~NostrPublisher() {
  {
    std::lock_guard lock(m_mutex);
    m_stop = true;
  }
  m_wake.notify_all();
  m_thread.join();
}

void NostrPublisher::offer(const core::NostrEvent& event) {
  const std::string d = core::first_tag(event, "d").value_or("");
  {
    std::lock_guard lock(m_mutex);
    auto it = m_latest.find(d);
    if (it != m_latest.end()) {
      const core::NostrEvent& last = it->second;
      if (event.created_at <= last.created_at) return; // not newer
      const bool same = last.tags == event.tags && last.content == event.content && last.kind == event.kind;
      if (same && event.created_at < last.created_at + m_options.refresh.count()) return;
    }
    m_latest[d] = event;
    for (auto& r : m_relays) r->queue[d] = event;
  }
  m_wake.notify_all();
}

void NostrPublisher::flush(milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::unique_lock lock(m_mutex);
  auto drained = [&] {
    return std::all_of(m_relays.begin(), m_relays.end(), [](const auto& r) { return r->queue.empty(); });
  };
  // Pass after pass, backoff or not, until every relay has what is queued or
  // the time is up (a pass ends early for a relay that failed).
  while (!drained() && Clock::now() < deadline) {
    m_urgent = true;
    m_wake.notify_all();
    m_idle.wait_until(lock, deadline, [&] { return drained() || !m_urgent; });
    // Not there yet: a short pause, so a relay that refuses at once is not hammered.
    m_idle.wait_until(lock, std::min(deadline, Clock::now() + milliseconds(100)), drained);
  }
}

std::vector<NostrPublisher::RelayStatus> NostrPublisher::status() const {
  std::lock_guard lock(m_mutex);
  std::vector<RelayStatus> out;
  for (const auto& r : m_relays) out.push_back(r->status);
  return out;
}

void NostrPublisher::run() {
  std::unique_lock lock(m_mutex);
  while (!m_stop) {
    const bool urgent = m_urgent;
    bool pending = false;
    for (auto& r : m_relays) {
      if (m_stop) break;
      if (r->queue.empty()) continue;
      if (!urgent && Clock::now() < r->next_attempt) {
        pending = true;
        continue;
      }
      if (!serve(*r, lock)) pending = true;
    }
    if (urgent) m_urgent = false; // one pass for a flush, whatever came of it
    m_idle.notify_all();
    m_wake.wait_for(lock, pending ? milliseconds(200) : milliseconds(1000), [&] {
      return m_stop || m_urgent || std::any_of(m_relays.begin(), m_relays.end(), [](const auto& r) {
               return !r->queue.empty() && Clock::now() >= r->next_attempt;
             });
    });
  }
}

bool NostrPublisher::serve(Relay& r, std::unique_lock<std::mutex>& lock) {
  auto failed = [&](const std::string& why) {
    ++r.status.failures;
    r.status.last_error = why;
    r.status.connected = false;
    r.next_attempt = Clock::now() + r.backoff;
    r.backoff = std::min(r.backoff * 2, m_options.backoff_max);
    spdlog::warn("nostr: {}: {}; trying again in {} ms", r.status.url, why,
                 std::chrono::duration_cast<milliseconds>(r.next_attempt - Clock::now()).count());
    return false;
  };
  auto connect = [&]() -> Result<void> {
    lock.unlock();
    auto c = r.client.connect(m_options.timeout);
    lock.lock();
    if (c) r.status.connected = true;
    return c;
  };
  // A connection that sat idle since the last publish may have been dropped by
  // the relay or a middlebox without our noticing (we read nothing between
  // publishes): a publish that fails on one is retried once on a fresh one.
  bool fresh = false;
  if (!r.client.connected()) {
    if (auto c = connect(); !c) return failed(c.error().message);
    fresh = true;
  }
  while (!r.queue.empty() && !m_stop) {
    const core::NostrEvent ev = r.queue.begin()->second;
    const std::string d = r.queue.begin()->first;
    lock.unlock();
    auto ok = r.client.publish(ev, m_options.timeout);
    lock.lock();
    if (!ok && !fresh && !r.client.connected() && !m_stop) {
      fresh = true;
      if (auto c = connect(); !c) return failed(c.error().message);
      lock.unlock();
      ok = r.client.publish(ev, m_options.timeout);
      lock.lock();
    }
    // What was published is off the queue unless a newer one replaced it meanwhile.
    auto done = [&] {
      if (auto it = r.queue.find(d); it != r.queue.end() && it->second.id == ev.id) r.queue.erase(it);
    };
    if (!ok) {
      if (ok.error().code == Errc::invalid_input && r.client.connected()) { // beyond the relay's limits: never sendable
        ++r.status.refused;
        r.status.last_error = ok.error().message;
        done();
        continue;
      }
      r.client.close();
      return failed(ok.error().message);
    }
    if (ok->accepted) {
      ++r.status.published;
      r.status.last_ok = ok->message;
      spdlog::info("nostr: {} accepted {} ({}){}", r.status.url, ev.id.substr(0, 12),
                   core::first_tag(ev, "status").value_or("?"), ok->message.empty() ? "" : ": " + ok->message);
    } else {
      ++r.status.refused;
      r.status.last_error = "refused: " + ok->message;
      spdlog::warn("nostr: {} refused {}: {}", r.status.url, ev.id.substr(0, 12), ok->message);
    }
    done();
  }
  r.backoff = m_options.backoff_min;
  return true;
}

} // namespace openstreaming::api
