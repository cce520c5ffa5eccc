#include "apps/openstreaming/demo_dashboard.h"

#include "apps/openstreaming/demo.h"

namespace openstreaming::cli::demo {

namespace fs = std::filesystem;

api::Handler dashboard_handler(fs::path web, std::mutex& mu, const std::string& latest) {
  return [web = std::move(web), &mu, &latest](const api::HttpRequest& r) -> api::HttpResponse {
    auto file = [&](const fs::path& p, const char* type) -> api::HttpResponse {
      if (!fs::exists(p)) return {404, "application/json", R"({"error":"not found"})"};
      return {200, type, read_text(p)};
    };
    if (r.path == "/" || r.path == "/index.html") return file(web / "index.html", "text/html; charset=utf-8");
    if (r.path == "/app.js") return file(web / "app.js", "text/javascript; charset=utf-8");
    if (r.path == "/style.css") return file(web / "style.css", "text/css; charset=utf-8");
    if (r.path == "/vendor/hls.min.js")
      return file(web / "node_modules/hls.js/dist/hls.min.js", "text/javascript; charset=utf-8");
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
