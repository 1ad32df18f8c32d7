// Logging: one line per event, OpenSIPS-style levels, written with a single write(2) so lines
// from the supervisor and the workers never interleave on a shared stderr.
#pragma once

#include <atomic>
#include <cstdarg>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/base/syslog_sink.h"

namespace sipsd {

// OpenSIPS numbering: there is no level 0.
enum class LogLevel : int {
  kAlert = -3,
  kCrit = -2,
  kErr = -1,
  kWarn = 1,
  kNotice = 2,
  kInfo = 3,
  kDebug = 4,
};

const char* log_level_name(LogLevel level);
// Parses "L_ERR", "L_INFO", ... (xlog's level names). Returns false when unknown.
bool parse_xlog_level(std::string_view name, LogLevel* out);

// stderror_log_format / syslog_log_format: "plain_text", "json", "json_cee".
enum class LogFormat : uint8_t { kPlain, kJson, kJsonCee };
bool parse_log_format(std::string_view name, LogFormat* out);

// Where log lines go and how they look (OpenSIPS's log consumers "stderror" and "syslog").
// A level filter of 0 lets every line through that log_level lets through; otherwise a line
// reaches that output only if its level is <= the filter.
struct LogOutputs {
  bool stderr_enabled = true;
  int stderr_level_filter = 0;
  LogFormat stderr_format = LogFormat::kPlain;
  bool syslog_enabled = false;
  int syslog_level_filter = 0;
  LogFormat syslog_format = LogFormat::kPlain;
  int syslog_facility = 3 << 3;  // LOG_DAEMON
  std::string syslog_name = "sipsd";
  std::string syslog_path;  // "" = SyslogSink::default_path()
  std::string prefix;       // log_prefix, written before "LEVEL:"
};

class Logger {
 public:
  bool enabled(LogLevel level) const { return static_cast<int>(level) <= this->level(); }
  int level() const { return shared_ ? shared_->load(std::memory_order_relaxed) : level_; }
  void set_level(int level) {
    level_ = level;
    if (shared_) shared_->store(level, std::memory_order_relaxed);
  }
  // Follow a level kept in shared memory (this process's slot), so that the management
  // interface can change it from another process (MI log_level).
  void share_level(std::atomic<int32_t>* slot) { shared_ = slot; }
  void set_stderr(bool on) { out_.stderr_enabled = on; }
  bool to_stderr() const { return out_.stderr_enabled; }
  // Applies the cfg's logging parameters (opens the syslog socket when syslog_enabled).
  void configure(LogOutputs outputs);
  // The syslog socket, -1 when none (a forked child must keep it open).
  int syslog_fd() const { return syslog_.fd(); }
  // xlog()'s own threshold (OpenSIPS's xlog_level; default L_NOTICE).
  bool xlog_enabled(LogLevel level) const { return static_cast<int>(level) <= xlog_level_; }
  int xlog_level() const { return xlog_level_; }
  void set_xlog_level(int level) { xlog_level_ = level; }

  void write(LogLevel level, const char* module, const char* fmt, ...)
      __attribute__((format(printf, 4, 5)));
  void vwrite(LogLevel level, const char* module, const char* fmt, va_list ap)
      __attribute__((format(printf, 4, 0)));
  // Writes text verbatim as the message (xlog output, which may contain '%'). A null module
  // gives OpenSIPS's xlog line ("INFO:text"), without the "module:" part.
  // `facility`: the syslog facility of this line (acc's log_facility); -1 = the configured one.
  void write_text(LogLevel level, const char* module, std::string_view text, int facility = -1);

 private:
  void dispatch(LogLevel level, const char* module, std::string_view message, int facility = -1);

  int level_ = static_cast<int>(LogLevel::kNotice);
  int xlog_level_ = static_cast<int>(LogLevel::kNotice);
  std::atomic<int32_t>* shared_ = nullptr;
  LogOutputs out_;
  SyslogSink syslog_;
};

// The logger of this process (a member of its ProcessContext).
Logger& logger();

}  // namespace sipsd

#define SIPSD_LOG(level, module, ...)                                          \
  do {                                                                         \
    ::sipsd::Logger& sipsd_lg_ = ::sipsd::logger();                            \
    if (sipsd_lg_.enabled(level)) sipsd_lg_.write(level, module, __VA_ARGS__); \
  } while (0)

#define LOG_ERR(module, ...) SIPSD_LOG(::sipsd::LogLevel::kErr, module, __VA_ARGS__)
#define LOG_WARN(module, ...) SIPSD_LOG(::sipsd::LogLevel::kWarn, module, __VA_ARGS__)
#define LOG_NOTICE(module, ...) SIPSD_LOG(::sipsd::LogLevel::kNotice, module, __VA_ARGS__)
#define LOG_INFO(module, ...) SIPSD_LOG(::sipsd::LogLevel::kInfo, module, __VA_ARGS__)
#define LOG_DBG(module, ...) SIPSD_LOG(::sipsd::LogLevel::kDebug, module, __VA_ARGS__)
