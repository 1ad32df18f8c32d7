// What sipsbench prints: the progress line (terminal only), the final summary table, and the
// --json file with every figure (flat keys, one per figure, so scripts can pick them out).
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

#include "bench/sipsbench/options.h"
#include "bench/sipsbench/runner.h"
#include "core/result.h"

namespace sipsd::bench {

void print_progress(FILE* out, const Options& options, double elapsed_s, const char* phase,
                    double rate, uint64_t done, uint64_t errors);
void print_summary(FILE* out, const Options& options, const RunResult& result);
std::string render_json(const Options& options, const RunResult& result);
Status write_json(const std::string& path, const Options& options, const RunResult& result);

}  // namespace sipsd::bench
