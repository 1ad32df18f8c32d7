// The MI commands sipsd serves (OpenSIPS names and reply shapes, reference B7; 4.0-style
// `module:cmd` aliases; and a few of our own: shutdown, tcp_close, tls_cert_status). The
// handlers reach the server only through MiHost, so they can be tested without a supervisor.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/cfg/config.h"
#include "core/mi/command.h"
#include "core/base/result.h"
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
  // Re-read and publish the TLS files (what SIGHUP does).
  virtual Status reload_tls() = 0;
  // Stop gracefully once the reply to this command has gone out.
  virtual void shutdown_soon(const char* why) = 0;
  // Ask the worker `owner` (process index) to close connection `id`.
  virtual bool close_connection(uint32_t id, int owner) = 0;
};

// Registers every command (and the built-in which/help) on `reg`; `host` must outlive it.
void add_mi_commands(MiRegistry* reg, MiHost* host);

}  // namespace sipsd
