#include "core/mi/fifo_server.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstring>
#include <string_view>
#include <vector>

#include "core/base/clock.h"
#include "core/base/log.h"
#include "core/base/printable.h"
#include "core/mi/rpc.h"

namespace sipsd {

namespace {

constexpr const char* kMod = "mi_fifo";
constexpr size_t kMaxReplyPath = 128;  // reply_dir + name must be shorter (OpenSIPS)
constexpr size_t kMaxNameScan = 255;   // no ':' after this many name bytes: not a request
constexpr size_t kReadChunk = 16 * 1024;
// Deeper requests are refused before parsing, so that a 64 KiB "[[[[…" never reaches the JSON
// parser (RapidJSON's reader recurses per level); MI requests use 3 levels.
constexpr int kMaxDepth = 32;

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// The deepest nesting of arrays/objects in a delimited JSON value.
int json_depth(std::string_view t) {
  int depth = 0;
  int max = 0;
  bool in_string = false;
  for (size_t i = 0; i < t.size(); ++i) {
    const char c = t[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      max = std::max(max, ++depth);
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return max;
}

bool forbidden_name(std::string_view name) {
  return std::any_of(name.begin(), name.end(), [](char ch) {
    auto c = static_cast<unsigned char>(ch);
    return c == '.' || c == '/' || c == '\\' || c < 0x20 || c == 0x7f;
  });
}

// A byte that may appear in a reply fifo name where a request start is looked for in the
// middle of the input (resynchronising after a bad or partial request): not forbidden, not
// blank, and not JSON punctuation, so that JSON text ("a":{"b":1}) is not taken for a start.
bool candidate_name_char(char ch) {
  auto c = static_cast<unsigned char>(ch);
  if (c <= 0x20 || c == 0x7f) return false;
  switch (c) {
    case '.':
    case '/':
    case '\\':
    case ':':
    case '{':
    case '}':
    case '[':
    case ']':
    case '"':
    case ',':
      return false;
    default:
      return true;
  }
}

enum class Start { kNo, kPrefix, kYes };

// Whether s[p] (a ':') starts a request: ":name:" then optional blanks and '{' or '['. kPrefix:
// the input ends before that can be decided. *body: where the JSON starts (kYes).
Start request_start_at(std::string_view s, size_t p, size_t* body) {
  size_t i = p + 1;
  while (i < s.size() && i - p - 1 <= kMaxNameScan && candidate_name_char(s[i])) ++i;
  if (i - p - 1 > kMaxNameScan) return Start::kNo;
  if (i == s.size()) return Start::kPrefix;
  if (s[i] != ':') return Start::kNo;
  ++i;
  while (i < s.size() && is_space(s[i])) ++i;
  if (i == s.size()) return Start::kPrefix;
  if (s[i] != '{' && s[i] != '[') return Start::kNo;
  *body = i;
  return Start::kYes;
}

// The first request start in s[from, to); with `or_prefix`, also a ':' at which the input ends
// before it is known (the rest of a request still to come). npos: none.
size_t find_request_start(std::string_view s, size_t from, size_t to, bool or_prefix) {
  for (size_t p = s.find(':', from); p != std::string_view::npos && p < to;
       p = s.find(':', p + 1)) {
    size_t body = 0;
    Start st = request_start_at(s, p, &body);
    if (st == Start::kYes || (st == Start::kPrefix && or_prefix)) return p;
  }
  return std::string_view::npos;
}

// The first complete, well-formed JSON-RPC request (an object with "jsonrpc" or "method") that
// starts in s[from, to). Requests from other writers arrive as atomic writes of at most
// PIPE_BUF bytes, so a candidate is looked at over at most that many bytes, and at most
// kMaxCandidates candidates are looked at, which bounds the work per call.
size_t find_complete_request(std::string_view s, size_t from, size_t to) {
  constexpr int kMaxCandidates = 64;
  int tried = 0;
  for (size_t p = s.find(':', from);
       p != std::string_view::npos && p < to && tried < kMaxCandidates; p = s.find(':', p + 1)) {
    size_t body = 0;
    if (request_start_at(s, p, &body) != Start::kYes) continue;
    ++tried;
    const std::string_view json = s.substr(body, PIPE_BUF);
    const size_t extent = json_value_extent(json);
    if (extent == 0 || extent == std::string_view::npos) continue;
    const std::string_view text = json.substr(0, extent);
    if (json_depth(text) > kMaxDepth) continue;
    Result<Json> parsed = Json::parse(text);
    if (!parsed.ok() || !parsed->is_object()) continue;
    if (parsed->find("jsonrpc") == nullptr && parsed->find("method") == nullptr) continue;
    return p;
  }
  return std::string_view::npos;
}

const char* file_kind(mode_t mode) {
  if (S_ISREG(mode)) return "a regular file";
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISLNK(mode)) return "a symbolic link";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
  if (S_ISFIFO(mode)) return "a FIFO";
  return "not a FIFO";
}

bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

Result<uid_t> resolve_user(const std::string& user) {
  if (all_digits(user)) {
    unsigned long v = 0;
    std::from_chars(user.data(), user.data() + user.size(), v);
    return static_cast<uid_t>(v);
  }
  std::vector<char> buf(16384);
  struct passwd pw;
  struct passwd* found = nullptr;
  int rc = getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &found);
  if (rc != 0 || found == nullptr)
    return make_error(strprintf("mi_fifo: fifo_user '%s': no such user", user.c_str()));
  return found->pw_uid;
}

Result<gid_t> resolve_group(const std::string& group) {
  if (all_digits(group)) {
    unsigned long v = 0;
    std::from_chars(group.data(), group.data() + group.size(), v);
    return static_cast<gid_t>(v);
  }
  std::vector<char> buf(16384);
  struct group gr;
  struct group* found = nullptr;
  int rc = getgrnam_r(group.c_str(), &gr, buf.data(), buf.size(), &found);
  if (rc != 0 || found == nullptr)
    return make_error(strprintf("mi_fifo: fifo_group '%s': no such group", group.c_str()));
  return found->gr_gid;
}

// Blocks SIGPIPE in this thread while writing to a reply FIFO whose reader may be gone, and
// swallows the SIGPIPE such a write raises, whatever the process's disposition.
class SigpipeGuard {
 public:
  SigpipeGuard() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
  }
  ~SigpipeGuard() {
    if (!was_pending_) {
      sigset_t pending;
      sigpending(&pending);
      if (sigismember(&pending, SIGPIPE) == 1) {
        struct timespec zero = {0, 0};
        sigtimedwait(&pipe_, nullptr, &zero);
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  SigpipeGuard(const SigpipeGuard&) = delete;
  SigpipeGuard& operator=(const SigpipeGuard&) = delete;

 private:
  sigset_t pipe_;
  sigset_t old_;
  bool was_pending_ = false;
};

}  // namespace

// A request taken off the input, waiting for its turn (its reply FIFO free, a reply slot free).
struct MiFifoServer::Queued {
  std::string name;
  Json request;
};

// A request being answered: its reply FIFO is being opened (retried from a timer while nobody
// reads it) or written. Each has its own events, so that one waiting reader delays nobody else.
struct MiFifoServer::Reply {
  MiFifoServer* server = nullptr;
  std::string name;
  std::string path;
  Json request;
  int attempts = 0;  // failed opens so far (ENXIO)
  UniqueFd fd;
  std::string out;
  size_t sent = 0;
  int64_t started_ms = 0;
  int64_t progress_ms = 0;
  // Declared after fd: unregistered before it closes.
  EventPtr retry_ev;
  EventPtr write_ev;
};

MiFifoServer::MiFifoServer(struct event_base* base, const MiFifoParams& params,
                           const MiRegistry* registry, const Limits& limits)
    : base_(base), params_(params), registry_(registry), limits_(limits) {}

Result<std::unique_ptr<MiFifoServer>> MiFifoServer::start(struct event_base* base,
                                                          const MiFifoParams& params,
                                                          const MiRegistry* registry,
                                                          const Limits& limits) {
  std::unique_ptr<MiFifoServer> s(new MiFifoServer(base, params, registry, limits));
  if (s->params_.fifo_mode == 0) s->params_.fifo_mode = 0600;
  if (s->params_.fifo_name.empty()) return make_error("mi_fifo: fifo_name is empty");
  if (!params.fifo_user.empty()) {
    Result<uid_t> uid = resolve_user(params.fifo_user);
    if (!uid.ok()) return uid.error();
    s->uid_ = *uid;
  }
  if (!params.fifo_group.empty()) {
    Result<gid_t> gid = resolve_group(params.fifo_group);
    if (!gid.ok()) return gid.error();
    s->gid_ = *gid;
  }
  if (Status st = s->create_fifo(/*at_start=*/true); !st.ok()) return make_error(st.message());
  // From here on the destructor removes the FIFO if anything below fails.
  s->check_ev_.reset(event_new(base, -1, EV_PERSIST, on_check_timer, s.get()));
  s->partial_ev_.reset(evtimer_new(base, on_partial_timer, s.get()));
  if (!s->check_ev_ || !s->partial_ev_) return make_error("mi_fifo: cannot create events");
  struct timeval every = ms_to_timeval(limits.check_interval_ms);
  if (event_add(s->check_ev_.get(), &every) != 0) return make_error("mi_fifo: event_add failed");
  if (Status st = s->arm_reader(); !st.ok()) return make_error(st.message());
  LOG_INFO(kMod, "serving MI commands on FIFO %s (mode 0%o), replies in %s",
           s->params_.fifo_name.c_str(), static_cast<unsigned>(s->params_.fifo_mode),
           s->params_.reply_dir.c_str());
  return s;
}

MiFifoServer::~MiFifoServer() {
  replies_.clear();
  partial_ev_.reset();
  check_ev_.reset();
  read_ev_.reset();
  if (read_fd_) {
    struct stat st;
    const std::string& path = params_.fifo_name;
    if (lstat(path.c_str(), &st) == 0 && S_ISFIFO(st.st_mode) && st.st_dev == dev_ &&
        st.st_ino == ino_) {
      if (unlink(path.c_str()) != 0)
        LOG_WARN(kMod, "cannot remove FIFO %s: %s", path.c_str(), strerror(errno));
    }
  }
}

// Makes a fresh FIFO at fifo_name and opens it (read end plus the dummy writer); on success
// read_fd_/dummy_writer_/dev_/ino_ describe it.
Status MiFifoServer::create_fifo(bool at_start) {
  const std::string& path = params_.fifo_name;
  const char* p = path.c_str();
  const size_t slash = path.rfind('/');
  const std::string dir =
      slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  struct stat st;
  if (stat(dir.c_str(), &st) != 0)
    return make_error(strprintf("mi_fifo: cannot create FIFO %s: directory %s: %s", p, dir.c_str(),
                                strerror(errno)));
  if (!S_ISDIR(st.st_mode))
    return make_error(
        strprintf("mi_fifo: cannot create FIFO %s: %s is not a directory", p, dir.c_str()));

  if (lstat(p, &st) == 0) {
    if (!S_ISFIFO(st.st_mode)) {
      return make_error(strprintf(
          "mi_fifo: %s exists and is %s, not a FIFO; not removing it (remove it or choose "
          "another fifo_name)",
          p, file_kind(st.st_mode)));
    }
    if (at_start) {
      // A reader on it means a live server (another sipsd or OpenSIPS): do not steal its FIFO.
      UniqueFd probe(open(p, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW));
      if (probe)
        return make_error(strprintf(
            "mi_fifo: FIFO %s is in use by another process (is another server running?)", p));
    }
    if (unlink(p) != 0 && errno != ENOENT)
      return make_error(
          strprintf("mi_fifo: cannot remove the old FIFO %s: %s", p, strerror(errno)));
  } else if (errno != ENOENT) {
    return make_error(strprintf("mi_fifo: cannot check %s: %s", p, strerror(errno)));
  }

  const auto mode = static_cast<mode_t>(params_.fifo_mode);
  if (mkfifo(p, mode) != 0)
    return make_error(strprintf("mi_fifo: cannot create FIFO %s: %s", p, strerror(errno)));
  auto fail = [&](const char* what) {
    std::string msg = strprintf("mi_fifo: %s %s: %s", what, p, strerror(errno));
    unlink(p);
    return make_error(std::move(msg));
  };
  if (chmod(p, mode) != 0) return fail("cannot chmod FIFO");
  if ((uid_ != static_cast<uid_t>(-1) || gid_ != static_cast<gid_t>(-1)) &&
      chown(p, uid_, gid_) != 0) {
    return fail("cannot chown FIFO (fifo_user/fifo_group)");
  }
  UniqueFd rd(open(p, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW));
  if (!rd) return fail("cannot open FIFO");
  if (fstat(rd.get(), &st) != 0 || !S_ISFIFO(st.st_mode)) {
    unlink(p);
    return make_error(strprintf("mi_fifo: %s changed while it was being created", p));
  }
  UniqueFd wr(open(p, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW));
  if (!wr) return fail("cannot open FIFO for writing");
  read_fd_ = std::move(rd);
  dummy_writer_ = std::move(wr);
  dev_ = st.st_dev;
  ino_ = st.st_ino;
  return Status::Ok();
}

Status MiFifoServer::arm_reader() {
  reading_ = false;
  read_ev_.reset(event_new(base_, read_fd_.get(), EV_READ | EV_PERSIST, on_readable, this));
  if (!read_ev_) return make_error("mi_fifo: cannot create the read event");
  update_read_interest();
  return Status::Ok();
}

void MiFifoServer::check() {
  const std::string& path = params_.fifo_name;
  struct stat st;
  if (lstat(path.c_str(), &st) == 0) {
    if (S_ISFIFO(st.st_mode) && st.st_dev == dev_ && st.st_ino == ino_) return;  // still ours
    if (!S_ISFIFO(st.st_mode)) {
      LOG_ERR(kMod,
              "FIFO %s was replaced by %s; not touching it (MI unreachable until it is "
              "removed)",
              path.c_str(), file_kind(st.st_mode));
      return;
    }
    LOG_WARN(kMod, "FIFO %s was replaced by another FIFO; recreating it", path.c_str());
  } else {
    LOG_WARN(kMod, "FIFO %s disappeared (%s); recreating it", path.c_str(), strerror(errno));
  }
  // Whatever is still in the old pipe was written before the swap: keep it.
  read_input(read_fd_.get());
  UniqueFd old_read = std::move(read_fd_);
  UniqueFd old_writer = std::move(dummy_writer_);
  const dev_t old_dev = dev_;
  const ino_t old_ino = ino_;
  if (Status s = create_fifo(/*at_start=*/false); !s.ok()) {
    LOG_ERR(kMod, "%s (will retry)", s.message().c_str());
    read_fd_ = std::move(old_read);
    dummy_writer_ = std::move(old_writer);
    dev_ = old_dev;
    ino_ = old_ino;
    return;
  }
  ++counters_.fifo_recreated;
  read_ev_.reset();  // before its descriptor goes
  old_read.reset();
  if (Status s = arm_reader(); !s.ok()) LOG_ERR(kMod, "%s", s.message().c_str());
  pump();
}

void MiFifoServer::on_check_timer(evutil_socket_t, short, void* arg) {
  static_cast<MiFifoServer*>(arg)->check();
}

void MiFifoServer::on_readable(evutil_socket_t fd, short, void* arg) {
  auto* self = static_cast<MiFifoServer*>(arg);
  self->read_input(fd);
  self->pump();
}

// Reads what is there, up to the buffer limit.
void MiFifoServer::read_input(int fd) {
  while (in_.size() < limits_.max_buffer) {
    const size_t old = in_.size();
    const size_t want = std::min(kReadChunk, limits_.max_buffer - old);
    in_.resize(old + want);
    ssize_t n = ::read(fd, in_.data() + old, want);
    in_.resize(old + (n > 0 ? static_cast<size_t>(n) : 0));
    if (n > 0) continue;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
      LOG_ERR(kMod, "reading FIFO %s: %s", params_.fifo_name.c_str(), strerror(errno));
    break;  // EAGAIN, or EOF (cannot happen while the dummy writer is open)
  }
}

void MiFifoServer::drop_input(const char* why) {
  LOG_ERR(kMod, "%s; %zu buffered bytes dropped: %s", why, in_.size(), printable(in_, 64).c_str());
  ++counters_.refused;
  in_.clear();
  partial_since_ms_ = -1;
}

// Drops the bad or incomplete request at the front of the input: everything up to the next
// place where a request starts (or could start: its beginning is still arriving), or all of it.
void MiFifoServer::drop_front(const char* why) {
  size_t next = find_request_start(in_, 1, in_.size(), /*or_prefix=*/true);
  drop_front_until(next == std::string::npos ? in_.size() : next, why);
}

void MiFifoServer::drop_front_until(size_t n, const char* why) {
  if (n >= in_.size()) {
    drop_input(why);
    return;
  }
  const std::string_view dropped = std::string_view(in_).substr(0, n);
  LOG_ERR(kMod, "%s; %zu bytes dropped: %s", why, n, printable(dropped, 64).c_str());
  ++counters_.refused;
  in_.erase(0, n);
  partial_since_ms_ = -1;
}

// Takes the next complete request off the front of in_. Requests from different writers are
// kept apart: a request that is bad or still incomplete when a complete one from another
// writer follows it is dropped up to where that one starts, never together with it.
MiFifoServer::Next MiFifoServer::next_request(std::string* name, Json* request) {
  size_t skip = 0;
  while (skip < in_.size() && is_space(in_[skip])) ++skip;
  in_.erase(0, skip);
  if (in_.empty()) {
    partial_since_ms_ = -1;
    return Next::kNone;
  }
  auto incomplete = [&] {
    if (partial_since_ms_ < 0) partial_since_ms_ = monotonic_ms();
    return Next::kNone;
  };
  if (in_[0] != ':') {
    drop_front("command must begin with ':'");
    return Next::kSkipped;
  }
  const size_t colon = in_.find(':', 1);
  if (colon == std::string::npos) {
    if (in_.size() - 1 > kMaxNameScan) {
      drop_front("reply fifo name too long (no ':' after it)");
      return Next::kSkipped;
    }
    return incomplete();
  }
  if (colon - 1 > kMaxNameScan) {
    drop_front("reply fifo name too long");
    return Next::kSkipped;
  }
  const std::string_view body = std::string_view(in_).substr(colon + 1);
  const size_t extent = json_value_extent(body);
  if (extent == std::string_view::npos) {
    drop_front("cannot parse command (expected a JSON object after the reply fifo name)");
    return Next::kSkipped;
  }
  if (extent == 0) {
    // Unbalanced ("{not json") or its writer has not sent the rest yet: a complete request
    // behind it is another writer's, which it must not hold up.
    const size_t next = find_complete_request(in_, colon + 1, in_.size());
    if (next != std::string::npos) {
      drop_front_until(
          next, strprintf("incomplete request for reply fifo '%s' dropped: another request follows",
                          printable(std::string_view(in_).substr(1, colon - 1), 64).c_str())
                    .c_str());
      return Next::kSkipped;
    }
    return incomplete();
  }

  *name = in_.substr(1, colon - 1);
  const std::string text = in_.substr(colon + 1, extent);
  partial_since_ms_ = -1;
  auto refuse = [&](const std::string& why) {
    // What looked like one request may hold the start of another writer's complete one (the
    // first was cut short inside a string): keep that one.
    const size_t next = find_complete_request(in_, colon + 1, colon + 1 + extent);
    in_.erase(0, next != std::string::npos ? next : colon + 1 + extent);
    LOG_ERR(kMod, "%s", why.c_str());
    ++counters_.refused;
    return Next::kSkipped;
  };
  if (forbidden_name(*name)) {
    return refuse(strprintf("forbidden filename '%s': a reply fifo name has no '.', '/' or '\\'",
                            printable(*name, 64).c_str()));
  }
  if (json_depth(text) > kMaxDepth) {
    return refuse(
        strprintf("cannot parse command for reply fifo '%s': nested deeper than %d levels",
                  printable(*name, 64).c_str(), kMaxDepth));
  }
  Result<Json> parsed = Json::parse(text);
  if (!parsed.ok()) {
    return refuse(strprintf("cannot parse command for reply fifo '%s': %s",
                            printable(*name, 64).c_str(), parsed.message().c_str()));
  }
  in_.erase(0, colon + 1 + extent);
  *request = std::move(parsed).value();
  return Next::kGot;
}

// Takes requests off the input and starts them until nothing more can start: each request
// waits only for its own reply FIFO (one reply at a time per FIFO, in order) and for a free
// reply slot (Limits::max_replies). Re-entrant calls (from a reply that finished synchronously)
// return at once: the outer loop carries on.
void MiFifoServer::pump() {
  if (pumping_) return;
  pumping_ = true;
  for (;;) {
    bool progress = false;
    while (queued_.size() < limits_.max_queued) {
      std::string name;
      Json request;
      Next n = next_request(&name, &request);
      if (n == Next::kNone) break;
      progress = true;
      if (n == Next::kGot) queued_.push_back(Queued{std::move(name), std::move(request)});
    }
    progress = dispatch() || progress;
    if (!progress) break;
  }
  if (queued_.size() < limits_.max_queued && in_.size() >= limits_.max_buffer)
    drop_front("request does not fit in the input buffer");
  pumping_ = false;
  update_read_interest();
  update_partial_timer();
}

bool MiFifoServer::reply_busy(const std::string& path) const {
  return std::any_of(replies_.begin(), replies_.end(),
                     [&](const std::unique_ptr<Reply>& r) { return r->path == path; });
}

// Starts the queued requests that can start, in order; true when one did.
bool MiFifoServer::dispatch() {
  bool started = false;
  for (size_t i = 0; i < queued_.size() && replies_.size() < limits_.max_replies;) {
    Queued& q = queued_[i];
    if (q.name.empty()) {  // "::{…}": run, answer nobody
      Json request = std::move(q.request);
      queued_.erase(queued_.begin() + static_cast<std::ptrdiff_t>(i));
      ++counters_.requests;
      (void)mi_handle(*registry_, request);
      started = true;
      continue;
    }
    std::string path = params_.reply_dir + q.name;
    if (path.size() >= kMaxReplyPath) {
      LOG_ERR(kMod, "reply fifo path %s is too long (%zu bytes, the limit is %zu)",
              printable(path, 160).c_str(), path.size(), kMaxReplyPath - 1);
      ++counters_.replies_failed;
      queued_.erase(queued_.begin() + static_cast<std::ptrdiff_t>(i));
      started = true;
      continue;
    }
    if (reply_busy(path)) {  // the same reader gets its replies one after the other
      ++i;
      continue;
    }
    auto r = std::make_unique<Reply>();
    r->server = this;
    r->name = std::move(q.name);
    r->path = std::move(path);
    r->request = std::move(q.request);
    queued_.erase(queued_.begin() + static_cast<std::ptrdiff_t>(i));
    Reply* raw = r.get();
    replies_.push_back(std::move(r));
    started = true;
    try_open_reply(raw);  // may finish (and free) it at once
  }
  return started;
}

void MiFifoServer::update_read_interest() {
  if (!read_ev_) return;
  const bool want = in_.size() < limits_.max_buffer;
  if (want == reading_) return;
  if (want ? event_add(read_ev_.get(), nullptr) == 0 : event_del(read_ev_.get()) == 0)
    reading_ = want;
}

void MiFifoServer::update_partial_timer() {
  if (!partial_ev_) return;
  if (partial_since_ms_ < 0) {
    evtimer_del(partial_ev_.get());
    return;
  }
  if (evtimer_pending(partial_ev_.get(), nullptr)) return;
  struct timeval tv =
      ms_to_timeval(partial_since_ms_ + limits_.partial_request_ms - monotonic_ms());
  evtimer_add(partial_ev_.get(), &tv);
}

void MiFifoServer::on_partial_timer(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<MiFifoServer*>(arg);
  if (self->partial_since_ms_ < 0) return;
  if (monotonic_ms() - self->partial_since_ms_ >= self->limits_.partial_request_ms) {
    self->drop_front(
        strprintf("request incomplete after %d ms", self->limits_.partial_request_ms).c_str());
  }
  self->pump();
}

void MiFifoServer::on_retry_timer(evutil_socket_t, short, void* arg) {
  auto* r = static_cast<Reply*>(arg);
  r->server->try_open_reply(r);
}

// Opens the reply FIFO (without following a symlink, refusing anything but a FIFO with one
// link), runs the command and starts writing; retries later (from its own timer, while other
// requests go on) while nobody reads the FIFO.
void MiFifoServer::try_open_reply(Reply* reply) {
  Reply& r = *reply;
  const std::string shown = printable(r.path);
  const char* p = shown.c_str();
  struct stat st;
  if (lstat(r.path.c_str(), &st) != 0) {
    LOG_ERR(kMod, "cannot open reply fifo %s: %s", p, strerror(errno));
    finish_reply(reply, false);
    return;
  }
  const char* refusal = nullptr;
  if (!S_ISFIFO(st.st_mode)) {
    refusal = file_kind(st.st_mode);
  } else if (st.st_nlink != 1) {
    refusal = "hard-linked";
  } else if (st.st_dev == dev_ && st.st_ino == ino_) {
    refusal = "the MI FIFO itself";
  }
  if (refusal) {
    LOG_ERR(kMod, "refusing reply fifo %s: it is %s", p, refusal);
    finish_reply(reply, false);
    return;
  }
  int fd;
  do {
    fd = open(r.path.c_str(), O_WRONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    if (errno == ENXIO && r.attempts < limits_.reply_open_retries) {
      ++r.attempts;
      if (!r.retry_ev) r.retry_ev.reset(evtimer_new(base_, on_retry_timer, reply));
      struct timeval tv = ms_to_timeval(limits_.reply_open_interval_ms);
      if (r.retry_ev && evtimer_add(r.retry_ev.get(), &tv) == 0) return;
      LOG_ERR(kMod, "cannot wait for a client at %s: no timer", p);
      finish_reply(reply, false);
      return;
    }
    if (errno == ENXIO) {
      LOG_ERR(kMod, "no client at %s (nobody opened it for reading within %d ms)", p,
              limits_.reply_open_retries * limits_.reply_open_interval_ms);
    } else {
      LOG_ERR(kMod, "cannot open reply fifo %s: %s", p, strerror(errno));
    }
    finish_reply(reply, false);
    return;
  }
  r.fd.reset(fd);
  struct stat opened;
  if (fstat(fd, &opened) != 0 || !S_ISFIFO(opened.st_mode) || opened.st_nlink != 1 ||
      opened.st_dev != st.st_dev || opened.st_ino != st.st_ino) {
    LOG_ERR(kMod, "refusing reply fifo %s: it changed while being opened", p);
    finish_reply(reply, false);
    return;
  }

  ++counters_.requests;
  if (logger().enabled(LogLevel::kDebug)) {
    const Json* method = r.request.is_object() ? r.request.find("method") : nullptr;
    LOG_DBG(kMod, "running '%s' for reply fifo %s",
            method && method->is_string() ? printable(method->as_string()).c_str() : "?", p);
  }
  std::optional<Json> out = mi_handle(*registry_, r.request);
  if (!out) {  // a notification: the reader sees EOF with no data
    finish_reply(reply, true);
    return;
  }
  out->dump_to(&r.out);
  r.started_ms = r.progress_ms = monotonic_ms();
  write_reply(reply);
}

void MiFifoServer::write_reply(Reply* reply) {
  Reply& r = *reply;
  {
    SigpipeGuard guard;
    while (r.sent < r.out.size()) {
      ssize_t n = ::write(r.fd.get(), r.out.data() + r.sent, r.out.size() - r.sent);
      if (n > 0) {
        r.sent += static_cast<size_t>(n);
        r.progress_ms = monotonic_ms();
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      LOG_ERR(kMod, "writing the reply to %s: %s (%zu of %zu bytes sent)",
              printable(r.path).c_str(), n < 0 ? strerror(errno) : "nothing written", r.sent,
              r.out.size());
      finish_reply(reply, false);
      return;
    }
  }
  if (r.sent == r.out.size()) {
    finish_reply(reply, true);
    return;
  }
  const int64_t now = monotonic_ms();
  const int64_t wait = std::min(r.progress_ms + limits_.reply_stall_ms - now,
                                r.started_ms + limits_.reply_total_ms - now);
  if (!r.write_ev) {
    r.write_ev.reset(event_new(base_, r.fd.get(), EV_WRITE, on_writable, reply));
    if (!r.write_ev) {
      LOG_ERR(kMod, "cannot create a write event for %s", printable(r.path).c_str());
      finish_reply(reply, false);
      return;
    }
  }
  struct timeval tv = ms_to_timeval(wait);
  event_add(r.write_ev.get(), &tv);
}

void MiFifoServer::on_writable(evutil_socket_t, short what, void* arg) {
  auto* reply = static_cast<Reply*>(arg);
  MiFifoServer* self = reply->server;
  Reply& r = *reply;
  if (what & EV_TIMEOUT) {
    const int64_t now = monotonic_ms();
    const bool stalled = now - r.progress_ms >= self->limits_.reply_stall_ms;
    const bool too_long = now - r.started_ms >= self->limits_.reply_total_ms;
    if (stalled || too_long) {
      const std::string why =
          stalled ? strprintf("the reader took nothing for %d ms", self->limits_.reply_stall_ms)
                  : strprintf("not done within %d ms", self->limits_.reply_total_ms);
      LOG_ERR(kMod, "reply to %s abandoned: %s (%zu of %zu bytes sent)", printable(r.path).c_str(),
              why.c_str(), r.sent, r.out.size());
      self->finish_reply(reply, false);
      return;
    }
  }
  self->write_reply(reply);
}

// Ends a reply (closing the FIFO is the end-of-reply mark), frees it and moves on.
void MiFifoServer::finish_reply(Reply* reply, bool delivered) {
  if (delivered) {
    ++counters_.replies;
  } else {
    ++counters_.replies_failed;
  }
  auto it = std::find_if(replies_.begin(), replies_.end(),
                         [reply](const std::unique_ptr<Reply>& r) { return r.get() == reply; });
  if (it != replies_.end()) replies_.erase(it);
  pump();
}

}  // namespace sipsd
