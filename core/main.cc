// sipsd: a SIP-over-TLS edge server. `sipsd -f FILE` runs it in the foreground;
// `sipsd -c -f FILE` checks the cfg (including the TLS files it names) and exits.
#include <getopt.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "core/base/log.h"
#include "core/cfg/config.h"
#include "core/supervisor/supervisor.h"
#include "tls_mgm/tls_setup.h"

namespace {

constexpr const char* kDefaultCfg = "etc/sipsd.cfg";

void usage(FILE* out) {
  fprintf(out,
          "usage: sipsd [-f FILE] [-c] [-E] [-u USER] [-g GROUP]\n"
          "  -f FILE   configuration file (default %s)\n"
          "  -c        check the configuration and the TLS files it names, then exit\n"
          "  -E        log to stderr too, whatever the cfg's stderror_enabled says\n"
          "  -u USER   drop privileges to USER after binding the listeners\n"
          "  -g GROUP  drop privileges to GROUP after binding the listeners\n"
          "  -V        print the version and exit\n"
          "  -h        this help\n",
          kDefaultCfg);
}

void log_lines(sipsd::LogLevel level, const std::string& text) {
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string::npos) nl = text.size();
    sipsd::logger().write_text(level, "core", std::string_view(text).substr(start, nl - start));
    start = nl + 1;
  }
}

// The cfg's logging parameters (validated by the cfg loader) as the logger's outputs.
// `force_stderr` (-E, as OpenSIPS's) turns stderr on even when the cfg turns it off.
sipsd::LogOutputs log_outputs(const sipsd::CoreParams& core, bool force_stderr) {
  sipsd::LogOutputs out;
  out.stderr_enabled = core.stderror_enabled || force_stderr;
  out.stderr_level_filter = core.stderror_level_filter;
  sipsd::parse_log_format(core.stderror_log_format, &out.stderr_format);
  out.syslog_enabled = core.syslog_enabled;
  out.syslog_level_filter = core.syslog_level_filter;
  sipsd::parse_log_format(core.syslog_log_format, &out.syslog_format);
  sipsd::parse_syslog_facility(core.syslog_facility, &out.syslog_facility);
  out.syslog_name = core.syslog_name;
  out.prefix = core.log_prefix;
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::string cfg_file = kDefaultCfg;
  bool check_only = false;
  bool force_stderr = false;
  sipsd::SupervisorOptions opts;
  opts.argv.assign(argv, argv + argc);
  int c;
  while ((c = getopt(argc, argv, "f:cEu:g:Vh")) != -1) {
    switch (c) {
      case 'f':
        cfg_file = optarg;
        break;
      case 'c':
        check_only = true;
        break;
      case 'E':
        force_stderr = true;
        break;
      case 'u':
        opts.user = optarg;
        break;
      case 'g':
        opts.group = optarg;
        break;
      case 'V':
        printf("sipsd %s\n", SIPSD_VERSION);
        return 0;
      case 'h':
        usage(stdout);
        return 0;
      default:
        usage(stderr);
        return 2;
    }
  }
  if (optind != argc) {
    usage(stderr);
    return 2;
  }

  sipsd::Result<sipsd::Config> cfg = sipsd::load_config(cfg_file);
  if (!cfg.ok()) {
    log_lines(sipsd::LogLevel::kCrit, cfg.message());
    LOG_ERR("core", "bad config file %s", cfg_file.c_str());
    return 1;
  }
  for (const std::string& w : cfg->warnings) LOG_WARN("core", "%s", w.c_str());
  for (const std::string& n : cfg->notices) LOG_NOTICE("core", "%s", n.c_str());
  sipsd::logger().set_level(cfg->core.log_level);
  sipsd::logger().set_xlog_level(cfg->core.xlog_level);

  if (check_only) {
    std::vector<std::string> warnings;
    sipsd::Result<sipsd::TlsSetup> tls = sipsd::load_tls_setup(*cfg, &warnings);
    for (const std::string& w : warnings) LOG_WARN("tls_mgm", "%s", w.c_str());
    if (!tls.ok()) {
      log_lines(sipsd::LogLevel::kErr, tls.message());
      return 1;
    }
    LOG_NOTICE("core", "config file %s ok, exiting", cfg_file.c_str());
    return 0;
  }

  sipsd::logger().configure(log_outputs(cfg->core, force_stderr));
  return sipsd::run_supervisor(*cfg, opts);
}
