// What the route script has decided about one request before it is relayed: the state that
// OpenSIPS keeps in the message and the pending transaction ($ru, $du, flags, record-route,
// the routes armed with t_on_*, force_send_socket, force_rport), shared by the script functions
// (core/worker) and tm, which reads it when it creates a transaction or a branch.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/cfg/script.h"
#include "core/sip/message.h"
#include "core/sip/message_editor.h"
#include "core/transport/transport.h"

namespace sipsd::tm {

struct Transaction;

// record_route() / record_route_preset() of this request: written when a branch leaves, because
// the header depends on the socket it leaves from (double Record-Route, RFC 3261 §16.6 step 4 as
// OpenSIPS's rr does it).
struct RecordRouteSpec {
  bool enabled = false;
  bool preset = false;
  std::string preset_out;  // record_route_preset: host part written literally
  std::string preset_in;
  std::string params;  // record_route(";p=v") and add_rr_param(): ";p=v;q"
  // RFC 5626 §5.3: the flow token of a dialog-forming request from an outbound phone at its
  // first hop, written as the user part so in-dialog requests reach the phone over its flow.
  std::string user;
};

// add_path() / add_path_received() (OpenSIPS path module) of this REGISTER: written when a branch
// leaves, like Record-Route, because the header names the socket it leaves from.
struct PathSpec {
  bool enabled = false;
  bool received = false;  // add_path_received(): ;received=<the source address, escaped>
  std::string user;       // add_path("user"), or the flow token (RFC 5626 §5.1)
  bool ob = false;        // ;ob: an outbound REGISTER at its first hop
};

// A destination lookup() chose (registrar): the R-URI branch or an appended one.
struct BranchTarget {
  std::string ruri;
  std::string du;
  uint32_t conn_id = 0;  // the connection to go on (a registered phone's), 0 = any
  int conn_owner = 0;
  bool no_new_conn = false;
  int q = -1;  // 0..1000; -1 = none given
  // The Path vector the binding was registered with ("<sip:p1;lr>,<sip:p2;lr>"; "" = none):
  // sent as the branch's Route headers (RFC 3327), ahead of any the request has.
  std::string path;
  int socket = -1;  // the listener it leaves from (the binding's), -1 = the transaction's
  // An RFC 5626 flow (loose_route() decoded its token): when it cannot be used, the branch
  // ends with 430 (Flow Failed), not 477.
  bool flow = false;
};

enum class RouteKind : uint8_t { kRequest, kFailure, kBranch, kOnReply };

struct RequestCtx {
  RouteKind kind = RouteKind::kRequest;
  // The request the script sees: as received (request route), or the transaction's current
  // request (failure and branch routes).
  const sip::Message* msg = nullptr;
  // The script's edits to it (append_hf, remove_hf, loose_route's Route removals, …).
  sip::MessageEditor* edits = nullptr;
  // Where it came from; null when it did not just arrive (failure and branch routes).
  const Inbound* from = nullptr;
  // The transaction: t_newtran()/t_relay() made or found it, or the route runs for it.
  Transaction* tx = nullptr;
  int branch = -1;  // branch route: the branch being built

  // $ru ("" = the message's own Request-URI) and $du ("" = none).
  std::string ruri;
  bool ruri_changed = false;
  std::string du;
  uint32_t flags = 0;
  uint32_t bflags = 0;  // setbflag() & co: the R-URI branch's flags
  uint8_t acc = 0;      // do_accounting(): tm::kAcc* bits
  RecordRouteSpec rr;
  PathSpec path;
  int forced_socket = -1;  // force_send_socket, or the socket loose_route's r2 Route names
  bool force_rport = false;
  RouteRef on_failure, on_reply, on_branch;
  AvpStore* avps = nullptr;
  // The branch route dropped the branch.
  bool drop_branch = false;
  // lookup(): the connection the R-URI branch goes on, and the further branches (in order)
  // t_relay() forks in parallel with it.
  uint32_t dst_conn_id = 0;
  int dst_conn_owner = 0;
  bool dst_no_new_conn = false;
  int dst_q = -1;
  std::string dst_path;   // lookup(): the Path vector of the R-URI's binding
  bool dst_flow = false;  // loose_route(): the R-URI branch goes on an RFC 5626 flow
  std::vector<BranchTarget> branches;
  // serialize_branches(): the groups of equal q not tried yet, best first (next_branches()
  // takes the next one; the transaction keeps them for its failure_route).
  std::vector<std::vector<BranchTarget>> serial;

  std::string_view effective_ruri() const {
    return ruri_changed ? std::string_view(ruri) : (msg ? msg->ruri() : std::string_view());
  }
};

}  // namespace sipsd::tm
