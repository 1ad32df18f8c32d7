// Stateless replies (OpenSIPS `sl`): builds a complete response to a parsed request without
// any transaction state (RFC 3261 §8.2.6, §18.2.1; RFC 3581 §4).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/sip/message.h"

namespace sipsd::sip {

struct ReplyParams {
  std::string_view source_ip;  // where the request came from (the connection's peer)
  uint16_t source_port = 0;
  std::string_view server;  // Server header value, e.g. "sipsd (0.1.0)"; omitted if empty
};

// Builds a complete reply to `req` into *out (cleared first; its capacity is reused):
//   SIP/2.0 <code> <reason>        (reason empty: default_reason(code); CR/LF become spaces)
//   Via: ...                       every Via header in order, each value as received; the top
//                                  via-parm gets ;received=<source_ip> when its sent-by host is
//                                  not source_ip, when it already has a received (replaced), or
//                                  when it has a bare ;rport (RFC 3581 §4: "even if identical");
//                                  a bare ;rport becomes ;rport=<source_port>
//   From, To, Call-ID, CSeq        the first of each, if present (a 400 for a request missing
//                                  some of them is still built); To gets ;tag=sl_to_tag(req)
//                                  when it has no tag and code > 100
//   Server: <server>               if not empty
//   Content-Length: 0
// Header names are written in their long form. Writes nothing (out stays empty) when `req` is
// not a request, is an ACK (never answered, RFC 3261 §17.2.1), or code is not 100..699.
void build_stateless_reply(const Message& req, int code, std::string_view reason,
                           const ReplyParams& p, std::string* out);

// The To tag of stateless replies: kSlTagPrefix followed by 16 hex digits of a hash of the
// Call-ID, the From tag, the CSeq number and the top Via branch (the sent-by when there is no
// branch). Deterministic: retransmissions get the same tag, and so does the CANCEL of an INVITE
// (same branch and CSeq number, RFC 3261 §9.2). The method is deliberately not hashed.
inline constexpr std::string_view kSlTagPrefix = "sipsd-sl-";
inline constexpr size_t kSlTagLength = kSlTagPrefix.size() + 16;
std::string_view sl_to_tag(const Message& req, char (&buf)[kSlTagLength]);
// True for a tag made by sl_to_tag (e.g. the ACK of a stateless negative reply).
bool is_sl_to_tag(std::string_view tag);

// The RFC 3261 §21 reason phrase for code ("Not Found"), or a class name ("Client Error") for
// an unregistered code, "" outside 100..699.
std::string_view default_reason(int code);

}  // namespace sipsd::sip
