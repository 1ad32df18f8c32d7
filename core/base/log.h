// Logging: one line per event, OpenSIPS-style levels, written with a single write(2) so lines
// from the supervisor and the workers never interleave on a shared stderr.
#pragma once

#include <atomic>
#include <cstdarg>
#include <cstdint>
#include <string_view>

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
  void set_stderr(bool on) { to_stderr_ = on; }
  bool to_stderr() const { return to_stderr_; }

  void write(LogLevel level, const char* module, const char* fmt, ...)
      __attribute__((format(printf, 4, 5)));
  void vwrite(LogLevel level, const char* module, const char* fmt, va_list ap)
      __attribute__((format(printf, 4, 0)));
  // Writes text verbatim as the message (xlog output, which may contain '%').
  void write_text(LogLevel level, const char* module, std::string_view text);

 private:
  int level_ = static_cast<int>(LogLevel::kNotice);
  std::atomic<int32_t>* shared_ = nullptr;
  bool to_stderr_ = true;
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
