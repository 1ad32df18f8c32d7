// getpid() without a system call. OpenSSL 3.0's random generator asks getpid() on every
// RAND_bytes to notice a fork (server random, key share, signature nonce, session id, ticket
// nonces: about nine times per full TLS handshake), and glibc no longer caches it. This
// definition in the executable takes precedence over libc's for every caller, libcrypto
// included; the value is refreshed in the child of every fork() (pthread_atfork), so fork
// detection keeps working. sipsd creates processes with fork() only.
#include <pthread.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include <atomic>

namespace {

std::atomic<pid_t> g_pid{0};

void forget_pid() {
  g_pid.store(0, std::memory_order_relaxed);
}

pid_t load_pid() {
  static const bool registered = pthread_atfork(nullptr, nullptr, forget_pid) == 0;
  pid_t pid = static_cast<pid_t>(syscall(SYS_getpid));
  if (registered) g_pid.store(pid, std::memory_order_relaxed);
  return pid;
}

}  // namespace

extern "C" pid_t getpid() noexcept {
  pid_t pid = g_pid.load(std::memory_order_relaxed);
  return pid != 0 ? pid : load_pid();
}
