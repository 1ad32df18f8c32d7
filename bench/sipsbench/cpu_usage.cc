#include "bench/sipsbench/cpu_usage.h"

#include <dirent.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/base/unique_fd.h"

namespace sipsd::bench {

namespace {

struct ProcInfo {
  pid_t ppid = 0;
  unsigned long long ticks = 0;  // utime + stime
};

// Parses /proc/PID/stat. The command name may hold spaces and parentheses: fields are counted
// from the last ')'.
bool read_stat(pid_t pid, ProcInfo* out) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
  UniqueFd fd(::open(path, O_RDONLY | O_CLOEXEC));
  if (!fd) return false;
  char buf[1024];
  ssize_t n = ::read(fd.get(), buf, sizeof buf - 1);
  if (n <= 0) return false;
  buf[n] = '\0';
  const char* p = strrchr(buf, ')');
  if (p == nullptr) return false;
  // After ") ": field 3 (state), 4 (ppid), ... 14 (utime), 15 (stime).
  std::vector<const char*> fields;
  for (const char* s = p + 1; *s != '\0' && fields.size() < 13;) {
    while (*s == ' ') ++s;
    if (*s == '\0') break;
    fields.push_back(s);
    while (*s != ' ' && *s != '\0') ++s;
  }
  if (fields.size() < 13) return false;
  out->ppid = static_cast<pid_t>(strtol(fields[1], nullptr, 10));
  out->ticks = strtoull(fields[11], nullptr, 10) + strtoull(fields[12], nullptr, 10);
  return true;
}

// The root and every live descendant with its /proc/PID/stat figures (root first).
Result<std::vector<std::pair<pid_t, ProcInfo>>> scan_tree(pid_t root) {
  ProcInfo root_info;
  if (!read_stat(root, &root_info))
    return make_error(strprintf("server pid %d: no such process", static_cast<int>(root)));
  std::unordered_map<pid_t, ProcInfo> procs;
  std::unordered_map<pid_t, std::vector<pid_t>> children;
  DIR* dir = opendir("/proc");
  if (dir == nullptr) return make_error("cannot read /proc");
  while (dirent* e = readdir(dir)) {
    char* end = nullptr;
    long pid = strtol(e->d_name, &end, 10);
    if (end == e->d_name || *end != '\0' || pid <= 0) continue;
    ProcInfo info;
    if (!read_stat(static_cast<pid_t>(pid), &info)) continue;  // exited meanwhile
    procs[static_cast<pid_t>(pid)] = info;
    children[info.ppid].push_back(static_cast<pid_t>(pid));
  }
  closedir(dir);
  procs[root] = root_info;

  std::vector<std::pair<pid_t, ProcInfo>> out;
  std::vector<pid_t> todo = {root};
  // A pid reused while scanning could make a cycle: never visit more processes than exist.
  while (!todo.empty() && out.size() <= procs.size()) {
    pid_t pid = todo.back();
    todo.pop_back();
    out.emplace_back(pid, procs[pid]);
    auto it = children.find(pid);
    if (it != children.end()) todo.insert(todo.end(), it->second.begin(), it->second.end());
  }
  return out;
}

}  // namespace

Result<TreeCpu> process_tree_cpu(pid_t root) {
  auto tree = scan_tree(root);
  if (!tree.ok()) return make_error(tree.message());
  static const double kTicksPerSecond = static_cast<double>(sysconf(_SC_CLK_TCK));
  TreeCpu out;
  unsigned long long ticks = 0;
  for (const auto& [pid, info] : *tree) {
    ticks += info.ticks;
    ++out.processes;
  }
  out.seconds = static_cast<double>(ticks) / kTicksPerSecond;
  return out;
}

Result<std::vector<pid_t>> process_tree(pid_t root) {
  auto tree = scan_tree(root);
  if (!tree.ok()) return make_error(tree.message());
  std::vector<pid_t> out;
  for (const auto& entry : *tree) out.push_back(entry.first);
  return out;
}

double self_cpu_seconds() {
  // The scheduler's exact runtime of every thread (getrusage's split into user and system time
  // is an estimate that may lag by a few percent).
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

bool sample_tree_cpu(pid_t root, double* seconds, int* processes, std::string* error) {
  Result<TreeCpu> c = process_tree_cpu(root);
  if (!c.ok()) {
    *error = c.message();
    return false;
  }
  *seconds = c->seconds;
  if (processes != nullptr) *processes = c->processes;
  return true;
}

}  // namespace sipsd::bench
