// Requests a stateful proxy generates from ones it sent: the CANCEL of an INVITE branch (RFC 3261
// §9.1) and the ACK of a non-2xx final reply to it (§17.1.1.3, hop-by-hop: tm sends it itself).
//
// `invite` is the parsed INVITE as this proxy sent it on the branch (its own Via on top, the
// Request-URI and Route set of that branch), not the one it received.
#pragma once

#include <string>
#include <string_view>

#include "core/sip/message.h"

namespace sipsd::sip {

// Builds into *out (cleared first):
//   CANCEL <Request-URI of the INVITE> SIP/2.0
//   Via: <the INVITE's top via-parm, same branch>
//   Route: <value>                 each Route header of the INVITE, in order
//   Max-Forwards: 70
//   From, To, Call-ID              the INVITE's values (tags included)
//   CSeq: <the INVITE's number> CANCEL
//   Reason: <reason>               when not empty (RFC 3326, e.g. SIP;cause=480;text="NO_ANSWER")
//   Content-Length: 0
// Returns false (out empty) when `invite` is not an INVITE request with a parsed top Via, From,
// To, Call-ID and CSeq, or `reason` holds CR, LF or NUL.
bool build_cancel(const Message& invite, std::string_view reason, std::string* out);

// Builds into *out (cleared first) the ACK for `reply`, a 300-699 final reply to `invite`:
//   ACK <Request-URI of the INVITE> SIP/2.0
//   Via: <the INVITE's top via-parm>
//   Route: <value>                 each Route header of the INVITE, in order
//   Max-Forwards: 70
//   From, Call-ID                  the INVITE's
//   To                             the reply's (with the tag it added)
//   CSeq: <the INVITE's number> ACK
//   Content-Length: 0
// Returns false (out empty) when `invite` is not as for build_cancel, or `reply` is not a
// 300-699 reply with a To header and the INVITE's Call-ID and CSeq number.
bool build_non2xx_ack(const Message& invite, const Message& reply, std::string* out);

}  // namespace sipsd::sip
