// For the MI unit tests: a bare MiCommand (a name, its recipes and a handler), and JSON-RPC
// calls against a registry exactly as a transport makes them.
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/mi/command.h"
#include "core/mi/json.h"
#include "core/mi/rpc.h"

namespace sipsd::test {

inline MiCommand command(std::string name, std::vector<std::vector<std::string>> recipes,
                         MiHandler handler) {
  MiCommand c;
  c.name = std::move(name);
  c.recipes = std::move(recipes);
  c.handler = std::move(handler);
  return c;
}

// {"jsonrpc":"2.0","method":M[,"params":P],"id":1} through mi_handle: the whole reply object
// (with "result" or "error"); null if no reply came.
inline Json mi_call(const MiRegistry& reg, const std::string& method, Json params = Json()) {
  Json request = Json::object();
  request.add("jsonrpc", "2.0");
  request.add("method", method);
  if (!params.is_null()) request.add("params", std::move(params));
  request.add("id", 1);
  std::optional<Json> reply = mi_handle(reg, request);
  return reply ? std::move(*reply) : Json();
}

// Positional params: ["a","b"].
inline Json mi_args(std::initializer_list<std::string> items) {
  Json a = Json::array();
  for (const std::string& s : items) a.push(s);
  return a;
}

// The one array parameter of the statistics commands: [["a","b"]].
inline Json mi_selectors(std::initializer_list<std::string> items) {
  Json a = Json::array();
  a.push(mi_args(items));
  return a;
}

}  // namespace sipsd::test
