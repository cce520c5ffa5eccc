#include "api/http_server.h"

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <array>
#include <deque>
#include <optional>

namespace openstreaming::api {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

class HttpServer::Session : public std::enable_shared_from_this<Session> {
public:
  Session(tcp::socket sock, const Handler& handler, std::shared_ptr<std::size_t> open, std::size_t max_body,
          std::shared_ptr<std::vector<std::weak_ptr<Session>>> streams)
      : m_stream(std::move(sock)), m_handler(handler), m_open(std::move(open)), m_max_body(max_body),
        m_streams(std::move(streams)) {
    ++*m_open;
  }

  // An event stream: queue one event (dropped with the connection when too far behind).
  void push_event(const std::string& data) {
    if (m_dead) return;
    if (m_unsent > (1u << 20)) {
      m_dead = true;
      beast::error_code ignore;
      m_stream.socket().close(ignore);
      return;
    }
    std::string ev = "data: " + data + "\n\n";
    m_unsent += ev.size();
    m_outbox.push_back(std::move(ev));
    if (!m_writing) write_next();
  }
  ~Session() { --*m_open; }

  void read() {
    m_parser.emplace();
    m_parser->header_limit(8 << 10);
    m_parser->body_limit(m_max_body);
    m_stream.expires_after(std::chrono::seconds(30));
    http::async_read(m_stream, m_buffer, *m_parser,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

private:
  void on_read(beast::error_code ec) {
    if (ec == http::error::end_of_stream) {
      beast::error_code ignore;
      m_stream.socket().shutdown(tcp::socket::shutdown_send, ignore);
      return;
    }
    if (ec) {
      // Malformed requests get a 400; timeouts and resets just end the session.
      if (ec.category() == beast::error_code(http::error::bad_method).category())
        reply_error(400, "bad request: " + ec.message());
      return;
    }
    const auto& req = m_parser->get();
    HttpResponse res;
    bool post = req.method() == http::verb::post && m_max_body > 0;
    if (req.method() != http::verb::get && req.method() != http::verb::head && !post) {
      res = {405, "application/json", R"({"error":"only GET and HEAD are supported"})"};
    } else {
      std::string target(req.target());
      HttpRequest r;
      r.method = std::string(req.method_string());
      auto q = target.find('?');
      r.path = target.substr(0, q);
      if (q != std::string::npos) r.query = target.substr(q + 1);
      if (post) r.body = req.body();
      r.authorization = std::string(req[http::field::authorization]);
      res = m_handler(r);
    }
    if (res.event_stream && req.method() == http::verb::get) {
      start_events(res);
      return;
    }
    send(res, req.keep_alive(), req.method() == http::verb::head, req.version());
  }

  void start_events(const HttpResponse& r) {
    m_stream.expires_never();
    std::string head = "HTTP/1.1 200 OK\r\nServer: openstreaming\r\nContent-Type: text/event-stream\r\n"
                       "Cache-Control: no-store\r\nConnection: keep-alive\r\n\r\n";
    m_outbox.push_back(head + (r.body.empty() ? "" : "data: " + r.body + "\n\n"));
    m_unsent += m_outbox.back().size();
    m_streams->push_back(weak_from_this());
    write_next();
    watch_close();
  }

  // A pending read keeps an idle event stream alive and notices the client leaving.
  void watch_close() {
    m_stream.async_read_some(boost::asio::buffer(m_sink),
                             [self = shared_from_this()](beast::error_code ec, std::size_t) {
                               if (ec) {
                                 self->m_dead = true;
                                 return;
                               }
                               self->watch_close();
                             });
  }

  void write_next() {
    if (m_outbox.empty() || m_dead) {
      m_writing = false;
      return;
    }
    m_writing = true;
    auto buf = std::make_shared<std::string>(std::move(m_outbox.front()));
    m_outbox.pop_front();
    boost::asio::async_write(m_stream, boost::asio::buffer(*buf),
                             [self = shared_from_this(), buf](beast::error_code ec, std::size_t) {
                               self->m_unsent -= std::min(self->m_unsent, buf->size());
                               if (ec) {
                                 self->m_dead = true;
                                 self->m_outbox.clear();
                                 self->m_writing = false;
                                 return;
                               }
                               self->write_next();
                             });
  }

  void reply_error(unsigned status, const std::string& message) {
    send(HttpResponse{status, "application/json", "{\"error\":\"" + message + "\"}"}, false, false, 11);
  }

  void send(const HttpResponse& r, bool keep_alive, bool head, unsigned version) {
    auto res = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(r.status), version);
    res->set(http::field::server, "openstreaming");
    res->set(http::field::content_type, r.content_type);
    res->set(http::field::cache_control, "no-store");
    res->keep_alive(keep_alive);
    if (head) {
      res->content_length(r.body.size());
    } else {
      res->body() = r.body;
      res->prepare_payload();
    }
    http::async_write(m_stream, *res, [self = shared_from_this(), res, keep_alive](beast::error_code ec, std::size_t) {
      if (ec) return;
      if (keep_alive)
        self->read();
      else {
        beast::error_code ignore;
        self->m_stream.socket().shutdown(tcp::socket::shutdown_send, ignore);
      }
    });
  }

  beast::tcp_stream m_stream;
  beast::flat_buffer m_buffer;
  std::optional<http::request_parser<http::string_body>> m_parser;
  const Handler& m_handler;
  std::shared_ptr<std::size_t> m_open;
  std::size_t m_max_body;
  std::shared_ptr<std::vector<std::weak_ptr<Session>>> m_streams;
  std::deque<std::string> m_outbox; // event stream only
  std::size_t m_unsent = 0;
  bool m_writing = false, m_dead = false;
  std::array<char, 256> m_sink{};
};

HttpServer::HttpServer(boost::asio::io_context& io, Handler handler, std::size_t max_connections, std::size_t max_body)
    : m_io(io), m_handler(std::move(handler)), m_acceptor(io), m_max_connections(max_connections), m_max_body(max_body),
      m_open(std::make_shared<std::size_t>(0)), m_streams(std::make_shared<std::vector<std::weak_ptr<Session>>>()) {}

HttpServer::~HttpServer() {
  stop();
}

Result<tcp::endpoint> HttpServer::listen(const std::string& host, uint16_t port) {
  beast::error_code ec;
  auto addr = boost::asio::ip::make_address(host, ec);
  if (ec) return make_error(Errc::invalid_input, "--api: '" + host + "' is not an IP address");
  tcp::endpoint ep(addr, port);
  m_acceptor.open(ep.protocol(), ec);
  if (!ec) m_acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) m_acceptor.bind(ep, ec);
  if (!ec) m_acceptor.listen(boost::asio::socket_base::max_listen_connections, ec);
  if (ec) return make_error(Errc::io, "cannot listen on " + host + ":" + std::to_string(port) + ": " + ec.message());
  accept_next();
  return m_acceptor.local_endpoint();
}

void HttpServer::stop() {
  beast::error_code ignore;
  m_acceptor.close(ignore);
}

void HttpServer::publish(const std::string& data) {
  auto& list = *m_streams;
  for (auto it = list.begin(); it != list.end();) {
    auto s = it->lock();
    if (!s) {
      it = list.erase(it);
      continue;
    }
    s->push_event(data);
    ++it;
  }
}

void HttpServer::accept_next() {
  m_acceptor.async_accept([this](beast::error_code ec, tcp::socket sock) {
    if (ec == boost::asio::error::operation_aborted || !m_acceptor.is_open()) return;
    if (!ec) {
      if (*m_open >= m_max_connections) {
        beast::error_code ignore;
        sock.close(ignore);
      } else {
        std::make_shared<Session>(std::move(sock), m_handler, m_open, m_max_body, m_streams)->read();
      }
    }
    accept_next();
  });
}

} // namespace openstreaming::api
