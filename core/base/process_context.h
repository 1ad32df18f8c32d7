// The one piece of mutable per-process state: who this process is and what it owns.
// Everything else is passed explicitly.
#pragma once

#include <sys/types.h>

#include <cstdint>

#include "core/base/log.h"

namespace sipsd {

class ShmRegion;
struct ProcStats;

// What a process is. Stored in the shm process table as an int32 (keep the values stable: they
// are part of the shared-memory layout). kNone: a free process slot, or a tool / unit test.
enum class ProcessRole : int32_t { kNone = 0, kSupervisor = 1, kTcpWorker = 2, kUdpWorker = 3 };

// "supervisor", "TCP worker", "UDP worker", "" for kNone: what `ps` and the logs call the role.
const char* process_role_name(ProcessRole role);

struct ProcessContext {
  Logger log;
  ProcessRole role = ProcessRole::kNone;
  // 0 = supervisor, 1..N = TCP/TLS workers (index into the shm process table).
  int proc_index = 0;
  ShmRegion* shm = nullptr;
  // This process's own statistics counters (in shm); null in tools and unit tests.
  ProcStats* stats = nullptr;
};

ProcessContext& process_context();

}  // namespace sipsd
