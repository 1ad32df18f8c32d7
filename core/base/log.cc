#include "core/base/log.h"

#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "core/base/printable.h"
#include "core/base/process_context.h"

namespace sipsd {

const char* log_level_name(LogLevel level) {
  switch (level) {
    case LogLevel::kAlert:
      return "ALERT";
    case LogLevel::kCrit:
      return "CRITICAL";
    case LogLevel::kErr:
      return "ERROR";
    case LogLevel::kWarn:
      return "WARNING";
    case LogLevel::kNotice:
      return "NOTICE";
    case LogLevel::kInfo:
      return "INFO";
    case LogLevel::kDebug:
      return "DBG";
  }
  return "?";
}

bool parse_xlog_level(std::string_view name, LogLevel* out) {
  static constexpr struct {
    std::string_view name;
    LogLevel level;
  } kLevels[] = {
      {"L_ALERT", LogLevel::kAlert}, {"L_CRIT", LogLevel::kCrit},     {"L_ERR", LogLevel::kErr},
      {"L_WARN", LogLevel::kWarn},   {"L_NOTICE", LogLevel::kNotice}, {"L_INFO", LogLevel::kInfo},
      {"L_DBG", LogLevel::kDebug},
  };
  for (const auto& l : kLevels) {
    if (l.name == name) {
      *out = l.level;
      return true;
    }
  }
  return false;
}

namespace {

constexpr size_t kMaxLine = 4096;

// Formats "Nov 26 23:49:45 [1234] LEVEL:module: " into buf; returns its length.
size_t format_prefix(char* buf, size_t cap, LogLevel level, const char* module) {
  time_t now = time(nullptr);
  struct tm tm;
  localtime_r(&now, &tm);
  size_t n = strftime(buf, cap, "%b %d %H:%M:%S", &tm);
  int m = snprintf(buf + n, cap - n, " [%d] %s:%s: ", static_cast<int>(getpid()),
                   log_level_name(level), module);
  return n + (m > 0 ? static_cast<size_t>(m) : 0);
}

// Writes the line buf[0, len) whose message starts at buf[prefix]. Trailing newlines go; a
// control byte (or ill-formed UTF-8) left in the message is escaped (printable.h), so a line
// is always exactly one line whatever was interpolated into it.
void emit(char* buf, size_t prefix, size_t len) {
  if (len >= kMaxLine) len = kMaxLine - 1;
  while (len > prefix && buf[len - 1] == '\n') --len;
  std::string_view message(buf + prefix, len - prefix);
  if (needs_control_escape(message)) {
    std::string escaped = escape_controls(message);
    size_t m = std::min(escaped.size(), kMaxLine - 1 - prefix);
    while (m > 0 && m < escaped.size() && (escaped[m] & 0xC0) == 0x80) --m;  // whole characters
    memcpy(buf + prefix, escaped.data(), m);
    len = prefix + m;
  }
  buf[len++] = '\n';
  // One write per line: lines of different processes never interleave.
  ssize_t rc;
  do {
    rc = ::write(STDERR_FILENO, buf, len);
  } while (rc < 0 && errno == EINTR);
}

}  // namespace

void Logger::vwrite(LogLevel level, const char* module, const char* fmt, va_list ap) {
  if (!to_stderr_) return;
  char buf[kMaxLine];
  size_t n = format_prefix(buf, sizeof buf, level, module);
  int m = vsnprintf(buf + n, sizeof buf - n, fmt, ap);
  size_t len = n + (m > 0 ? static_cast<size_t>(m) : 0);
  emit(buf, n, len);
}

void Logger::write(LogLevel level, const char* module, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vwrite(level, module, fmt, ap);
  va_end(ap);
}

void Logger::write_text(LogLevel level, const char* module, std::string_view text) {
  if (!to_stderr_) return;
  char buf[kMaxLine];
  size_t n = format_prefix(buf, sizeof buf, level, module);
  size_t m = std::min(text.size(), sizeof buf - n - 1);
  memcpy(buf + n, text.data(), m);
  emit(buf, n, n + m);
}

Logger& logger() {
  return process_context().log;
}

}  // namespace sipsd
