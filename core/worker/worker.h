// A TCP/TLS worker process: receives accepted connections from the supervisor over its channel
// and owns them until they close (handshake, framing, script, replies), on its own libevent
// loop. It builds its own SSL_CTXs from the TLS snapshot in shared memory.
#pragma once

#include <sys/types.h>

#include "core/cfg/config.h"
#include "core/shm/shm_region.h"
#include "ipc/channel.h"

namespace sipsd {

struct WorkerSetup {
  const Config* config = nullptr;
  ShmRegion* shm = nullptr;
  int proc_index = 0;  // 1..tcp_workers
  pid_t supervisor_pid = 0;
  ipc::Channel channel;  // this worker's end
};

// Runs in a freshly forked child; returns the process exit status.
int run_worker(WorkerSetup setup);

}  // namespace sipsd
