#include "apps/openstreaming/demo_dashboard.h"

#include "api/http_client.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>

namespace openstreaming::cli::demo {

namespace fs = std::filesystem;
using nlohmann::json;

api::Handler dashboard_handler(fs::path web, const std::vector<Member>& members, std::mutex& mu,
                               const std::string& latest) {
  // GET /node/NAME/api/... and /node/NAME/hls/...: the page reads every node
  // through this origin, since nodes send no CORS headers (a page elsewhere
  // must not read them). Blocking, on this loop: loopback calls of a few ms,
  // bounded by a 2 s deadline.
  auto proxy = [&members](const api::HttpRequest& r) -> api::HttpResponse {
    auto not_found = api::HttpResponse{404, "application/json", R"({"error":"not found"})"};
    std::string rest = r.path.substr(6);
    auto slash = rest.find('/');
    if (slash == std::string::npos || r.method == "POST") return not_found;
    std::string name = rest.substr(0, slash), path = rest.substr(slash);
    if (path.rfind("/api/", 0) != 0 && path.rfind("/hls/", 0) != 0) return not_found;
    auto m = std::find_if(members.begin(), members.end(), [&](const Member& x) { return x.name == name; });
    if (m == members.end() || m->api.empty() || m->stopped) return not_found;
    auto url = api::HttpUrl::parse("http://" + m->api + path + (r.query.empty() ? "" : "?" + r.query));
    if (!url) return not_found;
    auto reply = api::http_get(*url, std::chrono::seconds(2));
    if (!reply) return {502, "application/json", json{{"error", reply.error().message}}.dump()};
    auto ends = [&](const std::string& x) { return path.size() >= x.size() && path.ends_with(x); };
    const char* type = ends(".m3u8") ? "application/vnd.apple.mpegurl"
                       : ends(".ts") ? "video/mp2t"
                                     : "application/json";
    return {reply->status, type, reply->body};
  };
  return [web = std::move(web), proxy, &mu, &latest](const api::HttpRequest& r) -> api::HttpResponse {
    auto file = [&](const fs::path& p, const char* type) -> api::HttpResponse {
      if (!fs::exists(p)) return {404, "application/json", R"({"error":"not found"})"};
      return {200, type, read_text(p)};
    };
    if (r.path == "/" || r.path == "/index.html") return file(web / "index.html", "text/html; charset=utf-8");
    if (r.path == "/app.js") return file(web / "app.js", "text/javascript; charset=utf-8");
    if (r.path == "/style.css") return file(web / "style.css", "text/css; charset=utf-8");
    if (r.path == "/vendor/hls.min.js")
      return file(web / "node_modules/hls.js/dist/hls.min.js", "text/javascript; charset=utf-8");
    if (r.path.rfind("/node/", 0) == 0) return proxy(r);
    std::lock_guard lock(mu);
    if (r.path == "/api/demo/state") return {200, "application/json", latest};
    if (r.path == "/api/demo/events") {
      api::HttpResponse res{200, "text/event-stream", latest};
      res.event_stream = true;
      return res;
    }
    return {404, "application/json", R"({"error":"not found"})"};
  };
}

} // namespace openstreaming::cli::demo
