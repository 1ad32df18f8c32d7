// StreamFramer (proto_tls/stream_framer.h): cutting SIP messages out of a TLS/TCP byte stream.
// Each benchmark drives the framer the way StreamConn::consume does: next() on every unconsumed
// byte until kNeedMore, then end_read_event() once per simulated read.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "bench/micro/sample_messages.h"
#include "proto_tls/stream_framer.h"

namespace sipsd::bench {
namespace {

// Result of one simulated read event.
struct ReadOutcome {
  size_t consumed = 0;  // bytes the caller may drop
  int messages = 0;
  int pings = 0;
  bool error = false;
};

// Frames everything in `pending` (the caller's unconsumed bytes) as StreamConn::consume does.
// At most one frame per byte, plus the final kNeedMore.
ReadOutcome drain(StreamFramer& framer, std::string_view pending) {
  ReadOutcome out;
  for (size_t guard = 0; guard <= pending.size(); ++guard) {
    Frame f = framer.next(pending.substr(out.consumed));
    out.consumed += f.consumed();
    switch (f.kind) {
      case FrameKind::kMessage:
        ++out.messages;
        continue;
      case FrameKind::kPing:
        ++out.pings;
        continue;
      case FrameKind::kNeedMore:
        return out;
      case FrameKind::kError:
        out.error = true;
        return out;
    }
  }
  out.error = true;  // the framer did not stop: a bug
  return out;
}

FramerLimits chunk_friendly_limits() {
  FramerLimits limits;
  limits.max_msg_chunks = 1 << 20;  // the chunked benchmarks split a message into many reads
  return limits;
}

// One OPTIONS arrives in one read.
void BM_Framer_OptionsWhole(benchmark::State& state) {
  StreamFramer framer{FramerLimits{}};
  int64_t messages = 0;
  for (auto _ : state) {
    ReadOutcome r = drain(framer, kOptions);
    framer.end_read_event();
    benchmark::DoNotOptimize(r);
    messages += r.messages;
    if (r.error || r.consumed != kOptions.size()) {
      state.SkipWithError("the framer did not return the whole OPTIONS");
      break;
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(kOptions.size()));
  state.SetItemsProcessed(messages);
  state.SetLabel(std::to_string(kOptions.size()) + " B");
}
BENCHMARK(BM_Framer_OptionsWhole);

// One OPTIONS arrives in reads of state.range(0) bytes. Like the connection, the caller keeps
// the unconsumed bytes contiguous and hands all of them over after each read; the framer only
// scans the new ones.
void BM_Framer_OptionsChunked(benchmark::State& state) {
  const size_t chunk = static_cast<size_t>(state.range(0));
  StreamFramer framer{chunk_friendly_limits()};
  int64_t messages = 0;
  for (auto _ : state) {
    size_t start = 0;  // first unconsumed byte
    size_t end = 0;    // bytes received so far
    bool failed = false;
    while (end < kOptions.size()) {  // bounded: end grows by chunk each turn
      end = std::min(end + chunk, kOptions.size());
      ReadOutcome r = drain(framer, kOptions.substr(start, end - start));
      start += r.consumed;
      messages += r.messages;
      failed |= r.error || framer.end_read_event() != FrameError::kNone;
    }
    benchmark::DoNotOptimize(start);
    if (failed || start != kOptions.size()) {
      state.SkipWithError("the framer did not return the whole OPTIONS");
      break;
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(kOptions.size()));
  state.SetItemsProcessed(messages);
  state.SetLabel(std::to_string((kOptions.size() + chunk - 1) / chunk) + " reads/msg");
}
BENCHMARK(BM_Framer_OptionsChunked)->ArgName("chunk")->Arg(1)->Arg(16)->Arg(64)->Arg(256);

// state.range(0) pipelined messages (OPTIONS, REGISTER and INVITE in turn) in one read.
void BM_Framer_Pipelined(benchmark::State& state) {
  const int count = static_cast<int>(state.range(0));
  static constexpr std::string_view kMix[] = {kOptions, kRegister, kInvite};
  std::string buffer;
  for (int i = 0; i < count; ++i) buffer.append(kMix[i % 3]);
  FramerLimits limits;
  limits.max_msg_size = buffer.size();
  StreamFramer framer{limits};
  int64_t messages = 0;
  for (auto _ : state) {
    ReadOutcome r = drain(framer, buffer);
    framer.end_read_event();
    benchmark::DoNotOptimize(r);
    messages += r.messages;
    if (r.error || r.messages != count || r.consumed != buffer.size()) {
      state.SkipWithError("the framer did not return every pipelined message");
      break;
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(buffer.size()));
  state.SetItemsProcessed(messages);
  state.SetLabel(std::to_string(buffer.size()) + " B/read");
}
BENCHMARK(BM_Framer_Pipelined)->ArgName("msgs")->Arg(8)->Arg(64);

// A CRLFCRLF keep-alive (RFC 5626 §4.4.1) on its own read: one kPing per iteration.
void BM_Framer_CrlfPing(benchmark::State& state) {
  static constexpr std::string_view kPing = "\r\n\r\n";
  StreamFramer framer{FramerLimits{}};
  int64_t pings = 0;
  for (auto _ : state) {
    ReadOutcome r = drain(framer, kPing);
    framer.end_read_event();
    benchmark::DoNotOptimize(r);
    pings += r.pings;
    if (r.error || r.pings != 1 || r.consumed != kPing.size()) {
      state.SkipWithError("the framer did not answer the CRLFCRLF ping");
      break;
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(kPing.size()));
  state.SetItemsProcessed(pings);
}
BENCHMARK(BM_Framer_CrlfPing);

// A keep-alive followed by an OPTIONS in the same read (a phone's ping, then its probe).
void BM_Framer_CrlfPingThenOptions(benchmark::State& state) {
  const std::string buffer = "\r\n\r\n" + std::string(kOptions);
  StreamFramer framer{FramerLimits{}};
  int64_t frames = 0;
  for (auto _ : state) {
    ReadOutcome r = drain(framer, buffer);
    framer.end_read_event();
    benchmark::DoNotOptimize(r);
    frames += r.pings + r.messages;
    if (r.error || r.pings != 1 || r.messages != 1 || r.consumed != buffer.size()) {
      state.SkipWithError("the framer did not return the ping and the OPTIONS");
      break;
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(buffer.size()));
  state.SetItemsProcessed(frames);
}
BENCHMARK(BM_Framer_CrlfPingThenOptions);

}  // namespace
}  // namespace sipsd::bench
