#include "support/process.h"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <stdexcept>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace openstreaming::test {

namespace {
using Clock = std::chrono::steady_clock;

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return -WTERMSIG(status);
  return -1;
}
} // namespace

Process::Process(const std::vector<std::string>& argv, const SpawnOptions& options) {
  int out_pipe[2], err_pipe[2], in_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) || ::pipe2(err_pipe, O_CLOEXEC) || ::pipe2(in_pipe, O_CLOEXEC)) {
    throw std::runtime_error("pipe failed");
  }
  // Build argv/envp before fork: only async-signal-safe calls in the child.
  // A bare name ("ffmpeg") is looked up in PATH here, not in the child.
  std::string program = argv.at(0);
  if (program.find('/') == std::string::npos) {
    const char* path = std::getenv("PATH");
    std::string dirs = path ? path : "/usr/bin:/bin";
    for (std::size_t start = 0; start <= dirs.size();) {
      std::size_t end = dirs.find(':', start);
      if (end == std::string::npos) end = dirs.size();
      std::string candidate = dirs.substr(start, end - start) + "/" + argv[0];
      if (::access(candidate.c_str(), X_OK) == 0) {
        program = candidate;
        break;
      }
      start = end + 1;
    }
  }
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> env_storage;
  for (char** e = environ; *e; ++e) {
    std::string kv(*e);
    std::string key = kv.substr(0, kv.find('='));
    bool drop = options.env.count(key) > 0;
    for (const auto& u : options.unset_env) drop = drop || key == u;
    if (!drop) env_storage.push_back(kv);
  }
  for (const auto& [k, v] : options.env) env_storage.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& kv : env_storage) envp.push_back(kv.data());
  envp.push_back(nullptr);

  m_pid = ::fork();
  if (m_pid < 0) throw std::runtime_error("fork failed");
  if (m_pid == 0) {
    ::dup2(in_pipe[0], STDIN_FILENO);
    ::dup2(out_pipe[1], STDOUT_FILENO);
    ::dup2(err_pipe[1], STDERR_FILENO);
    ::setpgid(0, 0); // its own process group, so tests can kill what it spawns too
    ::execve(program.c_str(), args.data(), envp.data());
    ::_exit(127);
  }
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  ::close(in_pipe[0]);
  if (options.stdin_data) {
    const std::string& d = *options.stdin_data;
    std::size_t done = 0;
    ::signal(SIGPIPE, SIG_IGN);
    while (done < d.size()) {
      ssize_t n = ::write(in_pipe[1], d.data() + done, d.size() - done);
      if (n <= 0) break;
      done += static_cast<std::size_t>(n);
    }
  }
  ::close(in_pipe[1]);
  m_out_fd = out_pipe[0];
  m_err_fd = err_pipe[0];
  // Drain both pipes all the time: a chatty child (debug logs) must never block
  // on a full pipe while the test is busy elsewhere.
  m_reader = std::thread([this] {
    while (!m_stop_reader && pump(std::chrono::milliseconds(50))) {
    }
  });
}

Process::~Process() {
  if (m_pid > 0 && !m_exit) {
    ::kill(-m_pid, SIGKILL);
    ::kill(m_pid, SIGKILL);
    int status = 0;
    ::waitpid(m_pid, &status, 0);
  }
  m_stop_reader = true;
  if (m_reader.joinable()) m_reader.join();
  if (m_out_fd >= 0) ::close(m_out_fd);
  if (m_err_fd >= 0) ::close(m_err_fd);
}

// Reader thread only. False once both pipes are closed.
bool Process::pump(std::chrono::milliseconds timeout) {
  pollfd fds[2];
  int n = 0;
  if (m_out_fd >= 0) fds[n++] = {m_out_fd, POLLIN, 0};
  if (m_err_fd >= 0) fds[n++] = {m_err_fd, POLLIN, 0};
  if (n == 0) return false;
  int r = ::poll(fds, static_cast<nfds_t>(n), static_cast<int>(timeout.count()));
  if (r <= 0) return true;
  for (int i = 0; i < n; ++i) {
    if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
    char buf[8192];
    ssize_t got = ::read(fds[i].fd, buf, sizeof(buf));
    bool is_out = fds[i].fd == m_out_fd;
    std::lock_guard lock(m_mutex);
    if (got > 0) {
      (is_out ? m_out : m_err).append(buf, static_cast<std::size_t>(got));
    } else if (got == 0 || errno != EINTR) {
      ::close(fds[i].fd);
      (is_out ? m_out_fd : m_err_fd) = -1;
    }
    m_changed.notify_all();
  }
  return true;
}

std::string Process::out() const {
  std::lock_guard lock(m_mutex);
  return m_out;
}

std::string Process::err() const {
  std::lock_guard lock(m_mutex);
  return m_err;
}

std::optional<std::string> Process::wait_for_line(const std::string& needle, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  std::unique_lock lock(m_mutex);
  for (;;) {
    for (;;) {
      auto nl = m_out.find('\n', m_line_pos);
      if (nl == std::string::npos) break;
      std::string line = m_out.substr(m_line_pos, nl - m_line_pos);
      m_line_pos = nl + 1;
      if (line.find(needle) != std::string::npos) return line;
    }
    if (m_out_fd < 0) return std::nullopt; // no more output can come
    if (m_changed.wait_until(lock, deadline) == std::cv_status::timeout) return std::nullopt;
  }
}

void Process::signal(int sig) {
  if (m_pid > 0 && !m_exit) ::kill(m_pid, sig);
}

std::optional<int> Process::wait(std::chrono::milliseconds timeout) {
  if (m_exit) return m_exit;
  auto deadline = Clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(m_pid, &status, WNOHANG);
    if (r == m_pid) {
      m_exit = decode_status(status);
      // Let the reader collect the last output (bounded: a grandchild may hold the pipes).
      std::unique_lock lock(m_mutex);
      m_changed.wait_for(lock, std::chrono::seconds(2), [&] { return m_out_fd < 0 && m_err_fd < 0; });
      return m_exit;
    }
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

RunResult run(const std::vector<std::string>& argv, const SpawnOptions& options, std::chrono::milliseconds timeout) {
  Process p(argv, options);
  auto code = p.wait(timeout);
  RunResult r;
  r.exit_code = code.value_or(-SIGKILL);
  r.out = p.out();
  r.err = p.err();
  return r;
}

} // namespace openstreaming::test
