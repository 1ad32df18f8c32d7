// libFuzzer target for the stream framer: arbitrary bytes, fed whole and in splits chosen by
// the input itself, must yield the same frames, every frame inside the data, no message over
// the size limit, and no crash. Build with -DSIPSD_FUZZ=ON under clang.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "proto_tls/stream_framer.h"

namespace {

struct Run {
  std::vector<std::string> frames;  // messages, and "<ping>" for pings
  bool error = false;
};

// With crlf_drop a lone CRLF at the end of a read is dropped, so where the reads end may turn
// a CRLFCRLF ping into two dropped CRLFs: then only messages are compared.
Run feed(const sipsd::FramerLimits& limits, const std::string& data,
         const std::vector<size_t>& cuts) {
  sipsd::StreamFramer framer(limits);
  Run run;
  std::string pending;
  size_t pos = 0;
  for (size_t i = 0; i <= cuts.size() && !run.error; ++i) {
    size_t end = i < cuts.size() ? cuts[i] : data.size();
    pending.append(data, pos, end - pos);
    pos = end;
    for (;;) {
      sipsd::Frame f = framer.next(pending);
      if (f.kind == sipsd::FrameKind::kError) {
        run.error = true;
        break;
      }
      if (f.consumed() > pending.size()) abort();
      if (f.kind == sipsd::FrameKind::kMessage) {
        if (f.length == 0 || f.length > limits.max_msg_size) abort();
        run.frames.push_back(pending.substr(f.skip, f.length));
      }
      if (f.kind == sipsd::FrameKind::kPing && !limits.crlf_drop) run.frames.push_back("<ping>");
      pending.erase(0, f.consumed());
      if (f.kind == sipsd::FrameKind::kNeedMore) break;
    }
  }
  return run;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  if (size < 2) return 0;
  sipsd::FramerLimits limits;
  limits.crlf_pingpong = bytes[0] & 1;
  limits.crlf_drop = bytes[0] & 2;
  limits.max_msg_size = 64 + (bytes[1] % 64) * 64;  // small limits reach the size checks
  std::string data(reinterpret_cast<const char*>(bytes) + 2, size - 2);

  // Split points derived from the data itself.
  std::vector<size_t> cuts;
  size_t at = 0;
  for (size_t i = 0; i < data.size() && cuts.size() < 64; i += 7) {
    at += 1 + static_cast<unsigned char>(data[i]) % 13;
    if (at >= data.size()) break;
    cuts.push_back(at);
  }
  Run whole = feed(limits, data, {});
  Run split = feed(limits, data, cuts);
  // Splitting may only change where an error is noticed, never which frames come out first.
  size_t n = std::min(whole.frames.size(), split.frames.size());
  for (size_t i = 0; i < n; ++i)
    if (whole.frames[i] != split.frames[i]) abort();
  if (!whole.error && !split.error && whole.frames.size() != split.frames.size()) abort();
  return 0;
}
