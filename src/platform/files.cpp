#include "platform/files.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace openstreaming::platform {

namespace {
Error io_error(const std::filesystem::path& path, const char* action) {
  return make_error(errno == ENOENT ? Errc::not_found : Errc::io,
                    std::string("cannot ") + action + " " + path.string() + ": " + std::strerror(errno));
}
} // namespace

Result<std::string> read_file(const std::filesystem::path& path, std::size_t max_bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return io_error(path, "open");
  struct stat st{};
  if (::fstat(fd, &st) != 0) {
    Error e = io_error(path, "stat");
    ::close(fd);
    return e;
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    return make_error(Errc::invalid_input, path.string() + " is a directory, not a file");
  }
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      Error e = io_error(path, "read");
      ::close(fd);
      return e;
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    if (out.size() > max_bytes) {
      ::close(fd);
      return make_error(Errc::invalid_input, path.string() + " is larger than " + std::to_string(max_bytes) + " bytes");
    }
  }
  ::close(fd);
  return out;
}

Result<void> write_new_file(const std::filesystem::path& path, std::string_view content, unsigned mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    if (errno == EEXIST) return make_error(Errc::already_exists, path.string() + " already exists; refusing to overwrite it");
    return io_error(path, "create");
  }
  std::size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      Error e = io_error(path, "write");
      ::close(fd);
      ::unlink(path.c_str());
      return e;
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    Error e = io_error(path, "fsync");
    ::close(fd);
    ::unlink(path.c_str());
    return e;
  }
  ::close(fd);
  return {};
}

} // namespace openstreaming::platform
