#include "platform/password.h"

#include "platform/files.h"

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <termios.h>
#include <unistd.h>

namespace openstreaming::platform {

namespace {

std::string first_line(std::string s) {
  if (auto nl = s.find('\n'); nl != std::string::npos) s.resize(nl);
  if (!s.empty() && s.back() == '\r') s.pop_back();
  return s;
}

Result<std::string> prompt_no_echo(const std::string& prompt) {
  std::cerr << prompt << std::flush;
  termios old_attr{};
  bool restore = ::tcgetattr(STDIN_FILENO, &old_attr) == 0;
  if (restore) {
    termios silent = old_attr;
    silent.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &silent);
  }
  std::string line;
  bool got = static_cast<bool>(std::getline(std::cin, line));
  if (restore) ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &old_attr);
  std::cerr << "\n";
  if (!got) return make_error(Errc::invalid_input, "no password entered");
  return first_line(line);
}

} // namespace

Result<std::string> obtain_password(const PasswordRequest& request) {
  if (request.file) {
    auto content = read_file(*request.file, 1 << 16);
    if (!content) return make_error(content.error().code, "password file: " + content.error().message);
    return first_line(*content);
  }
  if (const char* env = std::getenv("OPENSTREAMING_PASSWORD")) return std::string(env);
  if (!::isatty(STDIN_FILENO)) {
    return make_error(Errc::invalid_input,
                      "no password given: use --password-file FILE or set OPENSTREAMING_PASSWORD (stdin is not a terminal)");
  }
  auto first = prompt_no_echo(request.prompt);
  if (!first || !request.confirm) return first;
  auto second = prompt_no_echo("Repeat password: ");
  if (!second) return second;
  if (*first != *second) return make_error(Errc::invalid_input, "the two passwords do not match");
  return first;
}

} // namespace openstreaming::platform
