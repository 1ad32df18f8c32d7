// The core MI commands (OpenSIPS names and reply shapes; 4.0-style `module:cmd` aliases; and
// two of our own: shutdown and tcp_close): processes, uptime, log levels, statistics and TCP/TLS
// connections. TLS domain commands live in tls_mgm (tls_mgm/mi_commands.h). The handlers reach
// the server only through MiHost, so they can be tested without a supervisor.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/cfg/config.h"
#include "core/mi/command.h"
#include "core/shm/shm_region.h"
#include "core/shm/stats_view.h"

namespace sipsd {

class MiHost {
 public:
  virtual ~MiHost() = default;
  virtual const Config& config() const = 0;
  virtual ShmRegion& shm() = 0;
  virtual StatsView& stats() = 0;
  virtual int64_t started_ms() const = 0;
  virtual const std::vector<std::string>& argv() const = 0;
  // "tls:127.0.0.1:5061", … as bound.
  virtual std::vector<std::string> listener_names() const = 0;
  // Stop gracefully once the reply to this command has gone out.
  virtual void shutdown_soon(const char* why) = 0;
  // Ask the worker `owner` (process index) to close connection `id`.
  virtual bool close_connection(uint32_t id, int owner) = 0;
};

// Registers the core commands (and the built-in which/help) on `reg`; `host` must outlive it.
void add_core_mi_commands(MiRegistry* reg, MiHost* host);

}  // namespace sipsd
