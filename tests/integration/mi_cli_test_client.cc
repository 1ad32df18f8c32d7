#include "tests/integration/mi_cli_test_client.h"

#include <unistd.h>

#include <algorithm>

#include "core/base/unique_fd.h"
#include "core/ctl/mi_client.h"

namespace sipsd::test {

namespace {

using Clock = std::chrono::steady_clock;

// One request/reply as opensips-cli's FIFO communication does it. Fills `run` with the error
// and returns false when there is no "result".
bool exchange(const OpensipsCliOptions& options, const std::string& method, const Json& params,
              OpensipsCliRun* run, Json* result) {
  const auto deadline = Clock::now() + options.timeout;
  const std::string request = mi_request(method, params, mi_random_id()).dump();

  Result<MiReplyFifo> reply = MiReplyFifo::create(options.reply_dir, "opensips_fifo_reply_", 0666);
  if (!reply.ok()) {
    run->error = reply.message();
    return false;
  }
  // Written first, read after: the server finds no reader at its first try and must retry,
  // exactly as with the real CLI.
  Result<UniqueFd> server = mi_open_server_fifo(options.fifo);
  if (!server.ok()) {
    run->error = server.message();
    return false;
  }
  UniqueFd server_fd = std::move(server).value();
  std::string wire = ":" + reply->name() + ":" + request;
  run->requests.push_back(wire);
  if (Status s = mi_write_all(server_fd.get(), wire, deadline); !s.ok()) {
    run->error = s.message();
    return false;
  }
  server_fd.reset();
  if (Status s = reply->open_for_reading(); !s.ok()) {
    run->error = s.message();
    return false;
  }
  Result<std::string> line = reply->read_reply(deadline, /*stop_at_newline=*/true);
  reply->remove();  // the CLI unlinks right after its one readline()
  if (!line.ok()) {
    run->error = line.message() == "timeout"
                     ? "no reply to '" + method + "' (opensips-cli would wait forever)"
                     : line.message();
    return false;
  }
  run->lines.push_back(*line);

  Result<Json> response = Json::parse(*line);
  if (!response.ok() || !response->is_object()) {
    std::string shown = *line;
    if (!shown.empty() && shown.back() == '\n') shown.pop_back();
    run->error = "could not decode json: '" + shown + "'";
    return false;
  }
  if (const Json* r = response->find("result")) {
    *result = *r;
    return true;
  }
  const Json* error = response->find("error");
  if (error != nullptr && error->is_object()) {
    const Json* code = error->find("code");
    const Json* message = error->find("message");
    const Json* data = error->find("data");
    run->code = code && code->is_number() ? static_cast<int>(code->as_int()) : 0;
    run->message = message && message->is_string() ? message->as_string() : "";
    if (data && !data->is_null()) run->data = data->is_string() ? data->as_string() : data->dump();
  } else {
    run->code = -32603;
    run->message = "Internal error";
  }
  run->error = "command '" + method +
               "' returned: Error executing command: " + std::to_string(run->code) + ": " +
               run->message + (run->data.empty() ? "" : " (" + run->data + ")");
  return false;
}

}  // namespace

OpensipsCliRun opensips_cli_run(const OpensipsCliOptions& options, const std::string& command,
                                const std::vector<std::string>& args) {
  OpensipsCliRun run;
  // Start-up check: the FIFO exists and opens for writing; nothing is written.
  if (Result<UniqueFd> probe = mi_open_server_fifo(options.fifo); !probe.ok()) {
    run.error = probe.message();
    return run;
  }

  Json commands;
  if (!exchange(options, "which", Json::object(), &run, &commands)) return run;
  bool listed = commands.is_array() &&
                std::any_of(commands.items().begin(), commands.items().end(), [&](const Json& c) {
                  return c.is_string() && c.as_string() == command;
                });
  if (!listed) {
    run.error = "no command '" + command + "' in module 'mi'";
    return run;
  }

  Result<Json> params = mi_params_from_args(command, args);
  if (!params.ok()) {
    run.error = params.message();
    return run;
  }
  run.ok = exchange(options, command, *params, &run, &run.result);
  return run;
}

Result<Json> opensips_cli_mi(const OpensipsCliOptions& options, const std::string& command,
                             const std::vector<std::string>& args) {
  OpensipsCliRun run = opensips_cli_run(options, command, args);
  if (!run.ok) return make_error(run.error);
  return std::move(run.result);
}

Result<Json> opensips_cli_mi(const std::string& fifo, const std::string& command,
                             const std::vector<std::string>& args) {
  OpensipsCliOptions options;
  options.fifo = fifo;
  return opensips_cli_mi(options, command, args);
}

}  // namespace sipsd::test
