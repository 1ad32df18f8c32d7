// Via header values (RFC 3261 §20.42, §18.2.1; RFC 3581 rport; RFC 5923 alias): one via-parm
// parsed into views of the text it came from.
#pragma once

#include <cstdint>
#include <string_view>

namespace sipsd::sip {

// One via-parm. All views point into the parsed text (for a Message: its buffer).
struct Via {
  std::string_view value;             // this via-parm as received, without its separating comma
  std::string_view protocol_name;     // "SIP"
  std::string_view protocol_version;  // "2.0"
  std::string_view transport;         // "TLS", "TCP", "UDP", ... as received
  std::string_view sent_by;           // host[:port] as received (IPv6 brackets included)
  std::string_view host;              // sent-by host; an IPv6 reference without its brackets
  bool host_is_ipv6 = false;
  uint16_t port = 0;        // 0 when the sent-by has no port
  std::string_view params;  // from the first ';' to the end of value ("" if none)
  std::string_view branch;  // "" when absent
  bool has_received = false;
  std::string_view received;  // value of received=
  bool has_rport = false;
  std::string_view rport;  // value of rport=; "" for a bare ";rport"
  bool has_alias = false;
  // Whole-parameter spans inside `value` (";received=1.2.3.4", ";rport"), for reply rewriting.
  std::string_view received_param;
  std::string_view rport_param;
};

// Parses the via-parm at the start of `text` (one element of a Via header value, unfolded).
// On success *rest is what follows its separating comma ("" when it was the last element).
// Returns false on a syntax error; *out is then unspecified. Two received or two rport
// parameters are an error (a reply rewrite would be ambiguous).
bool parse_via(std::string_view text, Via* out, std::string_view* rest);

}  // namespace sipsd::sip
