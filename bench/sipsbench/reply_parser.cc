#include "bench/sipsbench/reply_parser.h"

#include <cstring>

namespace sipsd::bench {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

bool equals_nocase(std::string_view a, std::string_view lower) {
  if (a.size() != lower.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
    if (c != lower[i]) return false;
  }
  return true;
}

}  // namespace

bool parse_reply(std::string_view msg, ReplyView* out, const char** why) {
  *out = ReplyView{};
  if (msg.size() < 12 || msg.substr(0, 8) != "SIP/2.0 ") {
    *why = "not a SIP reply";
    return false;
  }
  int status = 0;
  for (size_t i = 8; i < 11; ++i) {
    if (msg[i] < '0' || msg[i] > '9') {
      *why = "bad status code";
      return false;
    }
    status = status * 10 + (msg[i] - '0');
  }
  if (status < 100 || status > 699 || (msg[11] != ' ' && msg[11] != '\r')) {
    *why = "bad status code";
    return false;
  }
  out->status = status;

  bool have_call_id = false;
  bool have_cseq = false;
  size_t pos = 0;
  for (;;) {
    const void* lf = memchr(msg.data() + pos, '\n', msg.size() - pos);
    if (lf == nullptr) break;
    pos = static_cast<size_t>(static_cast<const char*>(lf) - msg.data()) + 1;
    size_t end = pos;
    const void* next = memchr(msg.data() + pos, '\n', msg.size() - pos);
    if (next != nullptr) end = static_cast<size_t>(static_cast<const char*>(next) - msg.data());
    std::string_view line = msg.substr(pos, end - pos);
    if (line.empty() || line == "\r") break;  // end of headers
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view name = trim(line.substr(0, colon));
    std::string_view value = trim(line.substr(colon + 1));
    if (equals_nocase(name, "call-id") || equals_nocase(name, "i")) {
      out->call_id = value;
      have_call_id = true;
    } else if (equals_nocase(name, "cseq")) {
      size_t i = 0;
      uint64_t n = 0;
      while (i < value.size() && value[i] >= '0' && value[i] <= '9' && n <= UINT32_MAX)
        n = n * 10 + static_cast<uint64_t>(value[i++] - '0');
      if (i == 0 || n > UINT32_MAX || i == value.size() || (value[i] != ' ' && value[i] != '\t')) {
        *why = "bad CSeq";
        return false;
      }
      out->cseq = static_cast<uint32_t>(n);
      out->cseq_method = trim(value.substr(i));
      have_cseq = true;
    }
    if (have_call_id && have_cseq) return true;
  }
  *why = have_call_id ? "no CSeq" : "no Call-ID";
  return false;
}

}  // namespace sipsd::bench
