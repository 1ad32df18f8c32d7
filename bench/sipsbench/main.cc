// sipsbench: the SIP-over-TLS/TCP load generator of the bench harness (issue 5).
//   sipsbench throughput --target tls:127.0.0.1:5061 --conns 4 --inflight 32 --ca ca.pem
//   sipsbench handshake  --target tls:127.0.0.1:5061 --conns 4 --resume
// Exit status: 0 when something succeeded in the measured period, 1 when nothing did, 2 on a
// usage or setup error.
#include <signal.h>

#include <atomic>
#include <cstdio>

#include "bench/sipsbench/options.h"
#include "bench/sipsbench/report.h"
#include "bench/sipsbench/runner.h"

namespace {

std::atomic<bool> g_interrupted{false};

void on_signal(int) {
  g_interrupted.store(true);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace sipsd::bench;
  bool help = false;
  sipsd::Result<Options> options = parse_options(argc, argv, &help);
  if (help) {
    fputs(usage().c_str(), stdout);
    return 0;
  }
  if (!options.ok()) {
    fprintf(stderr, "sipsbench: %s\n", options.message().c_str());
    return 2;
  }
  const Options& o = *options;

  signal(SIGPIPE, SIG_IGN);  // a closed connection is an error to count, not a reason to die
  struct sigaction sa = {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  sipsd::Result<RunResult> result = run_benchmark(o, g_interrupted);
  if (!result.ok()) {
    fprintf(stderr, "sipsbench: %s\n", result.message().c_str());
    return 2;
  }
  print_summary(stdout, o, *result);
  if (!o.json_file.empty()) {
    sipsd::Status s = write_json(o.json_file, o, *result);
    if (!s.ok()) {
      fprintf(stderr, "sipsbench: %s\n", s.message().c_str());
      return 2;
    }
  }
  if (result->successes() == 0) {
    fprintf(stderr, "sipsbench: nothing succeeded in the measured period%s%s\n",
            result->stats.first_error.empty() ? "" : "; first error: ",
            result->stats.first_error.c_str());
    return 1;
  }
  return 0;
}
