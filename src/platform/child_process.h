// ChildProcess: a supervised child (for `openstreaming demo`). stdout and
// stderr go to files; the child gets SIGKILL if this process dies for any
// reason (PR_SET_PDEATHSIG), so no orphan outlives its supervisor, even a
// supervisor killed with SIGKILL. Linux only, like the rest of the daemon.
#pragma once

#include "core/result.h"

#include <chrono>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace openstreaming::platform {

class ChildProcess {
public:
  // Starts argv[0] (a path) with `env` added to this process's environment.
  // Must be called from a thread that lives as long as the child should
  // (PR_SET_PDEATHSIG fires when the forking thread ends): the main thread.
  static Result<ChildProcess> spawn(const std::vector<std::string>& argv,
                                    const std::vector<std::pair<std::string, std::string>>& env,
                                    const std::string& stdout_path, const std::string& stderr_path);
  ChildProcess(ChildProcess&& o) noexcept;
  ChildProcess& operator=(ChildProcess&& o) noexcept;
  ~ChildProcess(); // kills (SIGKILL) and reaps a child still running
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return m_pid; }
  // The first line of its stdout that starts with `prefix`, waiting up to `timeout`
  // (nullopt if it did not appear or the child exited).
  std::optional<std::string> wait_for_line(const std::string& prefix, std::chrono::milliseconds timeout);
  bool running();
  void signal(int sig);
  // Waits for the exit; nullopt on timeout. -N: killed by signal N.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  // SIGTERM, wait up to `grace`, then SIGKILL. Returns the exit code.
  int stop(std::chrono::milliseconds grace);
  const std::string& stdout_path() const { return m_out; }
  const std::string& stderr_path() const { return m_err; }

private:
  ChildProcess() = default;
  pid_t m_pid = -1;
  std::optional<int> m_status;
  std::string m_out, m_err;
};

} // namespace openstreaming::platform
