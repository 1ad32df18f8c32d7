// The client side of the management FIFO (OpenSIPS 3.x mi_fifo, JSON-RPC 2.0): what sipsctl
// uses, and what tests use to talk to a running sipsd. One call = one exchange:
//
//   mkfifo <reply_dir>/sipsctl_reply_<pid>_<time>_<rand>    (mode 0600 unless told otherwise)
//   open it for reading (non-blocking: the server's non-blocking open finds a reader at once)
//   write ":<reply name>:<request JSON>" to the server FIFO in one write (<= PIPE_BUF: atomic)
//   poll + read until the server closes its end (EOF = end of reply), bounded by a timeout
//   unlink the reply FIFO (on every path)
//
// Only the reply FIFO's base name travels in the request; the server looks it up in its own
// `reply_dir`, so the client's reply_dir must be the same directory.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <csignal>
#include <string>
#include <vector>

#include "core/base/result.h"
#include "core/base/unique_fd.h"
#include "core/mi/json.h"

namespace sipsd {

inline constexpr const char* kMiDefaultFifo = "/tmp/opensips_fifo";  // mi_fifo's fifo_name
inline constexpr const char* kMiDefaultReplyDir = "/tmp/";           // mi_fifo's reply_dir
// The server reads requests 4096 bytes at a time; a write up to PIPE_BUF is atomic.
inline constexpr size_t kMiMaxRequest = 4096;
// OpenSIPS refuses reply paths (reply_dir + name) of 128 bytes or more.
inline constexpr size_t kMiMaxReplyPath = 127;

struct MiClientOptions {
  std::string fifo = kMiDefaultFifo;
  std::string reply_dir = kMiDefaultReplyDir;
  // For the whole exchange: sending, waiting for the server, reading the reply.
  std::chrono::milliseconds timeout{5000};
  // Both sides normally run as the same user; opensips-cli uses 0666 for a server that drops
  // privileges to another user.
  mode_t reply_mode = 0600;
  std::string reply_prefix = "sipsctl_reply_";
  // A server that closes the reply FIFO without writing (a notification, or `kill`/`shutdown`
  // racing its own exit) yields a null Json instead of an error.
  bool allow_empty_reply = false;
  // Checked when a wait is interrupted by a signal: set by a SIGINT handler, it ends the call
  // (reply FIFO removed) instead of waiting out the timeout.
  const volatile sig_atomic_t* interrupted = nullptr;
};

// Calls `method` with `params` (an array, an object, or null for none): returns the whole
// JSON-RPC response object, with either "result" or "error" (the caller decides what an error
// reply means). An Error means the exchange itself failed: no FIFO, no server reading it, no
// reply within the timeout, a reply that is not JSON or answers another id.
Result<Json> mi_call(const MiClientOptions& options, const std::string& method, const Json& params);

// The request object: {"jsonrpc":"2.0","method":M,"params":P,"id":ID}; "params" is left out
// when `params` is null.
Json mi_request(const std::string& method, const Json& params, const std::string& id);
// A random decimal string, as opensips-cli sends.
std::string mi_random_id();
// "<prefix><pid>_<seconds>_<random>": no '.', '/' or '\' (the server refuses those).
std::string mi_reply_fifo_name(const std::string& prefix);
// Whether the server would accept `name` as a reply FIFO name.
bool mi_reply_name_ok(const std::string& name);

// The lower layer, shared with the opensips-cli look-alike of the tests.

// Opens the server FIFO for writing without blocking: it must exist, be a FIFO and have a
// reader (ENXIO = nobody reads it = sipsd is not running).
Result<UniqueFd> mi_open_server_fifo(const std::string& path);
// Writes `data` whole to a non-blocking fd, waiting for room until `deadline`.
Status mi_write_all(int fd, const std::string& data, std::chrono::steady_clock::time_point deadline,
                    const volatile sig_atomic_t* interrupted = nullptr);

// A reply FIFO, removed when this object goes away.
class MiReplyFifo {
 public:
  // mkfifo <dir>/<name> with exactly `mode` (umask does not apply); a fresh name is drawn
  // when one exists already.
  static Result<MiReplyFifo> create(const std::string& dir, const std::string& prefix, mode_t mode);
  MiReplyFifo() = default;
  ~MiReplyFifo();
  MiReplyFifo(MiReplyFifo&& o) noexcept;
  MiReplyFifo& operator=(MiReplyFifo&& o) noexcept;
  MiReplyFifo(const MiReplyFifo&) = delete;
  MiReplyFifo& operator=(const MiReplyFifo&) = delete;

  const std::string& name() const { return name_; }  // what goes into the request
  const std::string& path() const { return path_; }
  // Opens the read end (non-blocking, no symlink followed; the fd stays owned here).
  Status open_for_reading();
  int fd() const { return fd_.get(); }
  // Reads until the writer closes (EOF) or, with stop_at_newline, until the first '\n'
  // (kept). Waits for a writer to appear; an error once `deadline` passes.
  Result<std::string> read_reply(std::chrono::steady_clock::time_point deadline,
                                 bool stop_at_newline = false,
                                 const volatile sig_atomic_t* interrupted = nullptr);
  // Closes and unlinks now (the destructor does the same).
  void remove();

 private:
  std::string name_;
  std::string path_;
  UniqueFd fd_;
};

// Command-line arguments to MI params, as opensips-cli builds them:
// - no arguments: {} (opensips-cli always sends params);
// - every argument `name=value` (name: letters, digits, '_'): an object of strings;
// - otherwise positional: an array of strings; mixing the two forms is an error;
// - commands with an array parameter (get_statistics, list_statistics, reset_statistics and
//   their 4.0 names statistics:get/list/reset): the positional arguments from that parameter's
//   position on are grouped into one array (`get_statistics core: tls:` → [["core:","tls:"]]);
//   in the named form the value is split like a shell line (statistics='a b' → ["a","b"]).
Result<Json> mi_params_from_args(const std::string& command, const std::vector<std::string>& args);

// Splits a shell-like line on blanks, honouring '…' and "…" quoting and backslash escapes.
std::vector<std::string> mi_split_words(const std::string& line);

// The message of an error reply: "<code> <message>[: <data>]"; empty if `response` has no
// "error" object.
std::string mi_error_text(const Json& response);

}  // namespace sipsd
