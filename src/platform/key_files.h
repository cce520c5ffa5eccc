// Loading and creating keystore files: the file side of core/keystore.h.
#pragma once

#include "core/keystore.h"
#include "platform/password.h"

#include <filesystem>

namespace openstreaming::platform {

// Reads the keystore at `path`, obtains the password as `password` says and decrypts.
Result<core::PrivateKey> load_key_file(const std::filesystem::path& path, const PasswordRequest& password);

} // namespace openstreaming::platform
