// The syslog output of the logger: one datagram per line to the local syslog socket, in the
// format glibc's syslog(3) sends ("<PRI>Mmm dd hh:mm:ss TAG[PID]: MESSAGE"), so rsyslog and
// journald file it under the cfg's syslog_facility and syslog_name. Written by hand instead of
// openlog/syslog so the socket is an owned descriptor (kept across the workers' fork) and so
// tests can point it at a socket of their own (SIPSD_SYSLOG_SOCKET, read once at open).
#pragma once

#include <string>
#include <string_view>

#include "core/base/unique_fd.h"

namespace sipsd {

class SyslogSink {
 public:
  // Where datagrams go: $SIPSD_SYSLOG_SOCKET if set (tests), else /dev/log.
  static std::string default_path();

  // Connects a datagram socket to `path` (non-blocking: a full syslog queue drops the line
  // rather than stalling an event loop). False when there is no such socket; send() then
  // retries the connection at most once a second.
  bool open(std::string path, std::string tag, int facility);
  // Sends one line; `level` is sipsd's (OpenSIPS's) log level, -3..4, mapped to the syslog
  // priority (L_ERR -> LOG_ERR, L_WARN -> LOG_WARNING, L_DBG -> LOG_DEBUG, ...).
  // `facility` (LOG_LOCAL0, ...) overrides the one given to open() when >= 0.
  void send(int level, std::string_view message, int facility = -1);
  int fd() const { return fd_.get(); }

 private:
  bool connect_socket();

  UniqueFd fd_;
  std::string path_;
  std::string tag_;
  int facility_ = 0;
  long last_attempt_ = 0;  // monotonic seconds of the last failed connect
};

// The syslog priority of an OpenSIPS log level.
int syslog_priority(int level);

// "LOG_LOCAL0" -> LOG_LOCAL0 (also without the "LOG_" prefix, any case). False when unknown.
bool parse_syslog_facility(std::string_view name, int* out);

}  // namespace sipsd
