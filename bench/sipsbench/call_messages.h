// The SIP text of call mode: what a caller (UAC) sends — INVITE with an SDP offer, the ACK of a
// 2xx (a new transaction along the dialog's route set), the ACK of a non-2xx (the INVITE's
// branch and R-URI, RFC 3261 17.1.1.3), BYE — what a callee (UAS) answers, and the parsing a
// UAC needs from a 2xx: the route set from Record-Route (reversed, 12.1.2) and the remote
// target from Contact, turned into a request's R-URI and Route headers (12.2.1.1, strict
// routers included). Pure functions of strings: no sockets, no clock.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bench/sipsbench/options.h"
#include "core/sip/message.h"

namespace sipsd::bench {

// ";transport=tls", ";transport=tcp", ";transport=udp".
std::string_view uri_transport_param(Transport t);

// "sip:USER@IP:PORT;transport=T".
std::string sip_uri(std::string_view user, std::string_view ip, uint16_t port, Transport t);

// Splits a header value holding a comma-separated list of name-addrs (Record-Route, Route,
// Contact) into its elements, trimmed; commas inside <...> or "..." do not split.
void split_name_addrs(std::string_view value, std::vector<std::string_view>* out);

// The URI of a name-addr ("Name" <uri>;params) or addr-spec (uri;params): what is inside the
// angle brackets, else everything up to the first ';'. Empty when there is none.
std::string_view name_addr_uri(std::string_view element);

// Whether a SIP URI carries the lr parameter (a loose router, RFC 3261 16.6).
bool uri_has_lr(std::string_view uri);

// How a UAC sends its in-dialog requests (ACK of a 2xx, BYE).
struct DialogRoute {
  std::string request_uri;  // the remote target, or the first route of a strict router
  std::string route;        // "Route: <...>, <...>\r\n", or "" when the route set is empty
};

// RFC 3261 12.1.2 and 12.2.1.1 from a 2xx to an INVITE: the remote target is the Contact's
// URI; the route set is the Record-Route entries in reverse order. False (with *why) when the
// 2xx has no usable Contact.
bool dialog_route_from_2xx(const sip::Message& ok, DialogRoute* out, const char** why);

// What a caller connection puts in every request: its transport, local address and user.
struct CallerEnd {
  Transport transport = Transport::kTls;
  std::string ip;
  uint16_t port = 0;
  std::string user;    // "caller-W-C", or a subscriber's name
  std::string domain;  // the From/To host when not empty (a subscriber's domain), else ip
};

// One call as its caller sees it.
struct CallerDialog {
  std::string call_id;
  std::string from_tag;
  std::string branch;  // of the INVITE (the non-2xx ACK reuses it); ACK/BYE derive theirs
  std::string ruri;    // the INVITE's R-URI (the callee's URI)
  std::string to;      // the INVITE's To; after a final response, the response's To (with tag)
  DialogRoute route;   // after a 2xx
  uint32_t cseq = 1;   // of the INVITE: 2 once it was re-sent with credentials; ACK the same,
                       // BYE this + 1
  std::string auth;    // whole header lines the INVITE carries ("Proxy-Authorization: ...\r\n")
};

// The SDP bodies (about 150 bytes); `port` is the RTP port offered.
std::string sdp_body(std::string_view origin_user, uint32_t session, uint16_t port);

void append_invite(std::string* out, const CallerEnd& from, const CallerDialog& d,
                   std::string_view sdp);
// The ACK of a 2xx: along d.route, CSeq 1 ACK, a new branch.
void append_ack_2xx(std::string* out, const CallerEnd& from, const CallerDialog& d);
// The ACK of a non-2xx final response: the INVITE's R-URI and branch, d.to from the response.
void append_ack_non2xx(std::string* out, const CallerEnd& from, const CallerDialog& d);
void append_bye(std::string* out, const CallerEnd& from, const CallerDialog& d);

// A REGISTER of from.user@from.domain (R-URI sip:DOMAIN) binding the Contact
// sip:USER@IP:PORT;transport=T for `expires` seconds; `authorization` (a header value, or "")
// goes in an Authorization header.
void append_register(std::string* out, const CallerEnd& from, std::string_view call_id,
                     std::string_view tag, std::string_view branch, uint32_t cseq, int expires,
                     std::string_view authorization);

// An OPTIONS from a connecting callee to the proxy at `target` (its R-URI).
void append_register_options(std::string* out, const CallerEnd& from, std::string_view target_uri,
                             std::string_view call_id, std::string_view tag,
                             std::string_view branch);

// A response to `req`: its Via headers, From, To (with ;tag=to_tag added when it has none and
// status > 100), Call-ID and CSeq copied; with `copy_record_route` its Record-Route headers
// too (RFC 3261 12.1.1: the 18x and 2xx of an INVITE); then `extra` (whole header lines) and,
// when `body` is not empty, Content-Type: application/sdp and the body.
void append_response(std::string* out, const sip::Message& req, int status, std::string_view reason,
                     std::string_view to_tag, bool copy_record_route, std::string_view extra,
                     std::string_view body);

}  // namespace sipsd::bench
