// Child processes for functional tests: the real binary, real pipes.
//
// Every Process is killed (SIGKILL) and reaped by its PID when the object
// dies, so a failing assertion never leaves an orphan behind. Output is read
// through pipes by a reader thread; wait_for_line() lets tests wait for
// "listening ..." lines.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <sys/types.h>
#include <thread>
#include <vector>

namespace openstreaming::test {

// The `openstreaming` binary under test. Its path is compiled into one
// generated file only, so no other object depends on where the tree is checked
// out (a fresh clone elsewhere reuses ccache's objects).
const char* openstreaming_bin();
#define OPENSTREAMING_BIN (::openstreaming::test::openstreaming_bin())

struct RunResult {
  int exit_code = -1; // -signal if killed by a signal
  std::string out;
  std::string err;
};

struct SpawnOptions {
  std::map<std::string, std::string> env; // added to (or replacing in) the parent's environment
  std::vector<std::string> unset_env;     // removed from the environment
  std::optional<std::string> stdin_data;  // written then closed; otherwise stdin is /dev/null
};

class Process {
public:
  Process(const std::vector<std::string>& argv, const SpawnOptions& options = {});
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return m_pid; }
  // Waits until a stdout line containing `needle` appears; returns that line.
  std::optional<std::string> wait_for_line(const std::string& needle, std::chrono::milliseconds timeout);
  // Sends `sig`; does not wait.
  void signal(int sig);
  // Waits for exit, draining output; returns nullopt on timeout (process left running).
  std::optional<int> wait(std::chrono::milliseconds timeout);
  // Everything the child wrote so far (a reader thread drains the pipes continuously).
  std::string out() const;
  std::string err() const;

private:
  bool
  pump(std::chrono::milliseconds timeout); // reader thread: reads what is available; false if nothing more can come
  pid_t m_pid = -1;
  int m_out_fd = -1;
  int m_err_fd = -1;
  std::string m_out, m_err;
  std::size_t m_line_pos = 0;
  std::optional<int> m_exit;
  mutable std::mutex m_mutex; // guards m_out, m_err and the fds against the reader thread
  std::condition_variable m_changed;
  std::atomic<bool> m_stop_reader{false};
  std::thread m_reader;
};

// Runs to completion (killed after `timeout`) and returns exit code and output.
RunResult run(const std::vector<std::string>& argv, const SpawnOptions& options = {},
              std::chrono::milliseconds timeout = std::chrono::seconds(60));

} // namespace openstreaming::test
