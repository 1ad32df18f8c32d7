// JSON-RPC 2.0 over the MI command registry (OpenSIPS 3.x MI): validates one
// parsed request, picks the command's recipe from its params, runs the handler and builds the
// reply. No I/O: the transports (core/mi_fifo.h) parse the bytes and deliver the reply.
//
// Rules:
// - The request must be an object with "jsonrpc":"2.0", a string "method", "params" (optional)
//   an array or an object, and "id" (optional) a string, number or null; anything else is
//   -32600 "Invalid Request", always answered, with "id":null.
// - A request without "id" is a notification: the command runs and nothing is answered
//   (except -32600, above).
// - Unknown method (name or alias): -32601 "Method not found".
// - Params: absent, [] and {} mean none. An array picks the recipe with exactly that many
//   parameters (none: -32602 "Invalid params" / "Too few or too many parameters"; several:
//   "Ambiguous call, use named parameters instead"); an object picks the recipe with exactly
//   that set of names ("Named parameters do not match").
// - A handler's MiError becomes {"code","message"[,"data"]}; a handler that throws, or a
//   command without a handler, is -32000 "Server error" (exceptions stop here).
// - Reply members in the order jsonrpc, result|error, id; the id is echoed with its type.
#pragma once

#include <optional>

#include "core/mi/command.h"
#include "core/mi/json.h"

namespace sipsd {

// Handles one parsed request; returns the reply, or nullopt when none must be sent.
std::optional<Json> mi_handle(const MiRegistry& reg, const Json& request);

// {"jsonrpc":"2.0","error":{"code":…,"message":…[,"data":…]},"id":id}: for transports that
// answer errors of their own (e.g. -32700 "Parse error" over HTTP; the FIFO sends none).
Json mi_error_reply(const MiError& error, const Json& id);

// Adds the built-in commands that need the registry itself, at the current end of its list
// (so call it where they should appear in `which`'s output). The handlers keep `reg`: the
// registry must outlive them and stay where it is.
//   which           -> every command name in registration order, then every alias
//                      (opensips-cli refuses what is not listed; a 4.0 client may send an
//                      alias such as "tls_mgm:list")
//   which [X] / {"command":X}
//                   -> X's recipes as arrays of parameter names; 404 "unknown MI command"
//   help            -> "Usage: help mi_cmd - returns information about 'mi_cmd'"
//   help [X] / {"mi_cmd":X}
//                   -> {"Help":…, "Exported by":…}; 404 "unknown MI command"
void mi_add_builtins(MiRegistry* reg);

}  // namespace sipsd
