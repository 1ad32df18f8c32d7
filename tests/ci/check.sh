#!/usr/bin/env bash
# `make check`: everything the project claims about its code, checked from a clean tree.
#
#   format    clang-format-14 --dry-run -Werror over every tracked .cc/.h
#   werror    g++ build of the whole tree with -Werror (make test's build/ when it is one,
#             else build-check-gcc/)
#   sanitize  clang++-14 build of the whole tree with -Werror, ASan, UBSan and libFuzzer
#             instrumentation (build-check-clang/), then the whole ctest suite under it; a
#             sanitizer report from any process (test binaries, the sipsd they start, its
#             forked workers, sipsctl, sipsbench) fails the stage
#   fuzz      every tests/fuzz/*_fuzz.cc target from that build, for a bounded number of runs
#             from its committed seed corpus tests/fuzz/corpus/<target>/
#
# Usage: tests/ci/check.sh [STAGE...]      (default: all four, in that order)
# Environment:
#   JOBS               parallel compile jobs and ctest -j (default: nproc)
#   CHECK_FUZZ_RUNS    runs per fuzz target, overriding the table below (e.g. 1000 for a smoke run)
#   CHECK_FUZZ_JOBS    fuzz targets run at once (default: nproc)
#   CHECK_KEEP_GOING=1 run the later stages after a failed one (the result is still a failure)
#   CHECK_REUSE_BUILD  a build tree the werror stage may use if it is a g++ -Werror build
#                      (the Makefile passes its $(BUILD))
#
# Every stage prints its name, its outcome and how long it took; the last lines sum them up.
# Stages run through `bash "$0" --stage NAME`, which shellcheck cannot follow:
# shellcheck disable=SC2317,SC2030,SC2031
set -euo pipefail

cd "$(dirname "$0")/../.."
SRC=$PWD
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
GCC_BUILD=$SRC/build-check-gcc
CLANG_BUILD=$SRC/build-check-clang

# Runs per fuzz target: sized for ~30-60 s each on the 2-core CI machine with two targets at
# once (the rates in the comments were seen there, on a busy machine). A target not listed gets
# the default. Every run is also capped at FUZZ_MAX_TIME seconds so that a slow or loaded
# machine cannot blow the time budget: the summary line then says so.
declare -A FUZZ_RUNS_OF=(
  [cfg_fuzz]=60000            # ~1,300 runs/s: each input is a whole cfg load and script run
  [sip_message_fuzz]=350000   # ~7,000 runs/s
  [stream_framer_fuzz]=550000 # ~12,000 runs/s
  [dns_message_fuzz]=1000000  # ~20,000 runs/s
  [uri_fuzz]=1500000          # ~90,000 runs/s alone on a quiet machine
  [name_addr_fuzz]=800000     # ~44,000 runs/s alone
  [message_edit_fuzz]=600000  # ~32,000 runs/s alone
  [tm_route_fuzz]=600000      # ~31,000 runs/s alone
  [tls13_records_fuzz]=150000 # ~2,800 runs/s: every record is sealed and opened (AEAD)
)
FUZZ_DEFAULT_RUNS=200000
FUZZ_MAX_TIME=120
FUZZ_JOBS=${CHECK_FUZZ_JOBS:-$JOBS}
# clang's sanitizer runtimes look for llvm-symbolizer in PATH only; Debian keeps it beside clang.
SYMBOLIZER=/usr/lib/llvm-14/bin/llvm-symbolizer
SAN_COMMON=""
if [[ -x $SYMBOLIZER ]]; then SAN_COMMON=":external_symbolizer_path=$SYMBOLIZER"; fi

log() { printf '[check] %s\n' "$*"; }

# --- format -------------------------------------------------------------------------------------
# The layering fixture (tests/layering/fixture/) is formatted like everything else, so it is not
# excluded: clang-format leaves it as it is (one include per block, IncludeBlocks: Preserve).
stage_format() {
  local cf=clang-format-14
  command -v "$cf" >/dev/null || cf=clang-format
  log "$("$cf" --version)"
  local files
  mapfile -t files < <(git -C "$SRC" ls-files -- '*.cc' '*.h')
  log "checking ${#files[@]} files"
  if ! "$cf" --dry-run -Werror "${files[@]}"; then
    log "run: $cf -i <file>   (or: git ls-files '*.cc' '*.h' | xargs $cf -i)"
    return 1
  fi
}

# --- werror ---------------------------------------------------------------------------------------
# g++ with -Werror, as users build (RelWithDebInfo's -O2 -DNDEBUG: GCC's flow warnings such as
# -Wmaybe-uninitialized depend on the optimizer). Not combined with the sanitizers: GCC 12
# compiles 4-6x slower with -fsanitize=address,undefined and then warns falsely inside libstdc++
# (-Wmaybe-uninitialized in std::function under <regex>); clang carries the sanitizers below.
#
# On g++ 12 the ordinary build is already that build (CMakeLists.txt turns SIPSD_WERROR on for
# the compilers CI checks), so when `make test` has configured one ($CHECK_REUSE_BUILD, the
# Makefile's $(BUILD)) with g++, -Werror and RelWithDebInfo, this stage brings that tree up to
# date instead of compiling the whole tree a second time; otherwise it builds build-check-gcc/.
cache_value() { sed -n "s/^$2:[A-Z]*=//p" "$1/CMakeCache.txt" 2>/dev/null | head -n 1; }

stage_werror() {
  local reuse=${CHECK_REUSE_BUILD:-}
  if [[ -n $reuse && $reuse != /* ]]; then reuse=$SRC/$reuse; fi
  if [[ -n $reuse && -f $reuse/CMakeCache.txt ]] &&
    [[ $(cache_value "$reuse" SIPSD_WERROR) == ON ]] &&
    [[ $(cache_value "$reuse" CMAKE_BUILD_TYPE) == RelWithDebInfo ]] &&
    [[ $(cache_value "$reuse" SIPSD_SANITIZE) != ON ]] &&
    grep -qs 'set(CMAKE_CXX_COMPILER_ID "GNU")' "$reuse"/CMakeFiles/*/CMakeCXXCompiler.cmake; then
    log "werror: ${reuse#"$SRC"/}/ is a g++ -Werror RelWithDebInfo build (make test's): building it"
    timed "werror: build (g++ $(g++ -dumpversion) -Werror, ${reuse#"$SRC"/}/)" \
      cmake --build "$reuse" -j "$JOBS"
    return
  fi
  cmake -S "$SRC" -B "$GCC_BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_COMPILER=g++ -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -DNDEBUG" \
    -DSIPSD_WERROR=ON -DSIPSD_SANITIZE=OFF -DSIPSD_FUZZ=OFF >/dev/null
  timed "werror: build (g++ $(g++ -dumpversion) -Werror)" cmake --build "$GCC_BUILD" -j "$JOBS"
}

# --- sanitize -----------------------------------------------------------------------------------
# One clang++-14 build of the whole tree (build-check-clang/) serves the last two stages and is
# the clang -Werror build: ASan, UBSan (no recovery) and libFuzzer's coverage instrumentation
# everywhere (SIPSD_FUZZ), so the fuzz targets come out of it too; -O2 with line tables for
# the stack traces, asserts on (no NDEBUG) and libstdc++'s bounds checks (_GLIBCXX_ASSERTIONS).
#
# The whole ctest suite runs under it. Sanitizer reports go to files (log_path, san.<pid>: ASan
# and UBSan share the runtime's one log path), one per process, so that a report from a forked sipsd worker, which the supervisor would just replace,
# cannot go unnoticed: any file there fails the stage. halt_on_error stops a process at its
# first report.
#
# LeakSanitizer is on: it runs when a process exits normally (test binaries, sipsd's supervisor,
# sipsctl, sipsbench). sipsd's workers leave with _exit(), like OpenSIPS's, so they are not
# leak-checked (their memory dies with them). LSan cannot run under ptrace (gdb, strace): to
# debug a test that way, add ASAN_OPTIONS=detect_leaks=0 to the environment (the caller's
# ASAN_OPTIONS/UBSAN_OPTIONS/LSAN_OPTIONS come last and win).
configure_clang() {
  cmake -S "$SRC" -B "$CLANG_BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_COMPILER=clang++-14 \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -gline-tables-only -D_GLIBCXX_ASSERTIONS" \
    -DSIPSD_WERROR=ON -DSIPSD_SANITIZE=ON -DSIPSD_FUZZ=ON >/dev/null
  timed "build (clang++-14 -Werror, ASan+UBSan+libFuzzer)" cmake --build "$CLANG_BUILD" -j "$JOBS"
}

stage_sanitize() {
  configure_clang
  local reports=$CLANG_BUILD/sanitizer-reports
  rm -rf "$reports"
  mkdir -p "$reports"
  chmod 1777 "$reports"  # a sipsd started with -u/-g writes there too
  local rc=0
  (
    cd "$CLANG_BUILD"
    export ASAN_OPTIONS="log_path=$reports/san:halt_on_error=1:detect_leaks=1:check_initialization_order=1:strict_init_order=1$SAN_COMMON${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
    export UBSAN_OPTIONS="log_path=$reports/san:halt_on_error=1:print_stacktrace=1:suppressions=$SRC/tests/ci/ubsan.supp$SAN_COMMON${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
    export LSAN_OPTIONS="suppressions=$SRC/tests/ci/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
    timed "sanitize: ctest" ctest --output-on-failure -j "$JOBS"
  ) || rc=$?

  local found
  found=$(find "$reports" -type f | sort)
  if [[ -n $found ]]; then
    log "sanitizer reports (from processes that may have exited quietly):"
    local f
    for f in $found; do
      printf '\n===== %s =====\n' "${f#"$CLANG_BUILD"/}"
      head -n 80 "$f"
    done
    log "$(wc -l <<<"$found") sanitizer report file(s) in ${reports#"$SRC"/}/"
    return 1
  fi
  log "no sanitizer report from any process"
  return "$rc"
}

# --- fuzz ---------------------------------------------------------------------------------------
stage_fuzz() {
  configure_clang  # nothing to do after the sanitize stage

  local targets=() src name
  for src in "$SRC"/tests/fuzz/*_fuzz.cc; do
    name=$(basename "$src" .cc)
    if [[ ! -d $SRC/tests/fuzz/corpus/$name ]] ||
      [[ -z $(find "$SRC/tests/fuzz/corpus/$name" -type f -print -quit) ]]; then
      log "fuzz: $name has no seed corpus: commit a few inputs in tests/fuzz/corpus/$name/"
      return 1
    fi
    targets+=("$name")
  done

  local work=$CLANG_BUILD/fuzz-runs
  rm -rf "$work"
  mkdir -p "$work"
  log "fuzz: ${#targets[@]} targets, $FUZZ_JOBS at a time, logs in ${work#"$SRC"/}/"

  # A small job pool: start up to FUZZ_JOBS targets, collect them as they finish.
  local -A pid_of=()
  local failed=() running=0 t
  # Background jobs ignore Ctrl-C: stop them when this stage is stopped.
  trap 'kill ${pid_of[*]} 2>/dev/null; exit 130' INT TERM
  for name in "${targets[@]}"; do
    if ((running >= FUZZ_JOBS)); then
      wait -n || true
      running=$((running - 1))
    fi
    run_fuzzer "$name" "$work" &
    pid_of[$name]=$!
    running=$((running + 1))
  done
  for t in "${targets[@]}"; do
    wait "${pid_of[$t]}" || failed+=("$t")
  done
  for t in "${targets[@]}"; do
    cat "$work/$t.summary"
  done
  if ((${#failed[@]})); then
    for t in "${failed[@]}"; do
      printf '\n===== %s: last lines of %s =====\n' "$t" "${work#"$SRC"/}/$t.log"
      tail -n 60 "$work/$t.log"
    done
    log "fuzz: FAILED: ${failed[*]} (the inputs are in ${work#"$SRC"/}/<target>/)"
    return 1
  fi
}

# One target: a scratch corpus first (where libFuzzer writes what it finds), the committed
# corpus second (only read), crashes into the run's directory, the cwd a scratch directory too
# (cfg_fuzz inputs may include_file relative paths). Writes <name>.log and <name>.summary.
run_fuzzer() {
  local name=$1 work=$2
  local runs=${CHECK_FUZZ_RUNS:-${FUZZ_RUNS_OF[$name]:-$FUZZ_DEFAULT_RUNS}}
  local dir=$work/$name
  mkdir -p "$dir/new-corpus" "$dir/cwd"
  local start=$SECONDS rc=0
  (
    cd "$dir/cwd"
    export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1$SAN_COMMON${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
    export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$SRC/tests/ci/ubsan.supp$SAN_COMMON${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
    exec "$CLANG_BUILD/$name" -runs="$runs" -max_total_time="$FUZZ_MAX_TIME" -timeout=20 \
      -print_final_stats=1 -artifact_prefix="$dir/" \
      "$dir/new-corpus" "$SRC/tests/fuzz/corpus/$name"
  ) >"$work/$name.log" 2>&1 || rc=$?
  local secs=$((SECONDS - start)) done_runs cov
  done_runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$name.log" | tail -n 1)
  cov=$(grep -o 'cov: [0-9]*' "$work/$name.log" | tail -n 1 || true)
  local note=""
  if ((rc == 0)) && [[ ${done_runs:-0} -lt $runs ]]; then
    note=" (stopped by the ${FUZZ_MAX_TIME} s cap)"
  fi
  printf '[check] fuzz: %-22s %-6s %8s runs of %s in %3d s, %s%s\n' "$name" \
    "$([[ $rc == 0 ]] && echo ok || echo FAILED)" "${done_runs:-?}" "$runs" "$secs" \
    "${cov:-cov: ?}" "$note" >"$work/$name.summary"
  return "$rc"
}

# --- driver -------------------------------------------------------------------------------------
timed() {
  local what=$1
  shift
  local start=$SECONDS rc=0
  "$@" || rc=$?
  log "$what: $([[ $rc == 0 ]] && echo ok || echo "FAILED (exit $rc)") in $((SECONDS - start)) s"
  return "$rc"
}

if [[ ${1:-} == --stage ]]; then
  "stage_$2"
  exit 0
fi

stages=("$@")
if ((${#stages[@]} == 0)); then stages=(format werror sanitize fuzz); fi
for s in "${stages[@]}"; do
  case $s in
    format | werror | sanitize | fuzz) ;;
    *)
      echo "usage: $0 [format] [werror] [sanitize] [fuzz]" >&2
      exit 2
      ;;
  esac
done

summary=()
overall=0
all_start=$SECONDS
for s in "${stages[@]}"; do
  log "===== stage $s ====="
  start=$SECONDS
  rc=0
  # A process of its own, so that `set -e` holds inside the stage (bash ignores it in a
  # function called as `f || …`).
  bash "$0" --stage "$s" || rc=$?
  secs=$((SECONDS - start))
  if ((rc == 0)); then
    summary+=("$(printf '%-9s ok      %4d s' "$s" "$secs")")
  else
    summary+=("$(printf '%-9s FAILED  %4d s' "$s" "$secs")")
    overall=1
  fi
  log "===== stage $s: $([[ $rc == 0 ]] && echo ok || echo FAILED) in $secs s ====="
  if ((rc != 0)) && [[ ${CHECK_KEEP_GOING:-0} != 1 ]]; then break; fi
done

log "summary:"
for line in "${summary[@]}"; do log "  $line"; done
log "$(printf '  %-9s %-7s %4d s' total "$([[ $overall == 0 ]] && echo ok || echo FAILED)" $((SECONDS - all_start)))"
exit "$overall"
