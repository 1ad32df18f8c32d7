// Route types and script function ids: the types the route script and the layers that
// implement its functions (worker, tm, rr, ...) share. Types only.
//
// The function table (names, modules, arguments, allowed route types) is in the schema
// (core/cfg/schema.h, func_defs()); a FuncId is the index of its row there and is stable:
// append new ids, never reorder.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sipsd {

// OpenSIPS's route types.
enum class RouteType : uint8_t {
  kRequest,  // route{} / route[0] (the main route) and the named sub-routes route[name]{}
  kBranch,   // branch_route[name]
  kFailure,  // failure_route[name]
  kOnReply,  // onreply_route (every reply) / onreply_route[name]
  kLocal,    // local_route
  kError,    // error_route
  kStartup,  // startup_route
  kTimer,    // timer_route[name, seconds]
  kEvent,    // event_route[name]
};
constexpr size_t kRouteTypeCount = static_cast<size_t>(RouteType::kEvent) + 1;

// A set of route types, one bit per RouteType (the "allowed in" mask of a function).
using RouteMask = uint16_t;
constexpr RouteMask route_bit(RouteType t) {
  return static_cast<RouteMask>(1u << static_cast<unsigned>(t));
}
constexpr RouteMask kAllRoutes = static_cast<RouteMask>((1u << kRouteTypeCount) - 1);

// Script functions. "builtin" ones are carried out by the interpreter and never reach
// ScriptEnv::call(); the others are the environment's. Argument conventions (what call()
// receives in `args`) are in the schema's table; the short form is given here.
enum class FuncId : uint8_t {
  // core
  kXlog,        // builtin: xlog([level,] format)
  kSetflag,     // setflag(flag)        args: int flag bit (0..31, names resolved at load)
  kResetflag,   // resetflag(flag)      args: int flag bit
  kIsflagset,   // isflagset(flag)      args: int flag bit
  kForceRport,  // force_rport()
  kForward,     // forward([dest])      args: [string "[proto:]host[:port]" or a SIP URI]
  kIsMyself,    // is_myself(host[, port])  args: string host (or a whole SIP URI), [int port]
  // core, R-URI and branch flags (issue 12)
  kSetbflag,         // setbflag(flag)      args: int flag bit (branch flags of the R-URI branch)
  kResetbflag,       // resetbflag(flag)    args: int flag bit
  kIsbflagset,       // isbflagset(flag)    args: int flag bit
  kStrip,            // strip(n)            args: int: drop n characters of the R-URI user
  kPrefix,           // prefix(s)           args: string: prepend s to the R-URI user
  kRewriteuser,      // rewriteuser(s)      args: string: the R-URI user becomes s
  kRewritehostport,  // rewritehostport(s)  args: string "host[:port]"
  kHasBody,          // has_body([type])    args: [string content type] (sipmsgops)
  kDoAccounting,     // do_accounting("log"[, "missed|failed"[, table]])  (acc, log only)
  // core: the listener a request leaves from
  kForceSendSocket,  // force_send_socket(s)  args: static "[proto:]ip[:port]" of a listener
  // sl
  kSlSendReply,   // sl_send_reply(code, reason)  args: int 100..699, string
  kSlReplyError,  // sl_reply_error()
  // signaling
  kSendReply,  // send_reply(code, reason)  args: int 100..699, string
  // sipmsgops
  kIsMethod,     // builtin: is_method("INVITE|ACK") (compares $rm, case-insensitively)
  kAppendHf,     // append_hf(txt[, hdr])  args: string, [string header name]
  kInsertHf,     // insert_hf(txt[, hdr])  args: string, [string header name]
  kRemoveHf,     // remove_hf(name)        args: string
  kIsPresentHf,  // is_present_hf(name)    args: string
  kHasTotag,     // has_totag()
  // maxfwd
  kMfProcessMaxfwdHeader,  // mf_process_maxfwd_header(max)  args: int
  // tm
  kTRelay,         // t_relay([flags][, "proto:host:port"])  args: [int|string flags], [string]
  kTNewtran,       // t_newtran()
  kTReply,         // t_reply(code, reason)  args: int 100..699, string
  kTCheckTrans,    // t_check_trans()
  kTOnFailure,     // t_on_failure(route)  args: int failure_route index (RouteRef kFailure)
  kTOnReply,       // t_on_reply(route)    args: int onreply_route index (RouteRef kOnReply)
  kTOnBranch,      // t_on_branch(route)   args: int branch_route index (RouteRef kBranch)
  kTCheckStatus,   // t_check_status(re)   args: regex
  kTWasCancelled,  // t_was_cancelled()
  kTLocalReplied,  // t_local_replied(which)  args: string "all" | "branch" | "last"
  // rr
  kRecordRoute,        // record_route([params])          args: [string]
  kRecordRoutePreset,  // record_route_preset(a[, b])     args: string, [string]
  kLooseRoute,         // loose_route()
  kAddRrParam,         // add_rr_param(p)                 args: string
  kCheckRouteParam,    // check_route_param(re)           args: regex
  kIsDirection,        // is_direction(dir)               args: string "downstream" | "upstream"
  // path
  kAddPath,          // add_path([user])            args: [string]
  kAddPathReceived,  // add_path_received([user])   args: [string]
  // tls_mgm
  kIsPeerVerified,  // builtin: is_peer_verified() ($tls_peer_verified == "1")
  // registrar
  kSave,          // save(domain[, flags[, aor]])        args: "location", [string], [string]
  kLookup,        // lookup(domain[, flags[, aor]])      args: "location", [string], [string]
  kIsRegistered,  // is_registered(domain[, aor])        args: "location", [string]
  kRemove,        // remove(domain, aor[, contact])      args: "location", string, [string]
  // core: serial forking by q
  kSerializeBranches,  // serialize_branches(clear)  args: int 0..1
  kNextBranches,       // next_branches()
  // auth, auth_db (core/auth/authorizer.h)
  kWwwAuthorize,        // www_authorize(realm, table)    args: string, string
  kProxyAuthorize,      // proxy_authorize(realm, table)  args: string, string
  kWwwChallenge,        // www_challenge(realm[, qop[, algorithms]])    args: strings
  kProxyChallenge,      // proxy_challenge(realm[, qop[, algorithms]])  args: strings
  kConsumeCredentials,  // consume_credentials()
  kDbIsToAuthorized,    // db_is_to_authorized([table])    args: [string]
  kDbIsFromAuthorized,  // db_is_from_authorized([table])  args: [string]
};
constexpr size_t kFuncIdCount = static_cast<size_t>(FuncId::kDbIsFromAuthorized) + 1;

}  // namespace sipsd
