// The fuzz targets of tests/fuzz without libFuzzer: this main() runs a target's
// LLVMFuzzerTestOneInput over its seed corpus and then over a bounded number of inputs mutated
// from it (byte flips, insertions, deletions, duplications, CR/LF and digit runs, splices of
// two seeds), with a fixed seed so that a failure repeats. `make test` builds one
// <target>_replay per target with the ordinary compiler and runs it through ctest, so every
// build exercises the properties the targets check; `make check` runs the real coverage-guided
// fuzzing (clang, libFuzzer, ASan, UBSan).
//
// A failed check aborts; the input that did it is written to <target>-replay-crash.bin in the
// working directory first (from the signal handler), so `<target> that-file` under libFuzzer
// or gdb shows it.
//
// Usage: <target>_replay [--runs N] [--seed S] [--name NAME] FILE_OR_DIR...
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/base/file_read.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

// What the signal handler writes out: the input being run. Set before each run; only this
// process's own single thread touches it.
struct CrashDump {
  char path[256] = "replay-crash.bin";
  const uint8_t* data = nullptr;
  size_t size = 0;
};
CrashDump g_dump;  // the one process-wide object a signal handler can reach

void on_fatal_signal(int sig) {
  int fd = open(g_dump.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd >= 0) {
    size_t off = 0;
    while (off < g_dump.size) {
      ssize_t n = write(fd, g_dump.data + off, g_dump.size - off);
      if (n <= 0) break;
      off += static_cast<size_t>(n);
    }
    close(fd);
  }
  static const char msg[] = "replay: the input that failed was written to the crash file\n";
  ssize_t ignored = write(STDERR_FILENO, msg, sizeof msg - 1);
  (void)ignored;
  signal(sig, SIG_DFL);
  raise(sig);
}

void run_one(const std::string& input) {
  g_dump.data = reinterpret_cast<const uint8_t*>(input.data());
  g_dump.size = input.size();
  LLVMFuzzerTestOneInput(g_dump.data, g_dump.size);
}

void add_path(const std::string& path, std::vector<std::string>* seeds) {
  if (DIR* d = opendir(path.c_str())) {
    std::vector<std::string> names;
    while (dirent* e = readdir(d))
      if (e->d_name[0] != '.') names.emplace_back(e->d_name);
    closedir(d);
    std::sort(names.begin(), names.end());  // the same order on every machine
    for (const std::string& n : names) add_path(path + "/" + n, seeds);
    return;
  }
  auto text = sipsd::read_small_file(path, 1u << 20);
  if (!text.ok()) {
    fprintf(stderr, "replay: %s\n", text.message().c_str());
    exit(2);
  }
  seeds->push_back(std::move(*text));
}

// One random edit of `s`; `other` is another seed to splice from.
void mutate(std::string* s, const std::string& other, std::mt19937_64& rng) {
  auto pick = [&rng](size_t n) { return n == 0 ? 0 : static_cast<size_t>(rng() % n); };
  static const char* const kTokens[] = {"\r\n", "\r\n\r\n",   "\n", ";", ",", ":", "<",
                                        ">",    "\"",         "\\", "%", "=", " ", "\t",
                                        "0",    "4294967296", "-1", "[", "]", "@", "\0"};
  switch (rng() % 8) {
    case 0:  // flip one bit
      if (!s->empty()) (*s)[pick(s->size())] ^= static_cast<char>(1u << (rng() % 8));
      break;
    case 1:  // replace a byte
      if (!s->empty()) (*s)[pick(s->size())] = static_cast<char>(rng());
      break;
    case 2:  // insert a token
      s->insert(pick(s->size() + 1), kTokens[pick(std::size(kTokens))]);
      break;
    case 3: {  // delete a range
      if (s->empty()) break;
      size_t at = pick(s->size());
      s->erase(at, 1 + pick(std::min<size_t>(64, s->size() - at)));
      break;
    }
    case 4: {  // duplicate a range
      if (s->empty()) break;
      size_t at = pick(s->size());
      std::string part = s->substr(at, 1 + pick(std::min<size_t>(256, s->size() - at)));
      s->insert(pick(s->size() + 1), part);
      break;
    }
    case 5:  // truncate
      s->resize(pick(s->size() + 1));
      break;
    case 6:  // a run of one byte (long numbers, long lines, many separators)
      s->insert(pick(s->size() + 1), 1 + pick(300), "9a ,;\r"[pick(6)]);
      break;
    default: {  // splice: our head, the other seed's tail
      size_t cut = pick(s->size() + 1);
      s->resize(cut);
      s->append(other, pick(other.size() + 1), std::string::npos);
      break;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  long runs = 2000;
  uint64_t seed = 1;
  std::string name = "replay";
  std::vector<std::string> seeds;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--runs" && i + 1 < argc) {
      runs = std::strtol(argv[++i], nullptr, 10);
    } else if (a == "--seed" && i + 1 < argc) {
      seed = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--name" && i + 1 < argc) {
      name = argv[++i];
    } else {
      add_path(a, &seeds);
    }
  }
  if (seeds.empty()) {
    fprintf(stderr, "usage: %s [--runs N] [--seed S] [--name NAME] FILE_OR_DIR...\n", argv[0]);
    return 2;
  }
  snprintf(g_dump.path, sizeof g_dump.path, "%s-replay-crash.bin", name.c_str());
  for (int sig : {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL}) signal(sig, on_fatal_signal);

  for (const std::string& s : seeds) run_one(s);
  std::mt19937_64 rng(seed);
  std::string input;
  for (long r = 0; r < runs; ++r) {
    input = seeds[r % seeds.size()];
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) mutate(&input, seeds[rng() % seeds.size()], rng);
    run_one(input);
  }
  printf("%s: %zu seeds and %ld mutated inputs, every check held\n", name.c_str(), seeds.size(),
         runs);
  return 0;
}
