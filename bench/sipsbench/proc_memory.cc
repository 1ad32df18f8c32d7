#include "bench/sipsbench/proc_memory.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "bench/sipsbench/cpu_usage.h"
#include "core/base/unique_fd.h"

namespace sipsd::bench {

namespace {

// The whole of a small /proc file (status, smaps_rollup: a few KiB), at most 64 KiB.
bool read_small_file(const char* path, std::string* out) {
  UniqueFd fd(::open(path, O_RDONLY | O_CLOEXEC));
  if (!fd) return false;
  out->clear();
  char buf[4096];
  for (int i = 0; i < 16; ++i) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) return false;
    if (n == 0) return true;
    out->append(buf, static_cast<size_t>(n));
  }
  return true;
}

// The value of "Name:   1234 kB" in a /proc key-value file.
bool find_kb(std::string_view text, std::string_view name, uint64_t* kb) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(pos, eol - pos);
    if (line.size() > name.size() && line.substr(0, name.size()) == name &&
        line[name.size()] == ':') {
      std::string value(line.substr(name.size() + 1));
      char* end = nullptr;
      unsigned long long v = strtoull(value.c_str(), &end, 10);
      if (end == value.c_str()) return false;
      *kb = v;
      return true;
    }
    pos = eol + 1;
  }
  return false;
}

}  // namespace

Result<TreeMemory> process_tree_memory(pid_t root) {
  Result<std::vector<pid_t>> pids = process_tree(root);
  if (!pids.ok()) return make_error(pids.message());
  TreeMemory out;
  out.have_pss = true;
  std::string text;
  for (pid_t pid : *pids) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/status", static_cast<int>(pid));
    uint64_t rss = 0;
    if (!read_small_file(path, &text) || !find_kb(text, "VmRSS", &rss)) {
      if (pid == root)
        return make_error(
            strprintf("server pid %d: cannot read VmRSS from %s", static_cast<int>(pid), path));
      continue;  // a child that exited meanwhile
    }
    out.rss_kb += rss;
    ++out.processes;
    snprintf(path, sizeof path, "/proc/%d/smaps_rollup", static_cast<int>(pid));
    uint64_t pss = 0;
    if (read_small_file(path, &text) && find_kb(text, "Pss", &pss)) {
      out.pss_kb += pss;
    } else {
      out.have_pss = false;
    }
  }
  if (!out.have_pss) out.pss_kb = 0;
  return out;
}

}  // namespace sipsd::bench
