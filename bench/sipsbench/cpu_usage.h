// CPU time accounting: the server's whole process tree (read from /proc) and sipsbench's own
// (getrusage), sampled at both ends of the measured period. process_tree() also serves the
// memory accounting (proc_memory.h).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "core/base/result.h"

namespace sipsd::bench {

// The CPU figures of a run's report: the server's over its measured span (with --server-pid)
// and sipsbench's own over the same span.
struct CpuFigures {
  bool have_server_cpu = false;
  double server_cpu_s = 0;
  int server_procs = 0;
  std::string server_cpu_error;  // why server CPU is missing (e.g. the server exited)
  double bench_cpu_s = 0;
};

struct TreeCpu {
  double seconds = 0;  // utime + stime of the root and every live descendant
  int processes = 0;
};

// Sums /proc/PID/stat utime+stime over `root` and all its descendants (found by scanning /proc
// for parent links). An error when `root` does not exist.
Result<TreeCpu> process_tree_cpu(pid_t root);

// process_tree_cpu() for one end of a measured span: false, with *error saying why, when it
// failed. `processes` may be null.
bool sample_tree_cpu(pid_t root, double* seconds, int* processes, std::string* error);

// `root` and the pids of all its live descendants, root first. An error when `root` does not
// exist.
Result<std::vector<pid_t>> process_tree(pid_t root);

// CPU seconds used by this process, all threads (CLOCK_PROCESS_CPUTIME_ID).
double self_cpu_seconds();

}  // namespace sipsd::bench
