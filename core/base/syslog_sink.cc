#include "core/base/syslog_sink.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "core/base/ascii.h"

namespace sipsd {

namespace {

long monotonic_seconds() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<long>(ts.tv_sec);
}

}  // namespace

std::string SyslogSink::default_path() {
  const char* env = getenv("SIPSD_SYSLOG_SOCKET");
  return env && *env ? std::string(env) : std::string("/dev/log");
}

bool SyslogSink::open(std::string path, std::string tag, int facility) {
  path_ = std::move(path);
  tag_ = std::move(tag);
  facility_ = facility;
  return connect_socket();
}

bool SyslogSink::connect_socket() {
  fd_.reset();
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path_.empty() || path_.size() >= sizeof sa.sun_path) return false;
  memcpy(sa.sun_path, path_.data(), path_.size());
  UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd || ::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    last_attempt_ = monotonic_seconds();
    return false;
  }
  fd_ = std::move(fd);
  return true;
}

int syslog_priority(int level) {
  switch (level) {
    case -3:
      return LOG_ALERT;
    case -2:
      return LOG_CRIT;
    case -1:
      return LOG_ERR;
    case 1:
      return LOG_WARNING;
    case 2:
      return LOG_NOTICE;
    case 3:
      return LOG_INFO;
    default:
      return LOG_DEBUG;
  }
}

void SyslogSink::send(int level, std::string_view message, int facility) {
  const int priority = syslog_priority(level);
  if (path_.empty()) return;
  if (!fd_ && (monotonic_seconds() == last_attempt_ || !connect_socket())) return;
  char head[256];
  time_t now = time(nullptr);
  struct tm tm;
  localtime_r(&now, &tm);
  char stamp[32];
  strftime(stamp, sizeof stamp, "%b %e %H:%M:%S", &tm);
  int n =
      snprintf(head, sizeof head,
               "<%d>%s %s[%d]: ", (priority & LOG_PRIMASK) | (facility >= 0 ? facility : facility_),
               stamp, tag_.c_str(), static_cast<int>(getpid()));
  if (n < 0) return;
  iovec iov[2] = {{head, static_cast<size_t>(std::min<int>(n, sizeof head - 1))},
                  {const_cast<char*>(message.data()), message.size()}};
  msghdr mh{};
  mh.msg_iov = iov;
  mh.msg_iovlen = 2;
  for (int attempt = 0; attempt < 2; ++attempt) {
    ssize_t rc;
    do {
      rc = ::sendmsg(fd_.get(), &mh, MSG_NOSIGNAL);
    } while (rc < 0 && errno == EINTR);
    if (rc >= 0 || errno == EAGAIN || errno == EWOULDBLOCK) return;  // full: drop the line
    // The syslog daemon restarted (ECONNREFUSED, ENOTCONN): reconnect once and retry.
    if (attempt > 0 || !connect_socket()) return;
  }
}

bool parse_syslog_facility(std::string_view name, int* out) {
  static constexpr struct {
    std::string_view name;
    int value;
  } kFacilities[] = {
      {"kern", LOG_KERN},     {"user", LOG_USER},         {"mail", LOG_MAIL},
      {"daemon", LOG_DAEMON}, {"auth", LOG_AUTH},         {"syslog", LOG_SYSLOG},
      {"lpr", LOG_LPR},       {"news", LOG_NEWS},         {"uucp", LOG_UUCP},
      {"cron", LOG_CRON},     {"authpriv", LOG_AUTHPRIV}, {"ftp", LOG_FTP},
      {"local0", LOG_LOCAL0}, {"local1", LOG_LOCAL1},     {"local2", LOG_LOCAL2},
      {"local3", LOG_LOCAL3}, {"local4", LOG_LOCAL4},     {"local5", LOG_LOCAL5},
      {"local6", LOG_LOCAL6}, {"local7", LOG_LOCAL7},
  };
  std::string lower = ascii_to_lower(name);
  std::string_view n = lower;
  if (n.starts_with("log_")) n.remove_prefix(4);
  for (const auto& f : kFacilities) {
    if (f.name == n) {
      *out = f.value;
      return true;
    }
  }
  return false;
}

}  // namespace sipsd
