#include "core/ctl/mi_client.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <random>
#include <utility>

#include "core/base/unique_fd.h"

namespace sipsd {

namespace {

using Clock = std::chrono::steady_clock;

// A reply this big is not a reply.
constexpr size_t kMaxReply = 256u << 20;

uint64_t random_u64() {
  thread_local std::mt19937_64 rng{[] {
    std::random_device rd;
    return (static_cast<uint64_t>(rd()) << 32) ^ rd() ^
           static_cast<uint64_t>(Clock::now().time_since_epoch().count());
  }()};
  return rng();
}

// Milliseconds left until `deadline`, for poll(): 0 once it has passed.
int ms_left(Clock::time_point deadline) {
  auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
  if (left <= 0) return 0;
  return left > 1000000 ? 1000000 : static_cast<int>(left);
}

std::string seconds_text(std::chrono::milliseconds ms) {
  return strprintf("%g s", static_cast<double>(ms.count()) / 1000.0);
}

bool was_interrupted(const volatile sig_atomic_t* interrupted) {
  return interrupted != nullptr && *interrupted != 0;
}

// The start of a reply for an error message: one line, bounded.
std::string excerpt(const std::string& text) {
  std::string out = text.substr(0, 200);
  for (char& c : out)
    if (c == '\n' || c == '\r') c = ' ';
  if (text.size() > out.size()) out += "…";
  return out;
}

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// `name=value` with a parameter-like name: the named form.
bool split_named(const std::string& arg, std::string* name, std::string* value) {
  size_t eq = arg.find('=');
  if (eq == 0 || eq == std::string::npos) return false;
  for (size_t i = 0; i < eq; ++i)
    if (!is_name_char(arg[i])) return false;
  *name = arg.substr(0, eq);
  *value = arg.substr(eq + 1);
  return true;
}

// Commands that take an array parameter, and where (opensips-cli has the same table).
struct ArrayParam {
  const char* command;
  size_t index;
  const char* name;
};
constexpr ArrayParam kArrayParams[] = {
    {"get_statistics", 0, "statistics"},   {"list_statistics", 0, "statistics"},
    {"reset_statistics", 0, "statistics"}, {"statistics:get", 0, "statistics"},
    {"statistics:list", 0, "statistics"},  {"statistics:reset", 0, "statistics"},
};

const ArrayParam* array_param_of(const std::string& command) {
  for (const ArrayParam& p : kArrayParams)
    if (command == p.command) return &p;
  return nullptr;
}

}  // namespace

// ---- request pieces --------------------------------------------------------------------------

Json mi_request(const std::string& method, const Json& params, const std::string& id) {
  Json req = Json::object();
  req.add("jsonrpc", "2.0");
  req.add("method", method);
  if (!params.is_null()) req.add("params", params);
  req.add("id", id);
  return req;
}

std::string mi_random_id() {
  return std::to_string(random_u64() % 1000000000u);
}

std::string mi_reply_fifo_name(const std::string& prefix) {
  return prefix + std::to_string(getpid()) + "_" + std::to_string(time(nullptr)) + "_" +
         std::to_string(random_u64() % 1000000000u);
}

bool mi_reply_name_ok(const std::string& name) {
  if (name.empty()) return false;
  for (char c : name)
    if (c == '.' || c == '/' || c == '\\' || c == ':' || c == '\0') return false;
  return true;
}

// ---- server FIFO -----------------------------------------------------------------------------

Result<UniqueFd> mi_open_server_fifo(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT)
      return make_error("FIFO " + path + " does not exist (is sipsd running with mi_fifo loaded?)");
    return make_error("cannot access FIFO " + path + ": " + strerror(errno));
  }
  if (!S_ISFIFO(st.st_mode)) return make_error(path + " is not a FIFO");
  UniqueFd fd(open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
  if (!fd) {
    if (errno == ENXIO) return make_error("sipsd is not running (no reader on FIFO " + path + ")");
    return make_error("cannot open FIFO " + path + " for writing: " + strerror(errno));
  }
  if (fstat(fd.get(), &st) != 0 || !S_ISFIFO(st.st_mode))
    return make_error(path + " is not a FIFO");
  return fd;
}

Status mi_write_all(int fd, const std::string& data, Clock::time_point deadline,
                    const volatile sig_atomic_t* interrupted) {
  // A reader that goes away mid-write must give EPIPE, not kill the caller with SIGPIPE: block
  // it for this thread and swallow the one this write raised.
  sigset_t pipe_set;
  sigset_t old_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set);
  sigset_t pending;
  sigpending(&pending);
  bool already_pending = sigismember(&pending, SIGPIPE) == 1;

  Status status;
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      pollfd p{fd, POLLOUT, 0};
      int rc = poll(&p, 1, ms_left(deadline));
      if (rc < 0 && errno == EINTR && !was_interrupted(interrupted)) continue;
      if (rc < 0 && errno == EINTR) {
        status = make_error("interrupted");
        break;
      }
      if (rc == 0) {
        status = make_error("timed out writing to the FIFO (the server is not reading it)");
        break;
      }
      continue;
    }
    if (n < 0 && errno == EPIPE) {
      status = make_error("the FIFO's reader went away while writing (sipsd stopped?)");
      if (!already_pending) {
        timespec zero{};
        sigtimedwait(&pipe_set, nullptr, &zero);
      }
      break;
    }
    status = make_error(std::string("write to the FIFO failed: ") + strerror(errno));
    break;
  }
  pthread_sigmask(SIG_SETMASK, &old_set, nullptr);
  return status;
}

// ---- reply FIFO ------------------------------------------------------------------------------

Result<MiReplyFifo> MiReplyFifo::create(const std::string& dir, const std::string& prefix,
                                        mode_t mode) {
  if (dir.empty()) return make_error("empty reply directory");
  std::string base = dir.back() == '/' ? dir : dir + "/";
  for (int attempt = 0; attempt < 8; ++attempt) {
    std::string name = mi_reply_fifo_name(prefix);
    if (!mi_reply_name_ok(name))
      return make_error("reply FIFO name '" + name + "' has a character the server refuses");
    std::string path = base + name;
    if (path.size() > kMiMaxReplyPath)
      return make_error(strprintf("reply FIFO path %s is %zu bytes; the server takes at most %zu",
                                  path.c_str(), path.size(), kMiMaxReplyPath));
    if (mkfifo(path.c_str(), mode) != 0) {
      if (errno == EEXIST) continue;
      return make_error("cannot create reply FIFO " + path + ": " + strerror(errno));
    }
    MiReplyFifo fifo;
    fifo.name_ = std::move(name);
    fifo.path_ = std::move(path);
    // Exactly `mode`, whatever the umask took away.
    if (chmod(fifo.path_.c_str(), mode) != 0)
      return make_error("cannot chmod reply FIFO " + fifo.path_ + ": " + strerror(errno));
    return fifo;
  }
  return make_error("cannot create a reply FIFO in " + dir + ": every name drawn exists");
}

MiReplyFifo::~MiReplyFifo() {
  remove();
}

MiReplyFifo::MiReplyFifo(MiReplyFifo&& o) noexcept
    : name_(std::move(o.name_)), path_(std::exchange(o.path_, {})), fd_(std::move(o.fd_)) {}

MiReplyFifo& MiReplyFifo::operator=(MiReplyFifo&& o) noexcept {
  if (this != &o) {
    remove();
    name_ = std::move(o.name_);
    path_ = std::exchange(o.path_, {});
    fd_ = std::move(o.fd_);
  }
  return *this;
}

void MiReplyFifo::remove() {
  fd_.reset();
  if (!path_.empty()) unlink(std::exchange(path_, {}).c_str());
}

Status MiReplyFifo::open_for_reading() {
  if (path_.empty()) return make_error("no reply FIFO");
  if (fd_) return Status::Ok();
  // Non-blocking: a FIFO's read end opens at once, writer or not.
  UniqueFd fd(open(path_.c_str(), O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return make_error("cannot open reply FIFO " + path_ + ": " + strerror(errno));
  struct stat st;
  if (fstat(fd.get(), &st) != 0 || !S_ISFIFO(st.st_mode))
    return make_error("reply FIFO " + path_ + " was replaced by something else");
  fd_ = std::move(fd);
  return Status::Ok();
}

Result<std::string> MiReplyFifo::read_reply(Clock::time_point deadline, bool stop_at_newline,
                                            const volatile sig_atomic_t* interrupted) {
  if (!fd_) return make_error("reply FIFO not open");
  std::string out;
  char buf[16384];
  for (;;) {
    // poll() first: before any writer has opened the FIFO, read() would report EOF at once,
    // whereas poll() waits for a writer to come (and reports POLLHUP once it has gone).
    pollfd p{fd_.get(), POLLIN, 0};
    int rc = poll(&p, 1, ms_left(deadline));
    if (rc < 0) {
      if (errno != EINTR) return make_error(std::string("poll failed: ") + strerror(errno));
      if (was_interrupted(interrupted)) return make_error("interrupted");
      continue;
    }
    if (rc == 0) return make_error("timeout");
    for (;;) {
      ssize_t n = read(fd_.get(), buf, sizeof buf);
      if (n > 0) {
        size_t old = out.size();
        out.append(buf, static_cast<size_t>(n));
        if (stop_at_newline) {
          size_t nl = out.find('\n', old);
          if (nl != std::string::npos) {
            out.resize(nl + 1);
            return out;
          }
        }
        if (out.size() > kMaxReply) return make_error("reply larger than 256 MiB");
        continue;
      }
      if (n == 0) return out;  // the writer closed: end of reply
      if (errno == EINTR) continue;
      if (errno == EAGAIN) break;  // the writer is still there; wait for more
      return make_error(std::string("read from the reply FIFO failed: ") + strerror(errno));
    }
  }
}

// ---- the call --------------------------------------------------------------------------------

Result<Json> mi_call(const MiClientOptions& options, const std::string& method,
                     const Json& params) {
  if (!params.is_null() && !params.is_array() && !params.is_object())
    return make_error("params must be an array or an object");
  const auto deadline = Clock::now() + options.timeout;
  const std::string id = mi_random_id();
  const std::string body = mi_request(method, params, id).dump();

  Result<UniqueFd> server = mi_open_server_fifo(options.fifo);
  if (!server.ok()) return server.error();
  UniqueFd server_fd = std::move(server).value();

  Result<MiReplyFifo> reply =
      MiReplyFifo::create(options.reply_dir, options.reply_prefix, options.reply_mode);
  if (!reply.ok()) return reply.error();
  const std::string wire = ":" + reply->name() + ":" + body;
  if (wire.size() > kMiMaxRequest)
    return make_error(strprintf("request too large: %zu bytes (the server reads at most %zu)",
                                wire.size(), kMiMaxRequest));
  // Reading before the request goes out: the server's non-blocking open finds us at once.
  if (Status s = reply->open_for_reading(); !s.ok()) return make_error(s.message());
  if (Status s = mi_write_all(server_fd.get(), wire, deadline, options.interrupted); !s.ok())
    return make_error(s.message() + " (FIFO " + options.fifo + ")");
  server_fd.reset();

  Result<std::string> text = reply->read_reply(deadline, false, options.interrupted);
  reply->remove();
  if (!text.ok()) {
    if (text.message() != "timeout") return text.error();
    return make_error("no reply from sipsd within " + seconds_text(options.timeout) + " (FIFO " +
                      options.fifo + "; replies go to the server's reply_dir, which must be " +
                      options.reply_dir + ")");
  }
  if (text->empty()) {
    if (options.allow_empty_reply) return Json();
    return make_error("sipsd closed the reply FIFO without answering");
  }
  Result<Json> response = Json::parse(*text);
  if (!response.ok())
    return make_error("could not decode the reply (" + response.message() + "): '" +
                      excerpt(*text) + "'");
  if (!response->is_object() || (!response->find("result") && !response->find("error")))
    return make_error("the reply has neither \"result\" nor \"error\": '" + excerpt(*text) + "'");
  const Json* reply_id = response->find("id");
  bool id_ok = reply_id != nullptr && reply_id->is_string() && reply_id->as_string() == id;
  // Errors the server could not tie to a request (invalid request) carry "id":null.
  if (!id_ok && !(response->find("error") && (reply_id == nullptr || reply_id->is_null())))
    return make_error("the reply answers another request (id " +
                      (reply_id ? reply_id->dump() : std::string("missing")) + ", sent \"" + id +
                      "\")");
  return response;
}

// ---- arguments -------------------------------------------------------------------------------

std::vector<std::string> mi_split_words(const std::string& line) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  char quote = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quote) {
      if (c == quote) {
        quote = 0;
      } else if (c == '\\' && quote == '"' && i + 1 < line.size() &&
                 (line[i + 1] == '"' || line[i + 1] == '\\')) {
        word += line[++i];
      } else {
        word += c;
      }
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      if (in_word) words.push_back(std::exchange(word, {}));
      in_word = false;
      continue;
    }
    in_word = true;
    if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == '\\' && i + 1 < line.size()) {
      word += line[++i];
    } else {
      word += c;
    }
  }
  if (in_word) words.push_back(word);
  return words;
}

Result<Json> mi_params_from_args(const std::string& command, const std::vector<std::string>& args) {
  if (args.empty()) return Json::object();
  const ArrayParam* array_param = array_param_of(command);
  size_t named = 0;
  std::string name;
  std::string value;
  for (const std::string& a : args)
    if (split_named(a, &name, &value)) ++named;
  if (named == args.size()) {
    Json params = Json::object();
    for (const std::string& a : args) {
      split_named(a, &name, &value);
      if (params.find(name)) return make_error("parameter '" + name + "' given twice");
      if (array_param && name == array_param->name) {
        Json list = Json::array();
        for (std::string& w : mi_split_words(value)) list.push(std::move(w));
        params.add(name, std::move(list));
      } else {
        params.add(name, value);
      }
    }
    return params;
  }
  if (named != 0)
    return make_error("cannot mix positional and name=value arguments (" + command + ")");
  Json params = Json::array();
  for (size_t i = 0; i < args.size(); ++i) {
    if (array_param && i == array_param->index) {
      Json list = Json::array();
      for (; i < args.size(); ++i) list.push(args[i]);
      params.push(std::move(list));
      break;
    }
    params.push(args[i]);
  }
  return params;
}

std::string mi_error_text(const Json& response) {
  const Json* error = response.is_object() ? response.find("error") : nullptr;
  if (!error) return "";
  if (!error->is_object()) return error->dump();
  std::string out;
  const Json* code = error->find("code");
  const Json* message = error->find("message");
  const Json* data = error->find("data");
  if (code) out += code->is_string() ? code->as_string() : code->dump();
  if (message) {
    if (!out.empty()) out += ' ';
    out += message->is_string() ? message->as_string() : message->dump();
  }
  if (data && !data->is_null() && !(data->is_string() && data->as_string().empty()))
    out += ": " + (data->is_string() ? data->as_string() : data->dump());
  return out;
}

}  // namespace sipsd
