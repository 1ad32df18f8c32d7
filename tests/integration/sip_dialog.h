// Test-side SIP endpoints' logic for proxy tests: a UAS builds replies to what the proxy
// relays to it, a UAC turns the 2xx it receives into a dialog (RFC 3261 §12: route set from
// Record-Route, remote target from Contact, tags) and sends in-dialog requests (ACK for the 2xx,
// BYE, re-INVITE) through the route set. Transport-independent: the caller sends the text.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tests/integration/sip_test_client.h"

namespace sipsd::test {

struct ReplySpec {
  int code = 200;
  std::string reason;        // empty: a default for the code
  std::string to_tag;        // added to To when it has none and code > 100
  std::string contact;       // Contact URI (without <>), empty: none
  bool record_route = true;  // copy the request's Record-Route (a UAS does, §12.1.1)
  std::vector<std::string> extra_headers;
  std::string body;
};

// The common case: a code, the UAS's To-tag and its Contact.
ReplySpec reply_spec(int code, std::string to_tag = "", std::string contact = "",
                     std::string body = "");

// A reply to `req` as a UAS (or the last proxy) would send it: every Via in order, From, To,
// Call-ID, CSeq, [Record-Route], [Contact], extras, Content-Length.
std::string build_reply(const SipMessage& req, const ReplySpec& spec);

// The UAC's view of a dialog, from the request that made it and its 2xx.
struct Dialog {
  std::string call_id;
  std::string local_uri;  // From
  std::string local_tag;
  std::string remote_uri;  // To
  std::string remote_tag;
  std::string remote_target;           // the 2xx's Contact: the Request-URI of in-dialog requests
  std::vector<std::string> route_set;  // the 2xx's Record-Route values, reversed
  uint32_t cseq = 1;

  static Dialog from_2xx(const SipRequest& invite, const SipRequestSpec& spec,
                         const SipMessage& ok);
  // "ACK" (same CSeq number as the INVITE) or a new request ("BYE": cseq + 1). With a loose
  // route set, the Request-URI is the remote target and Route is the route set (§12.2.1.1).
  SipRequest request(const std::string& method, const SipHop& hop, uint32_t cseq_number) const;
};

}  // namespace sipsd::test
