// Child processes for integration tests: run a command to completion with a hard timeout, or
// start a background process (sipsd, stunnel, openssl s_server) and stop it.
//
// Guarantees, whatever the child does:
//   - argv is executed directly (no shell); a missing binary is an error, not exit code 127;
//   - every wait is bounded: run() kills at its timeout, stop() escalates SIGTERM → SIGKILL;
//   - every child is reaped (no zombies); each child leads its own process group, and whatever
//     is left in that group when the leader has exited or is killed gets SIGKILL too;
//   - the child gets SIGKILL if this process dies (PR_SET_PDEATHSIG; note: fires when the
//     forking *thread* exits, so start children from a thread that outlives them);
//   - the child inherits only stdin/stdout/stderr and the descriptors named in inherit_fds,
//     with default signal dispositions and an empty signal mask;
//   - captured output is capped (4 MiB per stream by default); the rest is read and dropped,
//     so a chatty child never blocks on a full pipe.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/base/result.h"

namespace sipsd::test {

inline constexpr size_t kDefaultOutputCap = size_t{4} << 20;

// How a child ended.
struct ExitStatus {
  bool exited = false;  // exited by itself: `code` is valid
  int code = -1;
  int signal = 0;  // killed by this signal (exited == false)

  static ExitStatus from_wait_status(int wstatus);
  static ExitStatus from_siginfo(const siginfo_t& info);
  bool success() const { return exited && code == 0; }
  std::string describe() const;  // "exit 0", "killed by SIGKILL"
};

struct SpawnOptions {
  std::vector<std::string> env;  // "NAME=value": added to this process's environment, overriding
  std::string cwd;               // working directory of the child; empty: ours
  // Descriptors the child inherits: {descriptor here, number in the child (>= 3)}.
  std::vector<std::pair<int, int>> inherit_fds;
  size_t output_cap = kDefaultOutputCap;  // bytes kept per stream (stdout, stderr)
};

struct RunOptions : SpawnOptions {
  std::string stdin_data;  // written to the child's stdin, which is then closed
  std::chrono::milliseconds timeout{10000};
};

struct RunResult {
  std::string command;   // argv joined by spaces, for messages
  bool started = false;  // false: could not start it, see `error`
  std::string error;
  bool timed_out = false;  // still running at the timeout: killed with SIGKILL
  ExitStatus status;
  std::string out;  // stdout, at most output_cap bytes
  std::string err;  // stderr, at most output_cap bytes
  bool out_truncated = false;
  bool err_truncated = false;
  std::chrono::milliseconds elapsed{0};

  // Started, did not time out, exited with code 0.
  bool ok() const { return started && !timed_out && status.success(); }
  // One paragraph for a test failure message: command, outcome, the tail of stderr.
  std::string describe() const;
};

// Runs argv to completion (or to the timeout) and returns its status and output.
RunResult run(const std::vector<std::string>& argv, const RunOptions& options = {});

struct ChildOptions : SpawnOptions {
  bool stdin_pipe = false;  // keep a pipe to the child's stdin (write_stdin); else /dev/null
  std::chrono::milliseconds stop_grace{2000};  // SIGTERM → SIGKILL grace used by ~Child
};

// A background child. Its stdout and stderr are drained by a thread into capped buffers.
// Movable; the destructor stops it (SIGTERM, stop_grace, SIGKILL) and reaps it.
class Child {
 public:
  static Result<Child> start(const std::vector<std::string>& argv,
                             const ChildOptions& options = {});

  Child(Child&& other) noexcept;
  Child& operator=(Child&& other) noexcept;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child();

  pid_t pid() const;
  // True until the child has exited (it is then reaped, and its group killed).
  bool running();
  // Waits up to `timeout` for the child to exit by itself; reaps it. nullopt: still running.
  std::optional<ExitStatus> wait(std::chrono::milliseconds timeout);
  // SIGTERM to the child, up to `grace` for it to exit, then SIGKILL to its whole group.
  // Always returns with the child reaped. Returns the exit status (repeatable).
  ExitStatus stop(std::chrono::milliseconds grace = std::chrono::milliseconds(2000));
  // SIGKILL to the whole group now; reaps.
  ExitStatus kill();
  // Sends `sig` to the child (not its group). False if it is no longer running.
  bool signal(int sig);

  // Writes to the child's stdin (ChildOptions::stdin_pipe), bounded by `timeout`.
  Status write_stdin(std::string_view data,
                     std::chrono::milliseconds timeout = std::chrono::milliseconds(2000));
  void close_stdin();

  std::string out() const;  // stdout captured so far
  std::string err() const;  // stderr captured so far
  // Waits until a complete line (ending in '\n') containing `needle` has appeared on stdout or
  // stderr; returns that line without its line end. nullopt on timeout or when both streams
  // ended without it.
  std::optional<std::string> wait_for_line(std::string_view needle,
                                           std::chrono::milliseconds timeout);
  // For failure messages: command, pid, state, the tails of stdout and stderr.
  std::string describe() const;

 private:
  struct State;
  explicit Child(std::unique_ptr<State> state);
  std::unique_ptr<State> s_;
};

// Blocks SIGPIPE in the calling thread for its lifetime, and discards a SIGPIPE raised in the
// meantime, so write()/SSL_write() to a closed pipe or socket fail with EPIPE instead of killing
// the test process, whatever its SIGPIPE disposition.
class SigpipeGuard {
 public:
  SigpipeGuard();
  ~SigpipeGuard();
  SigpipeGuard(const SigpipeGuard&) = delete;
  SigpipeGuard& operator=(const SigpipeGuard&) = delete;

 private:
  sigset_t old_mask_;
  bool was_pending_ = false;
};

}  // namespace sipsd::test
