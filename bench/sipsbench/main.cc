// sipsbench: the SIP-over-TLS/TCP load generator of the bench harness (issue 5).
//   sipsbench throughput --target tls:127.0.0.1:5061 --conns 4 --inflight 32 --ca ca.pem
//   sipsbench handshake  --target tls:127.0.0.1:5061 --conns 4 --resume
//   sipsbench idle       --target tls:127.0.0.1:5061 --connections 10000 --server-pid PID
//   sipsbench ramp       --target tls:127.0.0.1:5061 --conns 4 --rate-start 1000 --rate-step 2
//   sipsbench storm      --target tls:127.0.0.1:5061 --connections 20000 --server-pid PID
//   sipsbench call       --target tls:127.0.0.1:5061 --ca ca.pem --cert c.pem --key c.key
//                        --conns 4 --callees 4 --concurrent 32 --hold 0
//   sipsbench register   --target tls:127.0.0.1:5061 --users 1000 --domain example.com
//                        --password 'pw{i}' --concurrent 64 --server-pid PID
// Exit status: 0 when something succeeded in the measured period, 1 when nothing did, 2 on a
// usage or setup error.
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <string>

#include "bench/sipsbench/idle_mode.h"
#include "bench/sipsbench/options.h"
#include "bench/sipsbench/ramp_mode.h"
#include "bench/sipsbench/register_mode.h"
#include "bench/sipsbench/report.h"
#include "bench/sipsbench/runner.h"
#include "bench/sipsbench/storm_mode.h"

namespace {

std::atomic<bool> g_interrupted{false};

void on_signal(int) {
  g_interrupted.store(true);
}

// Prints, writes --json and returns the exit status of a finished run.
template <class R, class Print, class Render>
int report(const sipsd::bench::Options& o, const R& result, Print print, Render render,
           bool succeeded, const char* nothing, const std::string& first_error) {
  print(stdout, o, result);
  if (!o.json_file.empty()) {
    sipsd::Status s = sipsd::bench::write_json_text(o.json_file, render(o, result));
    if (!s.ok()) {
      fprintf(stderr, "sipsbench: %s\n", s.message().c_str());
      return 2;
    }
  }
  if (!succeeded) {
    fprintf(stderr, "sipsbench: %s%s%s\n", nothing,
            first_error.empty() ? "" : "; first error: ", first_error.c_str());
    return 1;
  }
  return 0;
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

  if (o.mode == Mode::kIdle) {
    sipsd::Result<IdleResult> r = run_idle(o, g_interrupted);
    if (!r.ok()) {
      fprintf(stderr, "sipsbench: %s\n", r.message().c_str());
      return 2;
    }
    return report(o, *r, print_idle_summary, render_idle_json, r->established > 0,
                  "no connection was established", r->first_error);
  }
  if (o.mode == Mode::kStorm) {
    sipsd::Result<StormResult> r = run_storm(o, g_interrupted);
    if (!r.ok()) {
      fprintf(stderr, "sipsbench: %s\n", r.message().c_str());
      return 2;
    }
    return report(o, *r, print_storm_summary, render_storm_json, r->reconnected > 0,
                  "no connection was re-established", r->first_error);
  }
  if (o.mode == Mode::kRamp) {
    sipsd::Result<RampResult> r = run_ramp(o, g_interrupted);
    if (!r.ok()) {
      fprintf(stderr, "sipsbench: %s\n", r.message().c_str());
      return 2;
    }
    return report(o, *r, print_ramp_summary, render_ramp_json, r->replies() > 0,
                  "no request was answered", r->totals.first_error);
  }

  if (o.mode == Mode::kRegister) {
    sipsd::Result<RegisterResult> r = run_register(o, g_interrupted);
    if (!r.ok()) {
      fprintf(stderr, "sipsbench: %s\n", r.message().c_str());
      return 2;
    }
    std::string why =
        !r->stats.first_failure.empty() ? r->stats.first_failure : r->stats.first_error;
    return report(o, *r, print_register_summary, render_register_json, r->stats.completed > 0,
                  "no registration was completed", why);
  }

  if (o.mode == Mode::kCall) {
    sipsd::Result<CallResult> r = run_call(o, g_interrupted);
    if (!r.ok()) {
      fprintf(stderr, "sipsbench: %s\n", r.message().c_str());
      return 2;
    }
    std::string why = !r->stop_reason.empty()           ? r->stop_reason
                      : !r->stats.first_failure.empty() ? r->stats.first_failure
                                                        : r->stats.first_error;
    return report(o, *r, print_call_summary, render_call_json, r->stats.completed > 0,
                  "no call was completed", why);
  }

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
