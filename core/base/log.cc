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

bool parse_log_format(std::string_view name, LogFormat* out) {
  if (name == "plain_text") {
    *out = LogFormat::kPlain;
  } else if (name == "json") {
    *out = LogFormat::kJson;
  } else if (name == "json_cee") {
    *out = LogFormat::kJsonCee;
  } else {
    return false;
  }
  return true;
}

namespace {

constexpr size_t kMaxLine = 4096;

// A bounded line buffer: appends stop at the capacity (the line is cut, never overrun).
class LineBuf {
 public:
  void add(std::string_view s) {
    size_t m = std::min(s.size(), sizeof buf_ - 1 - len_);
    memcpy(buf_ + len_, s.data(), m);
    len_ += m;
  }
  void add_json(std::string_view s) {  // a JSON string body: escape quotes, '\\', controls
    for (char c : s) {
      if (c == '"' || c == '\\') {
        char esc[2] = {'\\', c};
        add({esc, 2});
      } else if (static_cast<unsigned char>(c) < 0x20) {
        char esc[8];
        int n = c == '\n'   ? snprintf(esc, sizeof esc, "\\n")
                : c == '\r' ? snprintf(esc, sizeof esc, "\\r")
                : c == '\t' ? snprintf(esc, sizeof esc, "\\t")
                            : snprintf(esc, sizeof esc, "\\u%04x", c);
        add({esc, static_cast<size_t>(n)});
      } else {
        add({&c, 1});
      }
    }
  }
  void addf(const char* fmt, ...) __attribute__((format(printf, 2, 3))) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf_ + len_, sizeof buf_ - len_, fmt, ap);
    va_end(ap);
    if (n > 0) len_ = std::min(len_ + static_cast<size_t>(n), sizeof buf_ - 1);
  }
  std::string_view view() const { return {buf_, len_}; }
  // Ends the line with exactly one '\n' (stderr: one write(2) per line).
  std::string_view line() {
    while (len_ > 0 && buf_[len_ - 1] == '\n') --len_;
    buf_[len_] = '\n';
    return {buf_, len_ + 1};
  }

 private:
  char buf_[kMaxLine];
  size_t len_ = 0;
};

std::string_view trim_newlines(std::string_view s) {
  while (!s.empty() && s.back() == '\n') s.remove_suffix(1);
  return s;
}

// "Dec 02 23:49:45": OpenSIPS's time stamp for stderr lines and the JSON "time" field.
std::string_view time_text(char (&buf)[32]) {
  time_t now = time(nullptr);
  struct tm tm;
  localtime_r(&now, &tm);
  return {buf, strftime(buf, sizeof buf, "%b %d %H:%M:%S", &tm)};
}

// "<prefix>LEVEL:module: message" (no module: "<prefix>LEVEL:message", xlog's lines).
void format_plain_body(LineBuf& b, std::string_view prefix, LogLevel level, const char* module,
                       std::string_view message) {
  b.add(prefix);
  b.add(log_level_name(level));
  b.add(":");
  if (module) {
    b.add(module);
    b.add(": ");
  }
  // A control byte (or ill-formed UTF-8) a peer put into the message is escaped
  // (printable.h), so a line is always exactly one line whatever was interpolated into it.
  std::string_view body = trim_newlines(message);
  if (needs_control_escape(body)) {
    b.add(escape_controls(body));
  } else {
    b.add(body);
  }
}

// OpenSIPS's JSON records: {"time", "pid", "level", "module", "prefix", "message"}, or with
// json_cee the CEE field names ({"time", "proc": {"id"}, "pri", "subsys", "msg", "pname",
// "hostname"}); on syslog json_cee starts with the "@cee: " cookie.
void format_json(LineBuf& b, LogFormat format, bool cee_cookie, const LogOutputs& out,
                 LogLevel level, const char* module, std::string_view message) {
  char tbuf[32];
  std::string_view t = time_text(tbuf);
  std::string_view prefix = out.prefix;
  if (prefix.ends_with(':')) prefix.remove_suffix(1);  // OpenSIPS drops the prefix's last ':'
  const int pid = static_cast<int>(getpid());
  message = trim_newlines(message);
  if (format == LogFormat::kJson) {
    b.add("{\"time\": \"");
    b.add(t);
    b.addf("\", \"pid\": %d, \"level\": \"%s", pid, log_level_name(level));
    if (module) {
      b.add("\", \"module\": \"");
      b.add_json(module);
    }
    if (!prefix.empty()) {
      b.add("\", \"prefix\": \"");
      b.add_json(prefix);
    }
    b.add("\", \"message\": \"");
    b.add_json(message);
    b.add("\"}");
    return;
  }
  if (cee_cookie) b.add("@cee: ");
  b.add("{\"time\": \"");
  b.add(t);
  b.addf("\", \"proc\": {\"id\": \"%d\"}, \"pri\": \"%s", pid, log_level_name(level));
  if (module) {
    b.add("\", \"subsys\": \"");
    b.add_json(module);
  }
  if (!prefix.empty()) {
    b.add("\", \"native\": {\"log_prefix\": \"");
    b.add_json(prefix);
    b.add("\"}, \"msg\": \"");
  } else {
    b.add("\", \"msg\": \"");
  }
  b.add_json(message);
  b.add("\", \"pname\": \"");
  b.add_json(out.syslog_name);
  char host[256] = "";
  gethostname(host, sizeof host - 1);
  b.add("\", \"hostname\": \"");
  b.add_json(host);
  b.add("\"}");
}

bool passes(int filter, LogLevel level) {
  return filter == 0 || static_cast<int>(level) <= filter;
}

void write_stderr(std::string_view line) {
  // One write per line: lines of different processes never interleave.
  ssize_t rc;
  do {
    rc = ::write(STDERR_FILENO, line.data(), line.size());
  } while (rc < 0 && errno == EINTR);
}

}  // namespace

void Logger::configure(LogOutputs outputs) {
  out_ = std::move(outputs);
  if (out_.syslog_enabled) {
    std::string path = out_.syslog_path.empty() ? SyslogSink::default_path() : out_.syslog_path;
    syslog_.open(std::move(path), out_.syslog_name, out_.syslog_facility);
  }
}

void Logger::dispatch(LogLevel level, const char* module, std::string_view message, int facility) {
  if (out_.stderr_enabled && passes(out_.stderr_level_filter, level)) {
    LineBuf b;
    if (out_.stderr_format == LogFormat::kPlain) {
      char tbuf[32];
      b.add(time_text(tbuf));
      b.addf(" [%d] ", static_cast<int>(getpid()));
      format_plain_body(b, out_.prefix, level, module, message);
    } else {
      format_json(b, out_.stderr_format, false, out_, level, module, message);
    }
    write_stderr(b.line());
  }
  if (out_.syslog_enabled && passes(out_.syslog_level_filter, level)) {
    LineBuf b;
    if (out_.syslog_format == LogFormat::kPlain) {
      format_plain_body(b, out_.prefix, level, module, message);
    } else {
      format_json(b, out_.syslog_format, true, out_, level, module, message);
    }
    syslog_.send(static_cast<int>(level), b.view(), facility);
  }
}

void Logger::vwrite(LogLevel level, const char* module, const char* fmt, va_list ap) {
  if (!out_.stderr_enabled && !out_.syslog_enabled) return;
  char buf[kMaxLine];
  int m = vsnprintf(buf, sizeof buf, fmt, ap);
  size_t n = m > 0 ? std::min(static_cast<size_t>(m), sizeof buf - 1) : 0;
  dispatch(level, module, std::string_view(buf, n));
}

void Logger::write(LogLevel level, const char* module, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vwrite(level, module, fmt, ap);
  va_end(ap);
}

void Logger::write_text(LogLevel level, const char* module, std::string_view text, int facility) {
  dispatch(level, module, text, facility);
}

Logger& logger() {
  return process_context().log;
}

}  // namespace sipsd
