// A stateful proxy transaction (OpenSIPS tm): the server side towards the upstream client (the
// request as the script left it, where replies go, the last reply sent) and the client side
// towards each next hop (one Branch per destination tried, in rounds: the first t_relay(), then
// each t_relay() from a failure_route). One worker owns it for its whole life; a reply or a
// CANCEL that reaches another worker is relayed here (core/tm/branch_id.h, tx owner index).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/base/event_ptr.h"
#include "core/cfg/script.h"
#include "core/dns/target.h"
#include "core/sip/message.h"
#include "core/tm/request_ctx.h"
#include "core/transport/transport.h"

namespace sipsd::tm {

class Tm;

// Where replies to the upstream client go (RFC 3261 §18.2.2): back on the connection the
// request came in on; over UDP to the source address (received/rport).
struct Upstream {
  Proto proto = Proto::kUdp;
  std::string ip;
  uint16_t port = 0;
  int listener = -1;
  uint32_t conn_id = 0;
  int conn_owner = 0;
  std::string label;  // for log lines
};

struct Branch {
  Transaction* tx = nullptr;
  int index = 0;
  std::string ruri;                            // its Request-URI
  std::string du;                              // its $du ("" = the R-URI is the next hop)
  std::string request;                         // the bytes sent (UDP retransmissions, the CANCEL)
  NextHop hop;                                 // where it went (ip numeric once resolved)
  std::vector<dns::Destination> alternatives;  // DNS failover: the addresses not tried yet
  size_t next_alternative = 0;
  uint64_t dns_query = 0;  // a resolution in flight
  int socket = -1;         // the listener it leaves from (Via, Record-Route)

  int last_code = 0;            // the last reply received (0 = none yet)
  bool local = false;           // its final reply was made here (408, 476, 477)
  std::string final_reply;      // the final reply received, relayed upstream if it wins
  bool cancel_pending = false;  // a CANCEL waits for the first provisional reply
  bool cancelled = false;       // the CANCEL went out
  std::string cancel;           // its bytes (retransmitted over UDP)
  RouteRef on_reply;            // onreply_route armed for this branch
  uint32_t conn_id = 0;         // lookup(): the phone's connection to go on
  int conn_owner = 0;
  bool no_new_conn = false;
  std::string path;        // lookup(): the binding's Path vector, sent as Route headers
  int forced_socket = -1;  // lookup(): an appended branch leaves from its binding's listener
  bool flow = false;       // an RFC 5626 flow: 430 (Flow Failed) when it cannot be used
  // What the branch_route made of the transaction's request for this branch (its edits
  // applied; parsed over `base`). Empty: the transaction's request as it is.
  std::string base;
  sip::Message base_msg;
  bool has_base = false;

  EventPtr retransmit_ev;  // UDP: request (or CANCEL) retransmissions, T1 doubling to T2
  int64_t retransmit_ms = 0;
  EventPtr fr_ev;  // fr_timeout / fr_inv_timeout
  bool done() const { return last_code >= 200; }
};

struct Transaction {
  Tm* tm = nullptr;
  uint64_t id = 0;
  bool invite = false;
  std::string method;
  // The request the branches are built from: as received, with the request route's edits
  // (and the upstream Via's received/rport); replaced by each failure_route round that edits.
  std::string request;
  sip::Message req;  // parsed over `request`
  // Server-transaction match (RFC 3261 §17.2.3): the upstream top Via's branch and sent-by.
  std::string match_key;
  bool indexed = false;  // in the shared INVITE owner index
  Upstream up;

  std::string to_tag;  // of the replies made here (37 characters, OpenSIPS's tm layout)
  int reply_code = 0;  // the last reply sent upstream (0 = none)
  std::string reply;   // its bytes (a retransmitted request gets it again)
  bool reply_local = false;
  bool final_sent() const { return reply_code >= 200; }
  bool cancelled = false;  // a CANCEL for it arrived
  bool confirmed = false;  // the ACK of a negative final reply arrived

  // What the script set for it.
  RecordRouteSpec rr;
  PathSpec path;  // add_path*()
  uint32_t flags = 0;
  uint8_t acc = 0;  // do_accounting() of the request: kAcc* bits (tm/tm.h)
  RouteRef on_failure, on_reply, on_branch;
  AvpStore avps;
  int forced_socket = -1;
  bool no_dns_failover = false;
  bool no_auto_477 = false;

  std::vector<std::unique_ptr<Branch>> branches;
  int round_start = 0;  // the first branch of the current serial round
  // serialize_branches() groups still to try (next_branches() in the failure_route).
  std::vector<std::vector<BranchTarget>> serial;
  bool in_failure = false;
  int winner = -1;  // the branch whose reply went upstream as final

  EventPtr retransmit_ev;  // UDP: a negative final reply to an INVITE, until its ACK
  int64_t retransmit_ms = 0;
  EventPtr linger_ev;    // wt_timer: absorb retransmissions, then go away
  EventPtr lifetime_ev;  // a transaction nobody answers is dropped after a bound

  bool all_done() const;
};

}  // namespace sipsd::tm
