// Where a keystore password comes from, in order:
//   1. --password-file F (first line; a trailing newline is not part of it)
//   2. the OPENSTREAMING_PASSWORD environment variable
//   3. an interactive prompt on the terminal (echo off), twice when confirming
// With none of these (no file, no variable, stdin not a terminal) it is an
// error that says how to provide one.
#pragma once

#include "core/result.h"

#include <optional>
#include <string>

namespace openstreaming::platform {

struct PasswordRequest {
  std::optional<std::string> file;
  bool confirm = false; // ask twice (creating a key)
  std::string prompt = "Password: ";
};

Result<std::string> obtain_password(const PasswordRequest& request);

} // namespace openstreaming::platform
