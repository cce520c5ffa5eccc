#include "platform/files.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace openstreaming::platform {
namespace {

struct Dir {
  std::filesystem::path path = std::filesystem::temp_directory_path() /
                               ("os-files-test-" + std::to_string(::getpid()));
  Dir() { std::filesystem::create_directories(path); }
  ~Dir() { std::filesystem::remove_all(path); }
};

TEST(Files, WriteNewFileNeverOverwrites) {
  Dir d;
  auto p = d.path / "k.json";
  ASSERT_TRUE(write_new_file(p, "first").ok());
  auto again = write_new_file(p, "second");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, Errc::already_exists);
  EXPECT_EQ(*read_file(p), "first");
  EXPECT_EQ(std::filesystem::status(p).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

TEST(Files, ReadErrorsNameThePath) {
  Dir d;
  auto missing = read_file(d.path / "nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, Errc::not_found);
  EXPECT_NE(missing.error().message.find("nope"), std::string::npos);
  EXPECT_EQ(read_file(d.path).error().code, Errc::invalid_input); // a directory
  ASSERT_TRUE(write_new_file(d.path / "big", std::string(100, 'x')).ok());
  EXPECT_EQ(read_file(d.path / "big", 10).error().code, Errc::invalid_input);
}

TEST(Files, CreateInMissingDirectoryFailsCleanly) {
  Dir d;
  auto r = write_new_file(d.path / "no" / "such" / "dir", "x");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::not_found);
}

} // namespace
} // namespace openstreaming::platform
