// The supervisor process: owns the listening sockets, the shared-memory region and the worker
// table. It accepts connections and hands each to the least-loaded worker (fd over the worker's
// channel), reaps and respawns workers that die, and stops everything on SIGTERM/SIGINT.
// SIGUSR1 writes one statistics line per process to the log (a debugging and test hook).
#pragma once

#include <string>
#include <vector>

#include "core/cfg/config.h"

namespace sipsd {

struct SupervisorOptions {
  std::string user;               // -u: drop to this user after binding (overrides the cfg)
  std::string group;              // -g
  std::vector<std::string> argv;  // the command line (MI `arg`)
};

// Runs the server in the foreground; returns the process exit status.
int run_supervisor(const Config& cfg, const SupervisorOptions& opts);

}  // namespace sipsd
