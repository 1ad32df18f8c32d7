// Stateless replies (OpenSIPS `sl`): builds a complete response to a parsed request without
// any transaction state (RFC 3261 §8.2.6, §18.2.1; RFC 3581 §4).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/sip/message.h"
#include "core/sip/reply_builder.h"

namespace sipsd::sip {

// build_reply() (reply_builder.h) with the To-tag sl_to_tag(req) when the request's To has
// none and code > 100, no Record-Route copies, no extra headers, no body: the Via rewrite,
// From, To, Call-ID, CSeq, Server and "Content-Length: 0". Writes nothing (out stays empty)
// when `req` is not a request, is an ACK, or code is not 100..699.
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

}  // namespace sipsd::sip
