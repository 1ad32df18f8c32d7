// loose_route() (OpenSIPS rr): Route processing of a request (RFC 3261 §16.4, §16.12), strict
// routers included. Removes the Route values that name this proxy (one, or two when the first
// carries ;r2=on from a double Record-Route — the second then says which socket to leave from),
// and finds the next hop in what remains:
//   - a next Route with ;lr: it becomes $du;
//   - a next Route without ;lr (a strict router): it becomes the Request-URI, and the
//     Request-URI goes to the end of the Route set;
//   - a Request-URI that names this proxy (the previous hop was a strict router): the last
//     Route becomes the Request-URI.
// Return values are OpenSIPS's: 1 when the next hop comes from the Route set (also when an
// in-dialog request's own Route was the last one, so the Request-URI is the next hop), -1 when
// there is no Route, on a parse error, or when an initial request's only Route was ours.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "core/sip/message.h"
#include "core/sip/message_editor.h"

namespace sipsd::tm {

// The socket (listener index) a host:port names when it is this proxy, else -1. port 0: the
// URI had none.
using MyselfCheck = std::function<int(std::string_view host, uint16_t port)>;

struct LooseRouteResult {
  int rc = -1;
  std::string du;          // the next hop, when a loose Route gives it ("" = unchanged)
  std::string ruri;        // the new Request-URI (strict routing; "" = unchanged)
  int forced_socket = -1;  // ;r2=on: leave from the socket our second Route names
  std::string our_params;  // the parameters of our (first) Route, for check_route_param()
  // Of the Route values that named this proxy (one, or an r2 pair): the first user part (a
  // flow token, when an edge proxy wrote it: add_path(), record_route()) and the first
  // ;received= value as written (add_path_received(), for path's use_received).
  std::string our_user;
  std::string our_received;
  std::string why;  // rc < 0 on a parse error: why
};

// Applies the Route changes to `edits` (which must be reset on `msg`).
LooseRouteResult loose_route(const sip::Message& msg, sip::MessageEditor& edits,
                             const MyselfCheck& is_myself);

}  // namespace sipsd::tm
