// Listening sockets: resolved and bound by the supervisor at start (DNS happens here, never in a
// worker), non-blocking, close-on-exec.
#pragma once

#include <cstdint>
#include <string>

#include "core/base/result.h"
#include "core/base/unique_fd.h"
#include "core/cfg/config.h"

namespace sipsd {

struct BoundListener {
  ListenSpec spec;
  UniqueFd fd;
  std::string ip;     // the bound address, numeric
  uint16_t port = 0;  // the bound port (the real one when the cfg asked for port 0)
  bool wildcard = false;
  std::string name() const;  // "tls:127.0.0.1:5061"
};

Result<BoundListener> bind_listener(const ListenSpec& spec, int backlog);

}  // namespace sipsd
