// The one piece of mutable per-process state: who this process is and what it owns.
// Everything else is passed explicitly.
#pragma once

#include <sys/types.h>

#include "core/base/log.h"

namespace sipsd {

class ShmRegion;
struct ProcStats;

enum class ProcessRole { kTool, kSupervisor, kWorker };

struct ProcessContext {
  Logger log;
  ProcessRole role = ProcessRole::kTool;
  // 0 = supervisor, 1..N = TCP/TLS workers (index into the shm process table).
  int proc_index = 0;
  ShmRegion* shm = nullptr;
  // This process's own statistics counters (in shm); null in tools and unit tests.
  ProcStats* stats = nullptr;
};

ProcessContext& process_context();

}  // namespace sipsd
