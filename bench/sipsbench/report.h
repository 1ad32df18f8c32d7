// What sipsbench prints: the progress line (terminal only), the final summary table, and the
// --json file with every figure (flat keys, one per figure, so scripts can pick them out).
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

#include "bench/sipsbench/call_mode.h"
#include "bench/sipsbench/idle_mode.h"
#include "bench/sipsbench/options.h"
#include "bench/sipsbench/ramp_mode.h"
#include "bench/sipsbench/register_mode.h"
#include "bench/sipsbench/runner.h"
#include "core/base/result.h"

namespace sipsd::bench {

void print_progress(FILE* out, const Options& options, double elapsed_s, const char* phase,
                    double rate, uint64_t done, uint64_t errors);
void print_summary(FILE* out, const Options& options, const RunResult& result);
std::string render_json(const Options& options, const RunResult& result);
Status write_json(const std::string& path, const Options& options, const RunResult& result);

// Idle mode.
void print_idle_progress(FILE* out, double elapsed_s, const char* phase, uint64_t established,
                         uint64_t failed, uint64_t open, uint64_t pings, uint64_t pongs,
                         uint64_t errors);
void print_idle_summary(FILE* out, const Options& options, const IdleResult& result);
std::string render_idle_json(const Options& options, const IdleResult& result);

// Ramp mode: one line per step as it ends (terminal), the table at the end.
void print_ramp_step(FILE* out, const RampStep& step);
void print_ramp_summary(FILE* out, const Options& options, const RampResult& result);
std::string render_ramp_json(const Options& options, const RampResult& result);

// Call mode.
void print_call_summary(FILE* out, const Options& options, const CallResult& result);
std::string render_call_json(const Options& options, const CallResult& result);

// Register mode.
void print_register_summary(FILE* out, const Options& options, const RegisterResult& result);
std::string render_register_json(const Options& options, const RegisterResult& result);

// Writes a rendered JSON report to --json FILE.
Status write_json_text(const std::string& path, const std::string& text);

}  // namespace sipsd::bench
