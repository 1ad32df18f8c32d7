// Replies built from a parsed request (RFC 3261 §8.2.6, §18.2.1; RFC 3581 §4): the reply line,
// every Via with the top one rewritten for received/rport, From, To (with a To-tag when the
// request had none), Call-ID, CSeq, then what the caller adds. Used for stateless replies (sl,
// sl_reply.h) and replies generated with transaction state (tm: a given To-tag, Record-Route
// copies, Contact, a body).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/sip/message.h"

namespace sipsd::sip {

struct ReplyParams {
  std::string_view source_ip;  // where the request came from (the connection's peer)
  uint16_t source_port = 0;
  std::string_view server;  // Server header value, e.g. "sipsd (0.1.0)"; omitted if empty
};

// One header line to write: "name: value".
struct HeaderField {
  std::string_view name;
  std::string_view value;
};

struct LocalReply {
  int code = 0;  // 100..699
  // "" for default_reason(code). CR/LF become spaces.
  std::string_view reason;
  // Appended to To as ";tag=..." when not empty and the request's To has no tag (the caller
  // decides when a code gets one: OpenSIPS tm and sl from 180 on, sipsd's sl from 101 on).
  // Must be a token.
  std::string_view to_tag;
  // Copy the request's Record-Route headers, in order (RFC 3261 §12.1.1: a UAS copies them into
  // replies that create a dialog).
  bool copy_record_route = false;
  // Further lines after CSeq (and the Record-Route copies): Contact, Content-Type, Require, ...
  // Names must be tokens, values free of CR/LF/NUL.
  std::span<const HeaderField> headers;
  // The body; Content-Length is set to its size.
  std::string_view body;
};

// Builds a complete reply to `req` into *out (cleared first; its capacity is reused):
//   SIP/2.0 <code> <reason>
//   Via: ...                       every Via header in order, each value as received; the top
//                                  via-parm gets ;received=<source_ip> when its sent-by host is
//                                  not source_ip, when it already has a received (replaced), or
//                                  when it has a bare ;rport (RFC 3581 §4: "even if identical");
//                                  a bare ;rport becomes ;rport=<source_port>
//   From, To, Call-ID, CSeq        the first of each, if present (a 400 for a request missing
//                                  some of them is still built); To gets ;tag=<to_tag> as above
//   Record-Route: ...              when copy_record_route
//   <headers>                      in the order given
//   Server: <server>               if not empty
//   Content-Length: <body size>
//   <body>
// Header names are written in their long form. Returns false and leaves *out empty when `req`
// is not a request, is an ACK (never answered, RFC 3261 §17.2.1), code is not 100..699, or
// to_tag/headers would not be valid header text.
bool build_reply(const Message& req, const LocalReply& reply, const ReplyParams& p,
                 std::string* out);

// The top Via header value of `req` with received/rport applied as build_reply() writes it
// (RFC 3261 §18.2.1, RFC 3581 §4) — also what a proxy forwards upstream-facing (§16.6 step 8
// keeps the received Via). `force_rport`: fill in rport as if the Via asked for it
// (OpenSIPS force_rport()). `via_value` is the whole value of the header holding `top`.
// Returns false when there is nothing to change (*out untouched).
bool top_via_with_received(std::string_view via_value, const Via& top, std::string_view source_ip,
                           uint16_t source_port, bool force_rport, std::string* out);

namespace internal {
// build_reply() without checking reply.to_tag and reply.headers, for builders in core/sip that
// make them themselves (build_stateless_reply and its own To-tag): the check costs about a
// tenth of a stateless reply. Everything else calls build_reply().
bool write_reply(const Message& req, const LocalReply& reply, const ReplyParams& p,
                 std::string* out);
}  // namespace internal

// The RFC 3261 §21 reason phrase for code ("Not Found"), or a class name ("Client Error") for
// an unregistered code, "" outside 100..699.
std::string_view default_reason(int code);

}  // namespace sipsd::sip
