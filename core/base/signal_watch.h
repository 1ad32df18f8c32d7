// SignalWatch: signals delivered as events on a libevent loop through a signalfd. The signals
// are blocked in the process, so nothing runs in signal context and a signal arriving while
// the process is busy (or between fork and the worker's loop) waits its turn instead of
// killing the process. libevent's own signal handling, which keeps global state that a forked
// child would inherit, is not used.
#pragma once

#include <event2/event.h>
#include <signal.h>

#include <functional>
#include <initializer_list>
#include <memory>

#include "core/base/event_ptr.h"
#include "core/base/result.h"
#include "core/base/unique_fd.h"

namespace sipsd {

class SignalWatch {
 public:
  using Handler = std::function<void(int signo)>;

  // Blocks `signals` in this process and delivers each to `handler` on `base`'s loop.
  static Result<std::unique_ptr<SignalWatch>> create(struct event_base* base,
                                                     std::initializer_list<int> signals,
                                                     Handler handler);
  // The signals stay blocked: one that arrives later waits as pending, it never kills.
  ~SignalWatch() = default;

 private:
  SignalWatch() = default;
  static void on_readable(evutil_socket_t fd, short, void* arg);

  UniqueFd fd_;
  EventPtr ev_;
  Handler handler_;
};

}  // namespace sipsd
