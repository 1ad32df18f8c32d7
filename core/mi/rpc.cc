#include "core/mi/rpc.h"

#include <algorithm>
#include <exception>
#include <string>
#include <variant>

#include "core/base/log.h"

namespace sipsd {

namespace {

constexpr const char* kUnknownCommand = "unknown MI command";

MiError invalid_request() {
  return MiError{kMiInvalidRequest, "Invalid Request", {}};
}

MiError invalid_params(std::string data) {
  return MiError{kMiInvalidParams, "Invalid params", std::move(data)};
}

Json result_reply(Json result, const Json& id) {
  Json reply = Json::object();
  reply.add("jsonrpc", "2.0");
  reply.add("result", std::move(result));
  reply.add("id", id);
  return reply;
}

bool valid_id(const Json& id) {
  return id.is_string() || id.is_number() || id.is_null();
}

// Picks the recipe the params select and fills `out`; an MiError when none (or several) do.
std::optional<MiError> bind_params(const MiCommand& cmd, const Json* params, MiParams* out) {
  const bool none = params == nullptr || params->size() == 0;
  if (none || params->is_array()) {
    const size_t n = none ? 0 : params->size();
    const std::vector<std::string>* match = nullptr;
    for (const auto& recipe : cmd.recipes) {
      if (recipe.size() != n) continue;
      if (match != nullptr) return invalid_params("Ambiguous call, use named parameters instead");
      match = &recipe;
    }
    if (match == nullptr) return invalid_params("Too few or too many parameters");
    for (size_t i = 0; i < n; ++i) out->set((*match)[i], params->items()[i]);
    return std::nullopt;
  }
  // Named: the recipe with exactly this set of names (the parser keeps keys unique).
  for (const auto& recipe : cmd.recipes) {
    if (recipe.size() != params->size()) continue;
    const bool same = std::all_of(recipe.begin(), recipe.end(), [&](const std::string& name) {
      return params->find(name) != nullptr;
    });
    if (!same) continue;
    for (const std::string& name : recipe) out->set(name, *params->find(name));
    return std::nullopt;
  }
  return invalid_params("Named parameters do not match");
}

MiResult run_handler(const MiCommand& cmd, const MiParams& params) {
  if (!cmd.handler) return MiError{kMiServerError, "Server error", "Command handler returned null"};
  try {
    return cmd.handler(params);
  } catch (const std::exception& e) {
    LOG_ERR("mi", "command '%s' failed: %s", cmd.name.c_str(), e.what());
  } catch (...) {
    LOG_ERR("mi", "command '%s' failed with an unknown exception", cmd.name.c_str());
  }
  return MiError{kMiServerError, "Server error", "Command handler failed"};
}

// The command's name from `which`/`help` params (bound to `param`), or the error.
std::variant<const MiCommand*, MiError> named_command(const MiRegistry& reg, const MiParams& p,
                                                      std::string_view param) {
  auto name = p.get_string(param);
  if (auto* err = std::get_if<MiError>(&name)) return *err;
  const MiCommand* cmd = reg.find(std::get<std::string>(name));
  if (cmd == nullptr) return MiError{404, kUnknownCommand, {}};
  return cmd;
}

}  // namespace

Json mi_error_reply(const MiError& error, const Json& id) {
  Json reply = Json::object();
  reply.add("jsonrpc", "2.0");
  Json& e = reply.add("error", Json::object());
  e.add("code", error.code);
  e.add("message", error.message);
  if (!error.data.empty()) e.add("data", error.data);
  reply.add("id", id);
  return reply;
}

std::optional<Json> mi_handle(const MiRegistry& reg, const Json& request) {
  if (!request.is_object()) return mi_error_reply(invalid_request(), Json());
  const Json* version = request.find("jsonrpc");
  const Json* method = request.find("method");
  const Json* params = request.find("params");
  const Json* id = request.find("id");
  if (version == nullptr || !version->is_string() || version->as_string() != "2.0" ||
      method == nullptr || !method->is_string() ||
      (params != nullptr && !params->is_array() && !params->is_object()) ||
      (id != nullptr && !valid_id(*id))) {
    return mi_error_reply(invalid_request(), Json());
  }

  const MiCommand* cmd = reg.find(method->as_string());
  MiParams bound;
  std::optional<MiError> error;
  if (cmd == nullptr) {
    error = MiError{kMiMethodNotFound, "Method not found", {}};
  } else {
    error = bind_params(*cmd, params, &bound);
  }
  MiResult result = error ? MiResult(*error) : run_handler(*cmd, bound);

  if (id == nullptr) return std::nullopt;  // a notification
  if (auto* err = std::get_if<MiError>(&result)) return mi_error_reply(*err, *id);
  return result_reply(std::move(std::get<Json>(result)), *id);
}

void mi_add_builtins(MiRegistry* reg) {
  const MiRegistry* r = reg;
  MiCommand which;
  which.name = "which";
  which.help = "lists the MI commands, or the parameter sets (recipes) of one";
  which.recipes = {{}, {"command"}};
  which.handler = [r](const MiParams& p) -> MiResult {
    if (!p.has("command")) {
      Json names = Json::array();
      for (const MiCommand& c : r->commands()) names.push(c.name);
      for (const MiCommand& c : r->commands())
        for (const std::string& alias : c.aliases) names.push(alias);
      return names;
    }
    auto cmd = named_command(*r, p, "command");
    if (auto* err = std::get_if<MiError>(&cmd)) return *err;
    Json recipes = Json::array();
    for (const auto& recipe : std::get<const MiCommand*>(cmd)->recipes) {
      Json& names = recipes.push(Json::array());
      for (const std::string& name : recipe) names.push(name);
    }
    return recipes;
  };
  reg->add(std::move(which));

  MiCommand help;
  help.name = "help";
  help.help = "describes an MI command and names the module that exports it";
  help.recipes = {{}, {"mi_cmd"}};
  help.handler = [r](const MiParams& p) -> MiResult {
    if (!p.has("mi_cmd")) return Json("Usage: help mi_cmd - returns information about 'mi_cmd'");
    auto cmd = named_command(*r, p, "mi_cmd");
    if (auto* err = std::get_if<MiError>(&cmd)) return *err;
    const MiCommand* c = std::get<const MiCommand*>(cmd);
    Json info = Json::object();
    info.add("Help", c->help);
    info.add("Exported by", c->module);
    return info;
  };
  reg->add(std::move(help));
}

}  // namespace sipsd
