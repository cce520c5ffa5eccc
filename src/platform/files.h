// Small, careful file helpers. All return errors as values with the path in the message.
#pragma once

#include "core/result.h"

#include <filesystem>
#include <string>

namespace openstreaming::platform {

// Reads a whole file; refuses files larger than max_bytes.
Result<std::string> read_file(const std::filesystem::path& path, std::size_t max_bytes = 16 << 20);

// Creates `path` with `mode` and writes `content`, fsynced. Never overwrites:
// an existing file is Errc::already_exists and is left untouched. A failed
// write removes the partial file.
Result<void> write_new_file(const std::filesystem::path& path, std::string_view content, unsigned mode = 0600);

} // namespace openstreaming::platform
