#include "platform/key_files.h"

#include "platform/files.h"

namespace openstreaming::platform {

Result<core::PrivateKey> load_key_file(const std::filesystem::path& path, const PasswordRequest& password) {
  auto text = read_file(path, 1 << 20);
  if (!text) return text.error();
  // Check the file is a keystore before asking anyone for a password.
  if (auto probe = core::keystore::stated_address(*text); !probe && probe.error().code != Errc::not_found) {
    return make_error(probe.error().code, path.string() + ": " + probe.error().message);
  }
  auto pw = obtain_password(password);
  if (!pw) return pw.error();
  auto key = core::keystore::decrypt(*text, *pw);
  if (!key) return make_error(key.error().code, path.string() + ": " + key.error().message);
  return key;
}

} // namespace openstreaming::platform
