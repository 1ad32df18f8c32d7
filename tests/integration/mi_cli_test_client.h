// A stand-in for `opensips-cli -x mi CMD ARGS...` (not packaged for Debian), for testing that
// sipsd's MI FIFO works with the real CLI. It does what opensips-cli does, in its order (see
// the MI reference, B5), with a timeout where the CLI would block forever:
//
//   1. the FIFO must exist and open for writing (opened and closed, nothing written);
//   2. `which` is sent first with "params":{}; a command not in its list is refused locally
//      ("no command 'X' in module 'mi'") and never sent;
//   3. params: positional arguments as strings, `k=v` as an object of strings, {} for none,
//      the array parameter of get/list/reset_statistics grouped (mi_params_from_args);
//   4. each request: a random decimal string id, a reply FIFO
//      /tmp/opensips_fifo_reply_<pid>_<time>_<n> with mode 0666, the request written, then the
//      reply FIFO opened for reading (after the write, as the CLI does: the server has to retry
//      its open), ONE readline() (up to '\n' or EOF), the FIFO unlinked;
//   5. a line that is not JSON is "could not decode json: '<line>'"; a reply without "result" is
//      an error (the CLI's -32603 when there is no "error" object either).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "core/base/result.h"
#include "core/mi/json.h"

namespace sipsd::test {

struct OpensipsCliOptions {
  std::string fifo = "/tmp/opensips_fifo";
  std::string reply_dir = "/tmp";  // opensips-cli's fifo_reply_dir
  // Per exchange; opensips-cli has none (it blocks), a test must not.
  std::chrono::milliseconds timeout{5000};
};

// What one `opensips-cli -x mi CMD ARGS...` run did.
struct OpensipsCliRun {
  bool ok = false;  // the reply had a "result"
  Json result;      // when ok
  // When !ok: the error object's code/message/data (-32603 "Internal error" when the reply had
  // neither result nor error; 0 when there was no usable reply at all).
  int code = 0;
  std::string message;
  std::string data;
  std::string error;                  // what the CLI would print
  std::vector<std::string> requests;  // every request written to the FIFO (which first)
  std::vector<std::string> lines;     // every reply line read
};

OpensipsCliRun opensips_cli_run(const OpensipsCliOptions& options, const std::string& command,
                                const std::vector<std::string>& args);

// The result on success; otherwise an Error whose message is what opensips-cli would print.
Result<Json> opensips_cli_mi(const std::string& fifo, const std::string& command,
                             const std::vector<std::string>& args);
Result<Json> opensips_cli_mi(const OpensipsCliOptions& options, const std::string& command,
                             const std::vector<std::string>& args);

}  // namespace sipsd::test
