// The demo's dashboard over HTTP: the page and its assets from `web` (web/,
// hls.js from web/node_modules), the latest snapshot at /api/demo/state and as
// server-sent events at /api/demo/events (each later snapshot is published by
// the caller: HttpServer::publish). `latest` is read under `mu`; both must
// outlive the handler.
#pragma once

#include "api/http_server.h"

#include <filesystem>
#include <mutex>
#include <string>

namespace openstreaming::cli::demo {

api::Handler dashboard_handler(std::filesystem::path web, std::mutex& mu, const std::string& latest);

} // namespace openstreaming::cli::demo
