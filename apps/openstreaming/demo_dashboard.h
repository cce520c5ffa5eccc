// The demo's dashboard over HTTP: the page and its assets from `web` (web/,
// hls.js from web/node_modules), the latest snapshot at /api/demo/state and as
// server-sent events at /api/demo/events (each later snapshot is published by
// the caller: HttpServer::publish), and every member's API and HLS through this
// origin at /node/NAME/api/... and /node/NAME/hls/... (GET only). `latest` is
// read under `mu`; `members`, `mu` and `latest` must outlive the handler.
#pragma once

#include "api/http_server.h"
#include "apps/openstreaming/demo.h"

#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

namespace openstreaming::cli::demo {

api::Handler dashboard_handler(std::filesystem::path web, const std::vector<Member>& members, std::mutex& mu,
                               const std::string& latest);

} // namespace openstreaming::cli::demo
