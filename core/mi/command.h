// MI commands (OpenSIPS's management interface model): a command has a name, the parameter
// sets it accepts ("recipes", e.g. log_level: [], [level], [level, pid]) and a handler. The
// JSON-RPC layer (core/mi_rpc.h) picks the recipe from the request's params and hands the
// handler the parameters by name; handlers return a JSON result or an MI error.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/mi/json.h"

namespace sipsd {

// JSON-RPC / OpenSIPS MI error codes.
inline constexpr int kMiInvalidRequest = -32600;
inline constexpr int kMiMethodNotFound = -32601;
inline constexpr int kMiInvalidParams = -32602;
inline constexpr int kMiServerError = -32000;

struct MiError {
  int code = 500;
  std::string message;
  std::string data;  // optional
};

inline MiError mi_error(int code, std::string message, std::string data = "") {
  return MiError{code, std::move(message), std::move(data)};
}
// -32602 "Invalid params" with OpenSIPS's data string ("Bad type for parameter 'level'").
inline MiError mi_invalid_params(std::string data) {
  return mi_error(kMiInvalidParams, "Invalid params", std::move(data));
}

// The parameters of the matched recipe, by name. Typing is lenient as in OpenSIPS: an integer
// parameter also takes a numeric string, a string parameter also takes a number.
class MiParams {
 public:
  MiParams() = default;
  void set(std::string name, Json value) {
    values_.emplace_back(std::move(name), std::move(value));
  }

  bool has(std::string_view name) const { return find(name) != nullptr; }
  const Json* find(std::string_view name) const;
  // Errors are the OpenSIPS ones: -32602 "Invalid params", data "Bad type for parameter 'X'".
  std::variant<int64_t, MiError> get_int(std::string_view name) const;
  std::variant<std::string, MiError> get_string(std::string_view name) const;
  // A JSON array of strings (numbers accepted): "Bad type for array item in parameter 'X'",
  // "Empty array in parameter 'X'".
  std::variant<std::vector<std::string>, MiError> get_string_array(std::string_view name) const;

 private:
  std::vector<std::pair<std::string, Json>> values_;
};

using MiResult = std::variant<Json, MiError>;

// For the MiParams getters: true (and *out set) when `v` holds an error.
template <class T>
bool mi_failed(const std::variant<T, MiError>& v, MiError* out) {
  if (const MiError* e = std::get_if<MiError>(&v)) {
    *out = *e;
    return true;
  }
  return false;
}
using MiHandler = std::function<MiResult(const MiParams&)>;

struct MiCommand {
  std::string name;
  std::string help;                                      // `help <name>`: "Help"
  std::string module = "core";                           // `help <name>`: "Exported by"
  std::vector<std::vector<std::string>> recipes = {{}};  // each a list of parameter names
  MiHandler handler;
  std::vector<std::string> aliases;  // OpenSIPS 4.0 names, e.g. "tls_mgm:list"
};

class MiRegistry {
 public:
  void add(MiCommand cmd) { commands_.push_back(std::move(cmd)); }
  // By name or alias (exact, case-sensitive), or null.
  const MiCommand* find(std::string_view name) const;
  // In registration order: what `which` lists.
  const std::vector<MiCommand>& commands() const { return commands_; }
  // Keeps an object the handlers point into alive as long as the registry.
  void keep_alive(std::shared_ptr<void> owner) { owners_.push_back(std::move(owner)); }

 private:
  std::vector<MiCommand> commands_;
  std::vector<std::shared_ptr<void>> owners_;
};

}  // namespace sipsd
