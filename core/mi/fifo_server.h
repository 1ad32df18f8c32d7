// MiFifoServer: OpenSIPS's mi_fifo transport (3.x wire format) on a libevent loop. It never
// blocks the loop: the request FIFO is read non-blocking, reply FIFOs are opened and written
// non-blocking, and waits (a client that has not opened its reply FIFO yet, a slow reader) are
// timers and write events.
//
// Requests: `:reply_name:{JSON-RPC 2.0 object}`, several back to back (whitespace between them
// is skipped), a request may arrive in pieces. Each is handled by mi_handle() (core/mi_rpc.h)
// and the reply, one line of compact JSON without a trailing newline, goes to
// reply_dir + reply_name; closing that FIFO marks the end of the reply. An empty name
// (`::{…}`) runs the command and sends nothing; a notification (no "id") gets its reply FIFO
// opened and closed empty.
//
// Refused, each with a log line (module "mi_fifo"), never a reply:
// - input not starting with ':' ("command must begin with ':'"), text after the name that does
//   not start a JSON object or array ("cannot parse command"), a name longer than 255 bytes,
//   an incomplete request still incomplete after Limits::partial_request_ms or filling the whole
//   buffer: the input is dropped up to the next place where a request starts (":name:{" or
//   ":name:["), or all of it; JSON that is delimited but invalid, or nested deeper than 32
//   levels, drops just that request;
// - reply names containing '.', '/', '\' or a control byte ("forbidden filename"); reply paths
//   of 128 bytes or more;
// - a reply path that does not exist, is a symlink, is not a FIFO, has more than one hard link,
//   or is the MI FIFO itself; a reply FIFO nobody opens for reading within 1 + 4 attempts
//   80 ms apart ("no client at …"). In all these cases the command is NOT run: as in OpenSIPS
//   the reply FIFO is opened first, and a command nobody can hear the answer to is not run.
//
// Isolation between clients (several writers share the FIFO; each request is one write of at
// most PIPE_BUF bytes, which the kernel never interleaves with another):
// - a request that is incomplete (its writer holds the rest, or it is unbalanced like
//   `:x:{not json`) never delays a complete one behind it: when a complete JSON-RPC request
//   (an object with "jsonrpc" or "method", at most PIPE_BUF bytes) starts after it, the
//   incomplete one is logged and dropped and the complete one runs at once. Inside an
//   incomplete request, a reply name is recognised only when made of bytes that are not JSON
//   punctuation, blanks, '.', '/' or '\', so ordinary JSON text is not taken for a new request;
//   a split request whose own text holds a complete `:name:{"method":…}` would be cut there
//   (the price of never letting one writer hold up the others);
// - replies are independent: each request waits only for its own reply FIFO (one reply at a
//   time per FIFO, in arrival order) with its own retry timer and write event, so a reply FIFO
//   nobody opens (up to 320 ms) or a slow reader delays no other client. At most
//   Limits::max_replies replies are in progress and Limits::max_queued requests wait; beyond
//   that requests stay in the input buffer (at most Limits::max_buffer bytes; beyond that the
//   FIFO is not read, so writers see a full pipe). Requests to different reply FIFOs may
//   therefore run in another order than they arrived (OpenSIPS runs them one by one).
// A reply is abandoned when its reader takes nothing for Limits::reply_stall_ms or the whole
// reply takes longer than Limits::reply_total_ms.
//
// The FIFO: created at fifo_name with fifo_mode (chmod'ed, so the umask does not matter) and
// chown'ed to fifo_user/fifo_group when given. A stale FIFO left at that path is replaced; a
// FIFO that another process is reading is not ("in use"); anything else at that path (file,
// directory, symlink, socket) is never removed: start() fails. The server keeps a dummy
// writer open so reads never see EOF. check() (every Limits::check_interval_ms, and whenever
// the owner calls it, e.g. on SIGHUP) recreates the FIFO if it was deleted or replaced; the
// destructor removes it if it is still the one the server created.
//
// Single-threaded: everything runs on `base`'s loop thread. A command handler must not destroy
// the server it runs under (stop the loop instead); SIGPIPE from a vanished reader is
// contained whatever the process's SIGPIPE disposition.
#pragma once

#include <event2/event.h>
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/base/event_ptr.h"
#include "core/base/result.h"
#include "core/base/unique_fd.h"
#include "core/cfg/config.h"
#include "core/mi/command.h"
#include "core/mi/json.h"

namespace sipsd {

class MiFifoServer {
 public:
  // Fixed in OpenSIPS; parameters here so that tests can shorten them.
  struct Limits {
    size_t max_buffer = 64 * 1024;    // buffered request bytes
    int reply_open_retries = 4;       // after the first attempt (OpenSIPS FIFO_REPLY_RETRIES)
    int reply_open_interval_ms = 80;  // between attempts (OpenSIPS FIFO_REPLY_WAIT)
    int reply_stall_ms = 2000;        // the reader took nothing for this long: give up
    int reply_total_ms = 30000;       // a reply may take at most this long in total
    int partial_request_ms = 2000;    // an incomplete request is dropped after this long
    int check_interval_ms = 30000;    // how often check() runs by itself
    size_t max_replies = 64;          // replies in progress at once (opening or writing)
    size_t max_queued = 256;          // requests taken off the input, waiting to start
  };

  // What happened so far (for tests and statistics).
  struct Counters {
    uint64_t requests = 0;        // commands run (with or without a reply)
    uint64_t replies = 0;         // reply FIFOs written completely (or closed empty) and closed
    uint64_t replies_failed = 0;  // reply FIFO missing, refused, no reader, write failed/timed out
    uint64_t refused = 0;         // input dropped: framing, name, JSON, size, time
    uint64_t fifo_recreated = 0;  // check() found the FIFO gone or replaced and made a new one
  };

  // Creates the FIFO and starts serving `registry` on `base`. `registry` must outlive the
  // server. Fails (nothing left behind) when the FIFO's directory is missing, the path holds
  // something that is not a FIFO or a FIFO in use, fifo_user/fifo_group are unknown, or a
  // system call fails; the message names the path.
  static Result<std::unique_ptr<MiFifoServer>> start(struct event_base* base,
                                                     const MiFifoParams& params,
                                                     const MiRegistry* registry,
                                                     const Limits& limits);
  static Result<std::unique_ptr<MiFifoServer>> start(struct event_base* base,
                                                     const MiFifoParams& params,
                                                     const MiRegistry* registry) {
    return start(base, params, registry, Limits{});
  }

  // Verifies that fifo_name is still the FIFO this server reads; recreates it when it was
  // deleted or replaced by another FIFO (something else at the path is logged, not touched).
  void check();

  // Removes the FIFO (if it is still ours) and closes every descriptor; a reply being written
  // is cut short.
  ~MiFifoServer();

  MiFifoServer(const MiFifoServer&) = delete;
  MiFifoServer& operator=(const MiFifoServer&) = delete;

  const std::string& path() const { return params_.fifo_name; }
  const Counters& counters() const { return counters_; }

 private:
  struct Queued;  // a request waiting to start
  struct Reply;   // a request being answered
  enum class Next { kNone, kSkipped, kGot };

  MiFifoServer(struct event_base* base, const MiFifoParams& params, const MiRegistry* registry,
               const Limits& limits);

  Status create_fifo(bool at_start);
  Status arm_reader();
  static void on_readable(evutil_socket_t fd, short what, void* arg);
  static void on_check_timer(evutil_socket_t fd, short what, void* arg);
  static void on_partial_timer(evutil_socket_t fd, short what, void* arg);
  static void on_retry_timer(evutil_socket_t fd, short what, void* arg);
  static void on_writable(evutil_socket_t fd, short what, void* arg);

  void read_input(int fd);
  void pump();
  bool dispatch();
  bool reply_busy(const std::string& path) const;
  Next next_request(std::string* name, Json* request);
  void drop_input(const char* why);
  void drop_front(const char* why);
  void drop_front_until(size_t n, const char* why);
  void try_open_reply(Reply* reply);
  void write_reply(Reply* reply);
  void finish_reply(Reply* reply, bool delivered);
  void update_read_interest();
  void update_partial_timer();

  struct event_base* base_;
  MiFifoParams params_;
  const MiRegistry* registry_;
  Limits limits_;
  Counters counters_;

  uid_t uid_ = static_cast<uid_t>(-1);  // chown targets (-1 = unchanged)
  gid_t gid_ = static_cast<gid_t>(-1);
  UniqueFd read_fd_;
  UniqueFd dummy_writer_;
  dev_t dev_ = 0;  // the FIFO we created
  ino_t ino_ = 0;

  std::string in_;                 // buffered, not yet handled request bytes
  int64_t partial_since_ms_ = -1;  // since when in_ holds an incomplete request (idle only)
  bool reading_ = false;           // read_ev_ is armed
  bool pumping_ = false;
  std::vector<Queued> queued_;  // vector: Queued is incomplete here
  std::vector<std::unique_ptr<Reply>> replies_;

  // Declared after the descriptors: destroyed (unregistered) before them.
  EventPtr read_ev_;
  EventPtr check_ev_;
  EventPtr partial_ev_;
};

}  // namespace sipsd
