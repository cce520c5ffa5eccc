// Process-wide logging to stderr via spdlog. Text by default; "json" emits one
// JSON object per line ({"ts","level","logger","msg"}) for log shippers.
#pragma once

#include "core/result.h"

#include <string>

namespace openstreaming::platform {

Result<void> setup_logging(const std::string& level, const std::string& format);

} // namespace openstreaming::platform
