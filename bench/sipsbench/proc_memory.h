// Memory of the server's process tree, read from /proc: VmRSS (/proc/PID/status) and Pss
// (/proc/PID/smaps_rollup). Forked workers share pages with the supervisor, so the sum of RSS
// counts a shared page once per process that maps it; the sum of PSS counts it once in all.
#pragma once

#include <sys/types.h>

#include <cstdint>

#include "core/base/result.h"

namespace sipsd::bench {

struct TreeMemory {
  uint64_t rss_kb = 0;    // sum of VmRSS
  uint64_t pss_kb = 0;    // sum of Pss; 0 when have_pss is false
  bool have_pss = false;  // smaps_rollup was readable for every process
  int processes = 0;
};

// An error when `root` does not exist or its status cannot be read.
Result<TreeMemory> process_tree_memory(pid_t root);

}  // namespace sipsd::bench
