#include "platform/files.h"
#include "platform/password.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

namespace openstreaming::platform {
namespace {

TEST(Password, FileWinsOverEnvironmentAndLosesItsNewline) {
  auto path = std::filesystem::temp_directory_path() / ("os-pw-test-" + std::to_string(::getpid()));
  ASSERT_TRUE(write_new_file(path, "from-file\r\nsecond line\n").ok());
  ::setenv("OPENSTREAMING_PASSWORD", "from-env", 1);
  PasswordRequest req;
  req.file = path.string();
  EXPECT_EQ(*obtain_password(req), "from-file");
  req.file.reset();
  EXPECT_EQ(*obtain_password(req), "from-env");
  ::unsetenv("OPENSTREAMING_PASSWORD");
  std::filesystem::remove(path);
}

TEST(Password, MissingFileIsAClearError) {
  PasswordRequest req;
  req.file = "/nonexistent/password";
  auto r = obtain_password(req);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("password file"), std::string::npos);
}

} // namespace
} // namespace openstreaming::platform
