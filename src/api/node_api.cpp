#include "api/node_api.h"

#include <nlohmann/json.hpp>

#include <sstream>

namespace openstreaming::api {

using nlohmann::json;

namespace {

HttpResponse json_response(const json& j, unsigned status = 200) {
  return HttpResponse{status, "application/json", j.dump() + "\n"};
}

// Label values are escaped per the exposition format: backslash, quote, newline.
std::string label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

class Exposition {
public:
  void family(const std::string& name, const char* type, const std::string& help) {
    m_out << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n";
  }
  void sample(const std::string& name, const std::vector<std::pair<std::string, std::string>>& labels, double value) {
    m_out << name;
    if (!labels.empty()) {
      m_out << "{";
      for (std::size_t i = 0; i < labels.size(); ++i) {
        m_out << (i ? "," : "") << labels[i].first << "=\"" << label(labels[i].second) << "\"";
      }
      m_out << "}";
    }
    m_out << " " << value << "\n";
  }
  std::string str() const { return m_out.str(); }

private:
  std::ostringstream m_out;
};

} // namespace

std::string prometheus_metrics(net::NodeRuntime& rt) {
  const auto& m = rt.node().metrics();
  const auto& t = rt.transport_metrics();
  Exposition e;
  e.family("openstreaming_uptime_seconds", "gauge", "Seconds since the node started.");
  e.sample("openstreaming_uptime_seconds", {}, rt.uptime_s());
  e.family("openstreaming_peers", "gauge", "Established peer sessions.");
  e.sample("openstreaming_peers", {}, static_cast<double>(rt.node().established_count()));
  e.family("openstreaming_connections_total", "counter", "Connections that completed TLS, by direction.");
  e.sample("openstreaming_connections_total", {{"direction", "inbound"}}, static_cast<double>(m.connections_inbound));
  e.sample("openstreaming_connections_total", {{"direction", "outbound"}}, static_cast<double>(m.connections_outbound));
  e.family("openstreaming_frames_total", "counter", "Frames by type and direction.");
  for (const auto& [type, n] : m.frames_in) e.sample("openstreaming_frames_total", {{"type", type}, {"direction", "in"}}, static_cast<double>(n));
  for (const auto& [type, n] : m.frames_out) e.sample("openstreaming_frames_total", {{"type", type}, {"direction", "out"}}, static_cast<double>(n));
  e.family("openstreaming_frame_bytes_total", "counter", "Frame bytes (with framing) by type and direction.");
  for (const auto& [type, n] : m.bytes_in) e.sample("openstreaming_frame_bytes_total", {{"type", type}, {"direction", "in"}}, static_cast<double>(n));
  for (const auto& [type, n] : m.bytes_out) e.sample("openstreaming_frame_bytes_total", {{"type", type}, {"direction", "out"}}, static_cast<double>(n));
  e.family("openstreaming_disconnects_total", "counter", "Closed peer connections by reason and by who decided.");
  for (const auto& [key, n] : m.disconnects) {
    e.sample("openstreaming_disconnects_total", {{"reason", key.first}, {"initiator", key.second}}, static_cast<double>(n));
  }
  e.family("openstreaming_handshake_failures_total", "counter", "Connections that failed before a session was established.");
  e.sample("openstreaming_handshake_failures_total", {{"reason", "tls"}}, static_cast<double>(t.tls_handshake_failures));
  for (const auto& [reason, n] : m.handshake_failures) {
    e.sample("openstreaming_handshake_failures_total", {{"reason", reason}}, static_cast<double>(n));
  }
  e.family("openstreaming_protocol_errors_total", "counter", "Hostile or broken input from peers, by kind.");
  for (const auto& [reason, n] : m.protocol_errors) {
    e.sample("openstreaming_protocol_errors_total", {{"reason", reason}}, static_cast<double>(n));
  }
  e.family("openstreaming_connections_rejected_total", "counter", "Sockets closed on accept: too many TLS handshakes pending.");
  e.sample("openstreaming_connections_rejected_total", {{"reason", "pending_limit"}}, static_cast<double>(t.connections_rejected));
  e.family("openstreaming_dials_failed_total", "counter", "Outbound connection attempts that failed.");
  e.sample("openstreaming_dials_failed_total", {}, static_cast<double>(m.dials_failed));
  e.family("openstreaming_frames_dropped_total", "counter", "Frames dropped before sending, by cause.");
  e.sample("openstreaming_frames_dropped_total", {{"reason", "backpressure"}}, static_cast<double>(m.frames_dropped_backpressure));
  e.family("openstreaming_peer_records_rejected_total", "counter", "Peer-exchange records ignored as malformed.");
  e.sample("openstreaming_peer_records_rejected_total", {}, static_cast<double>(m.peer_records_rejected));
  return e.str();
}

Handler make_node_api(net::NodeRuntime& rt, const NodeApiInfo& info) {
  return [&rt, info](const HttpRequest& req) -> HttpResponse {
    if (req.path == "/api/status") {
      return json_response({{"address", rt.node().address().to_checksum_hex()},
                            {"version", info.version},
                            {"roles", info.roles},
                            {"p2p", info.p2p_endpoint},
                            {"api", info.api_endpoint},
                            {"peers", rt.node().established_count()},
                            {"uptime_s", rt.uptime_s()}});
    }
    if (req.path == "/api/peers") {
      json list = json::array();
      for (const auto& p : rt.node().peers(rt.now())) {
        list.push_back({{"address", p.address.to_checksum_hex()},
                        {"endpoint", p.remote.to_string()},
                        {"listen", p.listen_endpoint},
                        {"direction", agent::direction_name(p.direction)},
                        {"roles", p.roles},
                        {"rtt_ms", p.rtt_ms},
                        {"bytes_in", p.bytes_in},
                        {"bytes_out", p.bytes_out},
                        {"connected_s", p.connected_s}});
      }
      return json_response(list);
    }
    if (req.path == "/metrics") {
      return HttpResponse{200, "text/plain; version=0.0.4; charset=utf-8", prometheus_metrics(rt)};
    }
    return json_response({{"error", "not found: " + req.path}}, 404);
  };
}

} // namespace openstreaming::api
