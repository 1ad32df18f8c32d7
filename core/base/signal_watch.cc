#include "core/base/signal_watch.h"

#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sipsd {

Result<std::unique_ptr<SignalWatch>> SignalWatch::create(struct event_base* base,
                                                         std::initializer_list<int> signals,
                                                         Handler handler) {
  sigset_t set;
  sigemptyset(&set);
  for (int s : signals) sigaddset(&set, s);
  if (sigprocmask(SIG_BLOCK, &set, nullptr) != 0)
    return make_error(strprintf("sigprocmask: %s", strerror(errno)));
  std::unique_ptr<SignalWatch> w(new SignalWatch());
  w->fd_.reset(signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!w->fd_) return make_error(strprintf("signalfd: %s", strerror(errno)));
  w->handler_ = std::move(handler);
  w->ev_.reset(event_new(base, w->fd_.get(), EV_READ | EV_PERSIST, on_readable, w.get()));
  if (!w->ev_ || event_add(w->ev_.get(), nullptr) != 0)
    return make_error("cannot watch the signalfd");
  return w;
}

void SignalWatch::on_readable(evutil_socket_t fd, short, void* arg) {
  auto* w = static_cast<SignalWatch*>(arg);
  struct signalfd_siginfo info;
  for (int i = 0; i < 64; ++i) {
    ssize_t n = read(fd, &info, sizeof info);
    if (n != static_cast<ssize_t>(sizeof info)) return;
    w->handler_(static_cast<int>(info.ssi_signo));
  }
}

}  // namespace sipsd
