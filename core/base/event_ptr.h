// RAII owners for libevent objects.
#pragma once

#include <event2/event.h>

#include <memory>

namespace sipsd {

struct EventFree {
  void operator()(struct event* ev) const { event_free(ev); }
};
struct EventBaseFree {
  void operator()(struct event_base* b) const { event_base_free(b); }
};

using EventPtr = std::unique_ptr<struct event, EventFree>;
using EventBasePtr = std::unique_ptr<struct event_base, EventBaseFree>;

}  // namespace sipsd
