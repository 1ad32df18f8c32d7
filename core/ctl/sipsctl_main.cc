// sipsctl: the management client of sipsd. It speaks OpenSIPS's MI JSON-RPC over the FIFO
// (core/mi_client.h), builds params the way opensips-cli does, and prints results as tables
// (core/sipsctl_format.h) or, with --json, as the server sent them.
//
// Exit status: 0 success; 1 the server answered with an error; 2 a usage error, or no answer
// (no FIFO, sipsd not running, timeout, undecodable reply); 130 interrupted.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <thread>
#include <vector>

#include "core/base/printable.h"
#include "core/ctl/db_commands.h"
#include "core/ctl/mi_client.h"
#include "core/ctl/sipsctl_format.h"

namespace sipsd {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitErrorReply = 1;
constexpr int kExitFailure = 2;
constexpr int kExitInterrupted = 130;

volatile sig_atomic_t g_interrupted = 0;

void on_signal(int) {
  g_interrupted = 1;
}

const char kUsage[] =
    "usage: sipsctl [OPTIONS] COMMAND [ARG...]\n"
    "       sipsctl [OPTIONS] watch [--interval SEC] [--count N]\n"
    "\n"
    "Manages a running sipsd through its management FIFO (mi_fifo: OpenSIPS MI JSON-RPC).\n"
    "\n"
    "options (before COMMAND):\n"
    "  --fifo PATH        the server's FIFO, mi_fifo's fifo_name (default: $SIPSCTL_FIFO,\n"
    "                     else /tmp/opensips_fifo)\n"
    "  --reply-dir DIR    where the reply FIFO is created; must be mi_fifo's reply_dir\n"
    "                     (default /tmp/)\n"
    "  --reply-mode MODE  the reply FIFO's mode, octal (default 0600; 0666 when sipsd runs as\n"
    "                     another user)\n"
    "  --timeout SEC      give up when no reply comes within SEC seconds (default 5)\n"
    "  --json             print the result as JSON (compact, one line) instead of tables\n"
    "  -h, --help         this text\n"
    "  --version          sipsctl's version\n"
    "\n"
    "arguments are positional (sipsctl log_level 3) or named (sipsctl log_level level=3), not\n"
    "both; values are sent as strings. get_statistics, list_statistics and reset_statistics\n"
    "take any number of selectors (all, group:, name); get_statistics alone shows all.\n"
    "\n"
    "commands (sipsctl help lists what the server offers, sipsctl help CMD shows one):\n"
    "  ps  uptime  version  list_tcp_conns  tls_list  tls_cert_status  tls_reload\n"
    "  get_statistics [SEL...]  reset_statistics SEL...  log_level [LEVEL [PID]]  shutdown\n"
    "  watch              every second: open connections, accepted connections/s, TLS\n"
    "                     handshakes/s (ok, failed), SIP requests/s; until Ctrl-C or --count\n"
    "\n"
    "database commands (on the SQLite file itself; sipsd need not run):\n"
    "  db init URL                      create the OpenSIPS tables (URL: sqlite:///abs/file.db)\n"
    "  user add AOR PASSWORD [--db URL] add a subscriber (AOR user@domain; stores ha1,\n"
    "                                   ha1_sha256, ha1_sha512t256 with realm = domain)\n"
    "  user passwd AOR PASSWORD [--db URL]   user rm AOR [--db URL]\n"
    "                     --db defaults to $SIPSCTL_DB_URL; a running sipsd sees the change\n"
    "                     within auth_db's cache_refresh (or at once: sipsctl auth_reload)\n"
    "\n"
    "exit status: 0 success, 1 the server answered with an error, 2 usage error or no answer\n"
    "(FIFO missing, sipsd not running, timeout), 130 interrupted.\n";

struct Cli {
  MiClientOptions mi;
  bool json = false;
  std::string command;
  std::vector<std::string> args;
};

int usage_error(const std::string& message) {
  fprintf(stderr, "sipsctl: %s\nTry 'sipsctl --help'.\n", message.c_str());
  return kExitFailure;
}

bool parse_seconds(const std::string& text, double* out) {
  char* end = nullptr;
  errno = 0;
  double v = strtod(text.c_str(), &end);
  if (text.empty() || errno != 0 || *end != '\0' || !std::isfinite(v) || v <= 0 || v > 86400)
    return false;
  *out = v;
  return true;
}

// "--name VALUE" or "--name=VALUE" at argv[*i]; advances *i past what it used.
bool option_value(int argc, char** argv, int* i, const char* name, std::string* value,
                  bool* missing) {
  std::string arg = argv[*i];
  std::string n = name;
  if (arg == n) {
    if (*i + 1 >= argc) {
      *missing = true;
      return true;
    }
    *value = argv[++*i];
    return true;
  }
  if (arg.compare(0, n.size() + 1, n + "=") == 0) {
    *value = arg.substr(n.size() + 1);
    return true;
  }
  return false;
}

// Parses the options before COMMAND. Returns -1 to go on, else an exit status.
int parse_cli(int argc, char** argv, Cli* cli) {
  if (const char* env = getenv("SIPSCTL_FIFO"); env != nullptr && *env != '\0') cli->mi.fifo = env;
  int i = 1;
  for (; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") {
      ++i;
      break;
    }
    if (arg.empty() || arg[0] != '-') break;
    if (arg == "-h" || arg == "--help") {
      fputs(kUsage, stdout);
      return kExitOk;
    }
    if (arg == "--version") {
      printf("sipsctl %s\n", SIPSD_VERSION);
      return kExitOk;
    }
    if (arg == "--json") {
      cli->json = true;
      continue;
    }
    std::string value;
    bool missing = false;
    if (option_value(argc, argv, &i, "--fifo", &value, &missing)) {
      if (missing || value.empty()) return usage_error("--fifo needs a path");
      cli->mi.fifo = value;
    } else if (option_value(argc, argv, &i, "--reply-dir", &value, &missing)) {
      if (missing || value.empty()) return usage_error("--reply-dir needs a directory");
      cli->mi.reply_dir = value;
    } else if (option_value(argc, argv, &i, "--reply-mode", &value, &missing)) {
      char* end = nullptr;
      long mode = missing ? -1 : strtol(value.c_str(), &end, 8);
      if (missing || value.empty() || *end != '\0' || mode <= 0 || mode > 0777)
        return usage_error("--reply-mode needs an octal mode such as 0600 or 0666");
      cli->mi.reply_mode = static_cast<mode_t>(mode);
    } else if (option_value(argc, argv, &i, "--timeout", &value, &missing)) {
      double seconds = 0;
      if (missing || !parse_seconds(value, &seconds))
        return usage_error("--timeout needs a number of seconds (> 0)");
      cli->mi.timeout = std::chrono::milliseconds(static_cast<long long>(seconds * 1000 + 0.5));
      if (cli->mi.timeout.count() == 0) cli->mi.timeout = std::chrono::milliseconds(1);
    } else {
      return usage_error("unknown option '" + arg + "'");
    }
  }
  if (i >= argc) return usage_error("no command given");
  cli->command = argv[i++];
  for (; i < argc; ++i) cli->args.emplace_back(argv[i]);
  return -1;
}

bool use_color() {
  if (!isatty(STDOUT_FILENO)) return false;
  if (getenv("NO_COLOR") != nullptr) return false;
  const char* term = getenv("TERM");
  return term != nullptr && strcmp(term, "dumb") != 0;
}

void print(const std::string& text) {
  fputs(text.c_str(), stdout);
  fflush(stdout);
}

// One exchange. On success *result holds the "result" member and the return is -1; otherwise
// the message is printed and the exit status returned.
int call(const Cli& cli, const std::string& method, const Json& params, Json* result) {
  Result<Json> response = mi_call(cli.mi, method, params);
  if (!response.ok()) {
    if (g_interrupted) return kExitInterrupted;
    fprintf(stderr, "sipsctl: %s: %s\n", method.c_str(), response.message().c_str());
    return kExitFailure;
  }
  if (response->is_null()) {  // allow_empty_reply: the server closed without a word
    *result = Json("OK");
    return -1;
  }
  if (const Json* r = response->find("result")) {
    *result = *r;
    return -1;
  }
  fprintf(stderr, "sipsctl: %s: %s\n", method.c_str(),
          printable(mi_error_text(*response), kPrintableAll, Quotes::kKeep).c_str());
  return kExitErrorReply;
}

// sipsctl help [CMD]
int run_help(const Cli& cli) {
  if (cli.args.size() > 1) return usage_error("help takes at most one command name");
  Json result;
  if (cli.args.empty()) {
    Json which_params = Json::object();
    if (int rc = call(cli, "which", which_params, &result); rc >= 0) return rc;
    if (cli.json) {
      print(result.dump() + "\n");
    } else {
      print("commands sipsd offers (sipsctl help CMD for one, sipsctl --help for sipsctl):\n" +
            ctl::format_command_list(result));
    }
    return kExitOk;
  }
  const std::string& name = cli.args[0];
  Json params = Json::array();
  params.push(name);
  if (int rc = call(cli, "help", params, &result); rc >= 0) return rc;
  Json recipes;
  if (int rc = call(cli, "which", params, &recipes); rc >= 0) return rc;
  if (cli.json) {
    Json both = Json::object();
    both.add("help", result);
    both.add("recipes", recipes);
    print(both.dump() + "\n");
    return kExitOk;
  }
  std::string out = name;
  if (const Json* text = result.is_object() ? result.find("Help") : nullptr)
    out += ": " + (text->is_string() ? text->as_string() : text->dump());
  else if (result.is_string())
    out += ": " + result.as_string();
  if (const Json* module = result.is_object() ? result.find("Exported by") : nullptr)
    out += " (" + (module->is_string() ? module->as_string() : module->dump()) + ")";
  out += "\nusage:\n";
  for (const Json& recipe : recipes.items()) {
    out += "  sipsctl " + name;
    for (const Json& param : recipe.items())
      out += " " + (param.is_string() ? param.as_string() : param.dump());
    out += "\n";
  }
  print(out);
  return kExitOk;
}

// Sleeps `seconds`, waking early on a signal; false when interrupted.
bool sleep_for(double seconds) {
  auto until = std::chrono::steady_clock::now() +
               std::chrono::microseconds(static_cast<long long>(seconds * 1e6));
  while (!g_interrupted) {
    auto left = until - std::chrono::steady_clock::now();
    if (left <= std::chrono::steady_clock::duration::zero()) return true;
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
    timespec ts{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
    nanosleep(&ts, nullptr);  // EINTR: the loop looks at g_interrupted
  }
  return false;
}

std::string time_of_day() {
  time_t now = time(nullptr);
  tm local;
  localtime_r(&now, &local);
  char buf[16];
  strftime(buf, sizeof buf, "%H:%M:%S", &local);
  return buf;
}

// sipsctl watch [--interval SEC] [--count N]
int run_watch(const Cli& cli) {
  double interval = 1;
  long count = 0;  // 0: until interrupted
  for (size_t i = 0; i < cli.args.size(); ++i) {
    const std::string& arg = cli.args[i];
    std::string value;
    bool has_next = i + 1 < cli.args.size();
    if (arg == "--interval" || arg.rfind("--interval=", 0) == 0) {
      value = arg == "--interval" ? (has_next ? cli.args[++i] : "") : arg.substr(11);
      if (!parse_seconds(value, &interval))
        return usage_error("watch: --interval needs a number of seconds (> 0)");
    } else if (arg == "--count" || arg.rfind("--count=", 0) == 0) {
      value = arg == "--count" ? (has_next ? cli.args[++i] : "") : arg.substr(8);
      char* end = nullptr;
      count = value.empty() ? -1 : strtol(value.c_str(), &end, 10);
      if (count < 1 || *end != '\0') return usage_error("watch: --count needs a number >= 1");
    } else {
      return usage_error("watch: unknown argument '" + arg + "'");
    }
  }

  Json params = Json::array();
  Json selectors = Json::array();
  for (const std::string& s : ctl::watch_selectors()) selectors.push(s);
  params.push(std::move(selectors));

  using Clock = std::chrono::steady_clock;
  Json before;
  if (int rc = call(cli, "get_statistics", params, &before); rc >= 0) return rc;
  Clock::time_point before_at = Clock::now();
  if (!cli.json) print(ctl::format_watch_header());
  for (long n = 0; count == 0 || n < count; ++n) {
    if (!sleep_for(interval)) break;
    Json after;
    if (int rc = call(cli, "get_statistics", params, &after); rc >= 0)
      return rc == kExitInterrupted ? kExitOk : rc;
    Clock::time_point after_at = Clock::now();
    double seconds = std::chrono::duration<double>(after_at - before_at).count();
    ctl::WatchRates rates = ctl::watch_rates(before, after, seconds);
    print(cli.json ? ctl::format_watch_json(time_of_day(), rates)
                   : ctl::format_watch_line(time_of_day(), rates));
    before = std::move(after);
    before_at = after_at;
  }
  return kExitOk;  // Ctrl-C is how watch normally ends
}

// db init URL | user add|passwd|rm ...: straight on the database file.
int run_db(const Cli& cli) {
  std::vector<std::string> args;
  std::string url;
  if (const char* env = getenv("SIPSCTL_DB_URL")) url = env;
  for (size_t i = 0; i < cli.args.size(); ++i) {
    const std::string& a = cli.args[i];
    if (a == "--db" && i + 1 < cli.args.size()) {
      url = cli.args[++i];
    } else if (a.rfind("--db=", 0) == 0) {
      url = a.substr(5);
    } else {
      args.push_back(a);
    }
  }
  Status st;
  if (cli.command == "db") {
    if (args.size() != 2 || args[0] != "init") return usage_error("usage: db init URL");
    st = ctl::db_init(args[1]);
    if (st.ok()) print("tables created in " + args[1] + "\n");
  } else {
    const std::string sub = args.empty() ? "" : args[0];
    if (url.empty()) return usage_error("user: no database (give --db URL or set SIPSCTL_DB_URL)");
    if (sub == "add" && args.size() == 3) {
      st = ctl::user_add(url, args[1], args[2]);
    } else if (sub == "passwd" && args.size() == 3) {
      st = ctl::user_passwd(url, args[1], args[2]);
    } else if ((sub == "rm" || sub == "delete") && args.size() == 2) {
      st = ctl::user_rm(url, args[1]);
    } else {
      return usage_error("usage: user add AOR PASSWORD | user passwd AOR PASSWORD | user rm AOR");
    }
  }
  if (!st.ok()) {
    fprintf(stderr, "sipsctl: %s\n", st.message().c_str());
    return kExitErrorReply;
  }
  return kExitOk;
}

int run(int argc, char** argv) {
  Cli cli;
  if (int rc = parse_cli(argc, argv, &cli); rc >= 0) return rc;

  // Ctrl-C or a TERM while waiting for the server ends the call and still removes the reply
  // FIFO (no SA_RESTART: poll and nanosleep return EINTR).
  struct sigaction sa = {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaction(sig, &sa, nullptr);
  cli.mi.interrupted = &g_interrupted;

  if (cli.command == "help") return run_help(cli);
  if (cli.command == "watch") return run_watch(cli);
  if (cli.command == "db" || cli.command == "user") return run_db(cli);

  Result<Json> params = mi_params_from_args(cli.command, cli.args);
  if (!params.ok()) return usage_error(params.message());
  if (cli.args.empty() && (cli.command == "get_statistics" || cli.command == "statistics:get")) {
    Json all = Json::array();
    all.push(Json::array()).push("all");
    *params = std::move(all);
  }
  // kill and shutdown may close the reply FIFO unanswered: the server is on its way out.
  if (cli.command == "kill" || cli.command == "shutdown") cli.mi.allow_empty_reply = true;

  Json result;
  if (int rc = call(cli, cli.command, *params, &result); rc >= 0) return rc;
  if (cli.json) {
    print(result.dump() + "\n");
  } else {
    ctl::FormatOptions format;
    format.color = use_color();
    print(ctl::format_result(cli.command, result, format));
  }
  return kExitOk;
}

}  // namespace
}  // namespace sipsd

int main(int argc, char** argv) {
  return sipsd::run(argc, argv);
}
