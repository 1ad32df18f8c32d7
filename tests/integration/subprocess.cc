#include "tests/integration/subprocess.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>
#include <tuple>

extern char** environ;

namespace sipsd::test {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kTick{10};                 // exit polling when pidfd_open is unavailable
constexpr milliseconds kDrainAfterExit{200};      // output still arriving after the leader exited
constexpr unsigned kCloseRangeCloexec = 1U << 2;  // CLOSE_RANGE_CLOEXEC (Linux 5.11)

// The single owner of a descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) reset(std::exchange(o.fd_, -1));
    return *this;
  }
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

std::string errno_text(int e) {
  return std::strerror(e);
}

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::ceil<milliseconds>(deadline - Clock::now()).count();
  return static_cast<int>(std::clamp<long long>(left, 0, 1 << 30));
}

bool set_nonblocking(int fd) {
  int flags = fcntl(fd, F_GETFL);
  return flags >= 0 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
}

Status make_pipe(Fd* r, Fd* w) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return make_error("pipe2: " + errno_text(errno));
  r->reset(p[0]);
  w->reset(p[1]);
  return Status::Ok();
}

std::string join(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) {
    if (!s.empty()) s += ' ';
    s += a;
  }
  return s;
}

std::string tail(const std::string& s, size_t n) {
  return s.size() <= n ? s : "…" + s.substr(s.size() - n);
}

std::string env_name(std::string_view entry) {
  return std::string(entry.substr(0, entry.find('=')));
}

// What the child reports through the exec-error pipe when it cannot exec.
struct ExecFailure {
  int stage;
  int error;
};
enum Stage : int { kStageFds = 1, kStageChdir = 2, kStageExec = 3 };

// Everything the child needs, prepared before fork: after fork() in a threaded process the child
// may only call async-signal-safe functions, so no allocation happens there.
struct Plan {
  std::string path;
  std::vector<std::string> argv_store, env_store;
  std::vector<char*> argv, envp;
  std::string cwd;
  std::vector<int> src, dst;  // dup src to dst in the child (stdin, stdout, stderr, inherited)
  int report_fd = -1;         // write end of the exec-error pipe
  int base = 3;               // above every descriptor in src, dst and report_fd
  int max_fd = 1024;          // fallback close-on-exec sweep bound
  pid_t parent = 0;
};

[[noreturn]] void report_and_exit(int fd, int stage, int error) {
  ExecFailure f{stage, error};
  ssize_t n;
  do n = ::write(fd, &f, sizeof f);
  while (n < 0 && errno == EINTR);
  _exit(127);
}

[[noreturn]] void child_exec(const Plan& p) {
  setpgid(0, 0);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != p.parent) _exit(127);  // the parent died before prctl

  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) sigaction(sig, &dfl, nullptr);  // ignored ones persist

  int report = fcntl(p.report_fd, F_DUPFD_CLOEXEC, p.base);
  if (report < 0) _exit(127);
  // Move every source above all targets first, so one dup2 cannot clobber another's source.
  int high[64];
  size_t n = p.src.size();
  for (size_t i = 0; i < n; ++i) {
    high[i] = fcntl(p.src[i], F_DUPFD_CLOEXEC, p.base);
    if (high[i] < 0) report_and_exit(report, kStageFds, errno);
  }
  // Everything we did not ask for is closed at exec.
  if (syscall(SYS_close_range, 3U, ~0U, kCloseRangeCloexec) != 0) {
    for (int fd = 3; fd < p.max_fd; ++fd) fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
  for (size_t i = 0; i < n; ++i) {
    if (dup2(high[i], p.dst[i]) < 0) report_and_exit(report, kStageFds, errno);
  }
  if (!p.cwd.empty() && chdir(p.cwd.c_str()) != 0) report_and_exit(report, kStageChdir, errno);
  execve(p.path.c_str(), p.argv.data(), p.envp.data());
  report_and_exit(report, kStageExec, errno);
}

Result<std::string> resolve_executable(const std::string& name, const std::string& path_env) {
  auto executable = [](const std::string& p) {
    struct stat st;
    return stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(p.c_str(), X_OK) == 0;
  };
  if (name.find('/') != std::string::npos) {
    if (executable(name)) return name;
    return make_error(name + ": not an executable file");
  }
  size_t pos = 0;
  while (pos <= path_env.size()) {
    size_t end = path_env.find(':', pos);
    if (end == std::string::npos) end = path_env.size();
    std::string dir = path_env.substr(pos, end - pos);
    std::string candidate = (dir.empty() ? std::string(".") : dir) + "/" + name;
    if (executable(candidate)) return candidate;
    pos = end + 1;
  }
  return make_error(name + ": not found in PATH");
}

struct Spawned {
  pid_t pid = -1;
  Fd stdin_w, out_r, err_r, pidfd;
};

Result<Spawned> spawn(const std::vector<std::string>& argv, const SpawnOptions& o,
                      bool stdin_pipe) {
  if (argv.empty()) return make_error("empty argv");
  if (o.inherit_fds.size() > 60) return make_error("too many inherited descriptors");
  Plan p;
  p.parent = getpid();

  // Environment: ours, with o.env overriding by name.
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string name = env_name(*e);
    bool overridden = std::any_of(o.env.begin(), o.env.end(),
                                  [&](const std::string& x) { return env_name(x) == name; });
    if (!overridden) p.env_store.emplace_back(*e);
  }
  for (const auto& x : o.env) p.env_store.push_back(x);
  std::string path_env = "/usr/local/bin:/usr/bin:/bin";
  for (const auto& e : p.env_store) {
    if (e.rfind("PATH=", 0) == 0) path_env = e.substr(5);
  }
  auto path = resolve_executable(argv[0], path_env);
  if (!path) return make_error(path.message());
  p.path = path.value();
  p.argv_store = argv;
  for (auto& a : p.argv_store) p.argv.push_back(a.data());
  p.argv.push_back(nullptr);
  for (auto& e : p.env_store) p.envp.push_back(e.data());
  p.envp.push_back(nullptr);
  p.cwd = o.cwd;

  Fd in_r, in_w, out_r, out_w, err_r, err_w, rep_r, rep_w;
  if (stdin_pipe) {
    if (Status s = make_pipe(&in_r, &in_w); !s) return make_error(s.message());
  } else {
    in_r.reset(open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (!in_r.valid()) return make_error("/dev/null: " + errno_text(errno));
  }
  for (auto [r, w] :
       {std::pair{&out_r, &out_w}, std::pair{&err_r, &err_w}, std::pair{&rep_r, &rep_w}}) {
    if (Status s = make_pipe(r, w); !s) return make_error(s.message());
  }
  p.src = {in_r.get(), out_w.get(), err_w.get()};
  p.dst = {0, 1, 2};
  for (auto [from, to] : o.inherit_fds) {
    if (to < 3) return make_error("inherit_fds: target descriptor must be >= 3");
    if (fcntl(from, F_GETFD) < 0) {
      return make_error("inherit_fds: descriptor " + std::to_string(from) + " is not open");
    }
    p.src.push_back(from);
    p.dst.push_back(to);
  }
  p.report_fd = rep_w.get();
  int top = p.report_fd;
  for (int fd : p.src) top = std::max(top, fd);
  for (int fd : p.dst) top = std::max(top, fd);
  p.base = top + 1;
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    p.max_fd = rl.rlim_cur == RLIM_INFINITY
                   ? 65536
                   : static_cast<int>(std::min<rlim_t>(rl.rlim_cur, 65536));
  }

  pid_t pid = fork();
  if (pid < 0) return make_error("fork: " + errno_text(errno));
  if (pid == 0) child_exec(p);

  setpgid(pid, pid);  // also here, so the group exists before we might signal it
  in_r.reset();
  out_w.reset();
  err_w.reset();
  rep_w.reset();

  ExecFailure failure{};
  ssize_t n;
  do n = ::read(rep_r.get(), &failure, sizeof failure);
  while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof failure)) {
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    const char* what = failure.stage == kStageExec    ? "exec"
                       : failure.stage == kStageChdir ? "chdir"
                                                      : "setting up descriptors";
    return make_error(p.path + ": " + what + ": " + errno_text(failure.error));
  }

  Spawned s;
  s.pid = pid;
  s.stdin_w = std::move(in_w);
  s.out_r = std::move(out_r);
  s.err_r = std::move(err_r);
  s.pidfd.reset(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));  // -1 when unsupported
  return s;
}

// True when `pid` has exited (it stays a zombie: the group id is not reused meanwhile).
bool has_exited(pid_t pid) {
  siginfo_t info;
  memset(&info, 0, sizeof info);
  if (waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0) {
    return errno == ECHILD;  // already reaped: treat as exited
  }
  return info.si_pid == pid;
}

// Waits (bounded) for `pid` to exit, without reaping it.
bool wait_exited(pid_t pid, int pidfd, Clock::time_point deadline) {
  for (;;) {
    if (has_exited(pid)) return true;
    int left = remaining_ms(deadline);
    if (left <= 0) return false;
    if (pidfd >= 0) {
      pollfd pfd{pidfd, POLLIN, 0};
      poll(&pfd, 1, left);
    } else {
      std::this_thread::sleep_for(std::min(milliseconds(left), kTick));
    }
  }
}

// SIGKILL to whatever remains of the child's group (and the child), then reap the child.
ExitStatus kill_group_and_reap(pid_t pid) {
  ::kill(-pid, SIGKILL);  // the group: the leader (if alive) and anything it left behind
  ::kill(pid, SIGKILL);   // in case it had not joined its group yet
  int st = 0;
  pid_t r;
  do r = waitpid(pid, &st, 0);
  while (r < 0 && errno == EINTR);
  if (r != pid) return ExitStatus{};
  return ExitStatus::from_wait_status(st);
}

// Appends to a capped buffer; returns false when something was dropped.
bool append_capped(std::string* buf, const char* data, size_t n, size_t cap) {
  size_t room = cap > buf->size() ? cap - buf->size() : 0;
  buf->append(data, std::min(room, n));
  return n <= room;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

ExitStatus ExitStatus::from_wait_status(int wstatus) {
  ExitStatus s;
  if (WIFEXITED(wstatus)) {
    s.exited = true;
    s.code = WEXITSTATUS(wstatus);
  } else if (WIFSIGNALED(wstatus)) {
    s.signal = WTERMSIG(wstatus);
  }
  return s;
}

ExitStatus ExitStatus::from_siginfo(const siginfo_t& info) {
  ExitStatus s;
  if (info.si_code == CLD_EXITED) {
    s.exited = true;
    s.code = info.si_status;
  } else {
    s.signal = info.si_status;
  }
  return s;
}

std::string ExitStatus::describe() const {
  if (exited) return "exit " + std::to_string(code);
  if (signal != 0) {
    const char* name = sigabbrev_np(signal);
    return std::string("killed by ") + (name ? std::string("SIG") + name : std::to_string(signal));
  }
  return "unknown status";
}

std::string RunResult::describe() const {
  std::string s = "`" + command + "`: ";
  if (!started) return s + "not started: " + error;
  s += timed_out ? "timed out after " + std::to_string(elapsed.count()) + " ms"
                 : status.describe() + " after " + std::to_string(elapsed.count()) + " ms";
  if (!err.empty()) s += "\nstderr: " + tail(err, 2000);
  if (!out.empty()) s += "\nstdout: " + tail(out, 1000);
  return s;
}

RunResult run(const std::vector<std::string>& argv, const RunOptions& o) {
  RunResult r;
  r.command = join(argv);
  const auto start = Clock::now();
  const auto deadline = start + o.timeout;
  auto spawned = spawn(argv, o, !o.stdin_data.empty());
  if (!spawned) {
    r.error = spawned.message();
    return r;
  }
  r.started = true;
  Spawned& c = spawned.value();
  for (Fd* fd : {&c.stdin_w, &c.out_r, &c.err_r}) {
    if (fd->valid()) set_nonblocking(fd->get());
  }

  SigpipeGuard no_sigpipe;
  size_t written = 0;
  bool exited = false;
  Clock::time_point drain_until{};
  char buf[65536];
  auto read_into = [&](Fd* fd, std::string* out, bool* truncated) {
    ssize_t n = ::read(fd->get(), buf, sizeof buf);
    if (n > 0) {
      if (!append_capped(out, buf, static_cast<size_t>(n), o.output_cap)) *truncated = true;
    } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
      fd->reset();  // EOF or error
    }
  };

  for (;;) {
    if (!exited && has_exited(c.pid)) {
      exited = true;
      drain_until = Clock::now() + kDrainAfterExit;  // output may still be in the pipes
    }
    if (exited && !c.out_r.valid() && !c.err_r.valid()) break;
    auto now = Clock::now();
    if (now >= deadline) {
      r.timed_out = !exited;
      break;
    }
    if (exited && now >= drain_until) break;  // something it left behind holds the pipes

    pollfd fds[4];
    int nfds = 0;
    int i_out = -1, i_err = -1, i_in = -1;
    if (c.out_r.valid()) i_out = nfds, fds[nfds++] = {c.out_r.get(), POLLIN, 0};
    if (c.err_r.valid()) i_err = nfds, fds[nfds++] = {c.err_r.get(), POLLIN, 0};
    if (c.stdin_w.valid()) i_in = nfds, fds[nfds++] = {c.stdin_w.get(), POLLOUT, 0};
    bool use_pidfd = !exited && c.pidfd.valid();
    if (use_pidfd) fds[nfds++] = {c.pidfd.get(), POLLIN, 0};
    int wait = remaining_ms(exited ? std::min(deadline, drain_until) : deadline);
    if (!exited && !use_pidfd) wait = std::min<int>(wait, kTick.count());
    int ready = poll(fds, static_cast<nfds_t>(nfds), wait);
    if (ready < 0 && errno != EINTR) {
      r.error = "poll: " + errno_text(errno);
      break;
    }
    if (ready <= 0) continue;
    if (i_out >= 0 && fds[i_out].revents != 0) read_into(&c.out_r, &r.out, &r.out_truncated);
    if (i_err >= 0 && fds[i_err].revents != 0) read_into(&c.err_r, &r.err, &r.err_truncated);
    if (i_in >= 0 && fds[i_in].revents != 0) {
      if (fds[i_in].revents & (POLLERR | POLLHUP)) {
        c.stdin_w.reset();  // the child closed its stdin
      } else {
        size_t chunk = std::min<size_t>(o.stdin_data.size() - written, 65536);
        ssize_t n = ::write(c.stdin_w.get(), o.stdin_data.data() + written, chunk);
        if (n > 0) written += static_cast<size_t>(n);
        if ((n < 0 && errno != EAGAIN && errno != EINTR) || written == o.stdin_data.size()) {
          c.stdin_w.reset();  // done, or EPIPE: it stopped reading
        }
      }
    }
  }
  c.stdin_w.reset();
  r.status = kill_group_and_reap(c.pid);
  r.elapsed = std::chrono::duration_cast<milliseconds>(Clock::now() - start);
  return r;
}

// ---------------------------------------------------------------------------------------------

struct Child::State {
  std::string command;
  pid_t pid = -1;
  Fd pidfd;
  Fd stdin_w;
  milliseconds stop_grace{2000};
  size_t cap = kDefaultOutputCap;
  bool reaped = false;
  ExitStatus status;

  mutable std::mutex mu;
  std::condition_variable cv;
  std::string out, err;  // guarded by mu
  bool out_truncated = false, err_truncated = false;
  bool out_eof = false, err_eof = false;
  Fd wake_r, wake_w;  // tells the drain thread to stop
  std::thread drainer;

  void drain(Fd out_r, Fd err_r);
  // The child has exited or must die: kill the group, reap, stop the drain thread.
  void finish();
  std::optional<ExitStatus> wait(milliseconds timeout);
};

void Child::State::drain(Fd out_r, Fd err_r) {
  char buf[65536];
  for (;;) {
    pollfd fds[3];
    int nfds = 0;
    int i_out = -1, i_err = -1;
    if (out_r.valid()) i_out = nfds, fds[nfds++] = {out_r.get(), POLLIN, 0};
    if (err_r.valid()) i_err = nfds, fds[nfds++] = {err_r.get(), POLLIN, 0};
    if (nfds == 0) return;
    int i_wake = nfds;
    fds[nfds++] = {wake_r.get(), POLLIN, 0};
    if (poll(fds, static_cast<nfds_t>(nfds), -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[i_wake].revents != 0) break;
    for (auto [idx, fd, text, truncated, eof] :
         {std::tuple{i_out, &out_r, &out, &out_truncated, &out_eof},
          std::tuple{i_err, &err_r, &err, &err_truncated, &err_eof}}) {
      if (idx < 0 || fds[idx].revents == 0) continue;
      ssize_t n = ::read(fd->get(), buf, sizeof buf);
      std::lock_guard<std::mutex> lock(mu);
      if (n > 0) {
        if (!append_capped(text, buf, static_cast<size_t>(n), cap)) *truncated = true;
      } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        fd->reset();
        *eof = true;
      }
      cv.notify_all();
    }
  }
  std::lock_guard<std::mutex> lock(mu);
  out_eof = err_eof = true;
  cv.notify_all();
}

void Child::State::finish() {
  if (reaped) return;
  status = kill_group_and_reap(pid);
  reaped = true;
  stdin_w.reset();
  if (drainer.joinable()) {
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait_for(lock, kDrainAfterExit, [&] { return out_eof && err_eof; });
    }
    char c = 1;
    ssize_t n = ::write(wake_w.get(), &c, 1);
    (void)n;
    drainer.join();
  }
}

std::optional<ExitStatus> Child::State::wait(milliseconds timeout) {
  if (reaped) return status;
  if (!wait_exited(pid, pidfd.get(), Clock::now() + timeout)) return std::nullopt;
  finish();
  return status;
}

Child::Child(std::unique_ptr<State> state) : s_(std::move(state)) {}
Child::Child(Child&& other) noexcept = default;
Child& Child::operator=(Child&& other) noexcept {
  if (this != &other) {
    if (s_) stop(s_->stop_grace);
    s_ = std::move(other.s_);
  }
  return *this;
}
Child::~Child() {
  if (s_) stop(s_->stop_grace);
}

Result<Child> Child::start(const std::vector<std::string>& argv, const ChildOptions& options) {
  auto state = std::make_unique<State>();
  state->command = join(argv);
  state->stop_grace = options.stop_grace;
  state->cap = options.output_cap;
  if (Status s = make_pipe(&state->wake_r, &state->wake_w); !s) return make_error(s.message());
  auto spawned = spawn(argv, options, options.stdin_pipe);
  if (!spawned) return make_error(spawned.message());
  Spawned& c = spawned.value();
  state->pid = c.pid;
  state->pidfd = std::move(c.pidfd);
  state->stdin_w = std::move(c.stdin_w);
  if (state->stdin_w.valid()) set_nonblocking(state->stdin_w.get());
  State* raw = state.get();
  state->drainer = std::thread([raw, out = std::move(c.out_r), err = std::move(c.err_r)]() mutable {
    raw->drain(std::move(out), std::move(err));
  });
  return Child(std::move(state));
}

pid_t Child::pid() const {
  return s_ ? s_->pid : -1;
}

bool Child::running() {
  if (!s_ || s_->reaped) return false;
  if (!has_exited(s_->pid)) return true;
  s_->finish();
  return false;
}

std::optional<ExitStatus> Child::wait(milliseconds timeout) {
  if (!s_) return std::nullopt;
  return s_->wait(timeout);
}

ExitStatus Child::stop(milliseconds grace) {
  if (!s_) return ExitStatus{};
  if (!s_->reaped) {
    if (!has_exited(s_->pid)) {
      ::kill(s_->pid, SIGTERM);
      wait_exited(s_->pid, s_->pidfd.get(), Clock::now() + grace);
    }
    s_->finish();  // SIGKILL to the group if anything is still there, reap
  }
  return s_->status;
}

ExitStatus Child::kill() {
  if (!s_) return ExitStatus{};
  s_->finish();
  return s_->status;
}

bool Child::signal(int sig) {
  if (!s_ || s_->reaped || has_exited(s_->pid)) return false;
  return ::kill(s_->pid, sig) == 0;
}

Status Child::write_stdin(std::string_view data, milliseconds timeout) {
  if (!s_ || !s_->stdin_w.valid()) return make_error("no stdin pipe to the child");
  SigpipeGuard no_sigpipe;
  auto deadline = Clock::now() + timeout;
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(s_->stdin_w.get(), data.data() + done, data.size() - done);
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EINTR) {
      return make_error("write to child's stdin: " + errno_text(errno));
    }
    int left = remaining_ms(deadline);
    if (left <= 0) return make_error("write to child's stdin: timed out");
    pollfd pfd{s_->stdin_w.get(), POLLOUT, 0};
    poll(&pfd, 1, left);
  }
  return Status::Ok();
}

void Child::close_stdin() {
  if (s_) s_->stdin_w.reset();
}

std::string Child::out() const {
  if (!s_) return {};
  std::lock_guard<std::mutex> lock(s_->mu);
  return s_->out;
}

std::string Child::err() const {
  if (!s_) return {};
  std::lock_guard<std::mutex> lock(s_->mu);
  return s_->err;
}

namespace {

// The first complete line of `text` containing `needle`, without its line end.
std::optional<std::string> find_line(const std::string& text, std::string_view needle) {
  size_t pos = text.find(needle);
  if (pos == std::string::npos) return std::nullopt;
  size_t end = text.find('\n', pos + needle.size());
  if (end == std::string::npos) return std::nullopt;  // the line is not complete yet
  size_t begin = text.rfind('\n', pos);
  begin = begin == std::string::npos ? 0 : begin + 1;
  if (end > begin && text[end - 1] == '\r') --end;
  return text.substr(begin, end - begin);
}

}  // namespace

std::optional<std::string> Child::wait_for_line(std::string_view needle, milliseconds timeout) {
  if (!s_) return std::nullopt;
  std::optional<std::string> line;
  std::unique_lock<std::mutex> lock(s_->mu);
  s_->cv.wait_for(lock, timeout, [&] {
    line = find_line(s_->out, needle);
    if (!line) line = find_line(s_->err, needle);
    return line.has_value() || (s_->out_eof && s_->err_eof);
  });
  return line;
}

std::string Child::describe() const {
  if (!s_) return "(no child)";
  std::string s = "`" + s_->command + "` pid " + std::to_string(s_->pid) + ": ";
  s += s_->reaped ? s_->status.describe() : "running";
  std::lock_guard<std::mutex> lock(s_->mu);
  if (!s_->err.empty()) s += "\nstderr: " + tail(s_->err, 2000);
  if (!s_->out.empty()) s += "\nstdout: " + tail(s_->out, 2000);
  return s;
}

// ---------------------------------------------------------------------------------------------

SigpipeGuard::SigpipeGuard() {
  sigset_t pipe_only, pending;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  sigemptyset(&pending);
  sigpending(&pending);
  was_pending_ = sigismember(&pending, SIGPIPE) == 1;
  pthread_sigmask(SIG_BLOCK, &pipe_only, &old_mask_);
}

SigpipeGuard::~SigpipeGuard() {
  if (!was_pending_) {
    sigset_t pipe_only;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    struct timespec zero = {0, 0};
    sigtimedwait(&pipe_only, nullptr, &zero);  // discard the SIGPIPE we caused, if any
  }
  pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
}

}  // namespace sipsd::test
