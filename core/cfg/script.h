// The route script: compiled once from the cfg AST at start (core/script.cc), interpreted per
// message in a worker. The interpreter reaches the message and the connection only through
// ScriptEnv, so it can be unit-tested without sockets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "core/base/log.h"
#include "core/cfg/pv.h"

namespace sipsd {

class ScriptEnv {
 public:
  virtual ~ScriptEnv() = default;
  // The value of a pseudo-variable for the current message; nullopt = NULL (not present).
  // The view stays valid until the script run ends. is_peer_verified() is
  // pv(PvId::kTlsPeerVerified) == "1".
  virtual std::optional<std::string_view> pv(PvId id) = 0;
  // sl_send_reply(code, reason): > 0 on success, < 0 on failure (script truth value).
  virtual int sl_send_reply(int code, std::string_view reason) = 0;
  // xlog output, already formatted (variables substituted, trailing newline removed).
  virtual void xlog(LogLevel level, std::string_view text) = 0;
};

enum class ScriptOutcome : uint8_t {
  kEnd,   // the main route ran to its end
  kExit,  // `exit` (or return(0))
  kDrop,  // `drop`
};

}  // namespace sipsd

namespace sipsd {

class CfgScriptBuilder;  // core/script.cc builds a Script from the parsed cfg

// A compiled, immutable route script, shared by every message a process handles.
class Script {
 public:
  ~Script();
  Script(const Script&) = delete;
  Script& operator=(const Script&) = delete;

  // Runs the main request route (`route { ... }` / `route[0]`) for one request. A script
  // without a main route returns kEnd at once.
  ScriptOutcome run_request(ScriptEnv& env) const;

  struct Impl;

 private:
  friend class CfgScriptBuilder;
  explicit Script(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sipsd
