// A small HTTP/1.1 server on Boost.Beast for the node's API and the ledger's
// JSON-RPC. GET and HEAD, and POST when `max_body` > 0; each request is
// answered by a synchronous handler on the event loop thread (handlers must be
// quick). Limits: 8 KiB of headers, `max_body` bytes of body (0: none), 30 s
// idle per connection, at most `max_connections` open at once.
//
// No response carries CORS headers (Access-Control-Allow-Origin): a page on
// another origin cannot read what the server answers, so a web page a user
// happens to visit cannot read a node's API or the ledger on loopback. Pages
// that need it (the demo's dashboard) are served from the same origin.
#pragma once

#include "core/result.h"

#include <boost/asio.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace openstreaming::api {

struct HttpRequest {
  std::string method;
  std::string path;  // without the query string
  std::string query; // after '?', undecoded
  std::string body;  // POST only
  std::string authorization; // the Authorization header, verbatim ("" if absent)
};

struct HttpResponse {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  // Server-sent events (text/event-stream): the connection stays open, `body`
  // is sent first, then every publish() of the server.
  bool event_stream = false;
};

using Handler = std::function<HttpResponse(const HttpRequest&)>;

class HttpServer {
public:
  HttpServer(boost::asio::io_context& io, Handler handler, std::size_t max_connections = 128, std::size_t max_body = 0);
  ~HttpServer();
  Result<boost::asio::ip::tcp::endpoint> listen(const std::string& host, uint16_t port);
  void stop();
  // Sends `data` as one server-sent event to every open event stream (a slow
  // client with more than 1 MiB unsent is dropped).
  void publish(const std::string& data);

private:
  class Session;
  void accept_next();
  boost::asio::io_context& m_io;
  Handler m_handler;
  boost::asio::ip::tcp::acceptor m_acceptor;
  std::size_t m_max_connections;
  std::size_t m_max_body;
  std::shared_ptr<std::size_t> m_open; // shared with sessions, which may outlive a stopped server
  std::shared_ptr<std::vector<std::weak_ptr<Session>>> m_streams; // open event streams
};

} // namespace openstreaming::api
