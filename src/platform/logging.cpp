#include "platform/logging.h"

#include <nlohmann/json.hpp>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <ctime>

namespace openstreaming::platform {

namespace {

// One JSON object per line; nlohmann::json does the string escaping.
class JsonFormatter final : public spdlog::formatter {
public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(msg.time.time_since_epoch()).count();
    nlohmann::json j = {
        {"ts_ms", ms},
        {"level", std::string(spdlog::level::to_string_view(msg.level).data(), spdlog::level::to_string_view(msg.level).size())},
        {"logger", std::string(msg.logger_name.data(), msg.logger_name.size())},
        {"msg", std::string(msg.payload.data(), msg.payload.size())},
    };
    std::string line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    dest.append(line.data(), line.data() + line.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonFormatter>(); }
};

} // namespace

Result<void> setup_logging(const std::string& level, const std::string& format) {
  auto lvl = spdlog::level::from_str(level);
  if (lvl == spdlog::level::off && level != "off") {
    return make_error(Errc::invalid_input, "unknown log level '" + level + "' (trace, debug, info, warn, error, off)");
  }
  auto logger = spdlog::stderr_color_mt("openstreaming");
  if (format == "json") logger->set_formatter(std::make_unique<JsonFormatter>());
  else if (format == "text") logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  else return make_error(Errc::invalid_input, "unknown log format '" + format + "' (text, json)");
  logger->set_level(lvl);
  spdlog::set_default_logger(logger);
  return {};
}

} // namespace openstreaming::platform
